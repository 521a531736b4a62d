"""Notification channel URLs: parsing, validation, redaction, and the retry schedule.

A channel is one Apprise URL (`discord://…`, `mailtos://…`, `slack://…`, `ntfy://…`,
`json://…`). They come from two places: `APPRISE_URLS` (every deal, whitespace-separated)
and a saved search's own `channels` list (that search's deals only).

Our own option, the digest, rides on the URL as a query parameter that Apprise never sees:

    mailtos://me:app-password@smtp.example.com?to=me@example.com&vd_digest=daily

`vd_digest=hourly|daily` sends high-priority deals at once and collects the others into
one summary per period; `vd_digest=instant` (or no parameter) sends everything at once.
The parameter is removed, byte for byte, before the URL is given to Apprise.

URLs carry secrets (webhook tokens, SMTP passwords), so a channel is known everywhere by
`recipient` — `"apprise:"` + a short hash of its URL — and shown only in redacted form
(`describe`). Neither the URL nor its secrets are ever logged or stored.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from vinyl_detective.domain.models import SavedSearch
from vinyl_detective.errors import ConfigError

if TYPE_CHECKING:
    from apprise.plugins.base import NotifyBase

__all__ = [
    "ALERT_LIFETIME",
    "DIGEST_PARAMETER",
    "RETRY_BASE",
    "RETRY_CAP",
    "ChannelSpec",
    "ChannelStyle",
    "DigestPeriod",
    "all_channel_specs",
    "channels_for_search",
    "describe",
    "due_for_retry",
    "next_attempt_at",
    "parse_channel_url",
    "parse_channel_urls",
    "recipient_key",
    "retry_deadline",
    "retry_delay",
]

log = logging.getLogger(__name__)

DIGEST_PARAMETER = "vd_digest"
RECIPIENT_PREFIX = "apprise:"
_INSTANT_VALUES = frozenset({"", "instant", "off", "none", "no"})


class DigestPeriod(StrEnum):
    """How often a digest channel gets its summary of lower-priority deals."""

    HOURLY = "hourly"
    DAILY = "daily"

    @property
    def length(self) -> timedelta:
        return timedelta(hours=1) if self is DigestPeriod.HOURLY else timedelta(days=1)


class ChannelStyle(StrEnum):
    """Which card a service gets: each renders best in its own format."""

    EMAIL = "email"  # HTML body; Apprise adds the plain-text alternative
    DISCORD = "discord"  # Discord markdown, 2000 characters including the title
    TELEGRAM = "telegram"  # Telegram HTML
    TEXT = "text"  # plain text: Slack, ntfy, json://, form:// and the rest


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """One validated channel. `url` is what Apprise gets (secrets inside: never log it)."""

    url: str = field(repr=False)
    recipient: str
    display: str
    style: ChannelStyle
    digest: DigestPeriod | None = None


# --------------------------------------------------------------------------- parsing


def parse_channel_url(raw: str, source: str = "APPRISE_URLS") -> ChannelSpec:
    """Validate one channel URL; ConfigError (naming `source`, URL redacted) if unusable."""
    return _parse_cached(raw.strip(), source)


@lru_cache(maxsize=256)
def _parse_cached(raw: str, source: str) -> ChannelSpec:
    try:
        url, digest = _split_digest(raw)
    except ValueError as exc:
        raise ConfigError(
            f"{source}: {_fallback_redact(raw)} has {DIGEST_PARAMETER}={exc}, expected "
            f"{DIGEST_PARAMETER}=hourly, {DIGEST_PARAMETER}=daily or {DIGEST_PARAMETER}=instant."
        ) from None
    plugin = _instantiate(url)
    if plugin is None:
        raise ConfigError(
            f"{source}: {_fallback_redact(url)} is not a notification URL Apprise understands; "
            "check the scheme and the parts it needs (e.g. discord://webhook_id/webhook_token, "
            "mailtos://user:password@smtp.example.com?to=you@example.com, ntfy://topic) "
            "at https://github.com/caronc/apprise/wiki."
        )
    return ChannelSpec(
        url=url,
        recipient=recipient_key(url),
        display=_privacy_url(plugin),
        style=_style_of(plugin),
        digest=digest,
    )


def parse_channel_urls(raws: Iterable[str], source: str = "APPRISE_URLS") -> list[ChannelSpec]:
    """Validate every URL; one ConfigError listing every unusable one (redacted)."""
    specs: list[ChannelSpec] = []
    problems: list[str] = []
    for raw in raws:
        if not raw.strip():
            continue
        try:
            specs.append(parse_channel_url(raw, source))
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("Unusable notification channel(s):\n- " + "\n- ".join(problems))
    return _unique(specs)


def channels_for_search(
    settings_urls: Sequence[str], search: SavedSearch | None, *, strict: bool = False
) -> list[ChannelSpec]:
    """The Apprise channels a deal of `search` goes to: APPRISE_URLS plus the search's own.

    A URL listed in both is one channel (one alert); the search's own entry decides its
    digest setting. With `strict=False` (the dispatch path) an unusable URL is logged and
    skipped so the other channels still get the deal; validate with `strict=True` (or
    `parse_channel_urls`) at start-up and when a search is saved, to tell the user.
    """
    specs = _collect(settings_urls, "APPRISE_URLS", strict=strict)
    if search is not None and search.channels:
        own = _collect(search.channels, f"search {search.id} channels", strict=strict)
        overridden = {spec.recipient for spec in own}
        specs = [spec for spec in specs if spec.recipient not in overridden] + own
    return _unique(specs)


def all_channel_specs(
    settings_urls: Sequence[str], searches: Iterable[SavedSearch]
) -> dict[str, ChannelSpec]:
    """Every configured channel by recipient key: to find a channel again from the alert log
    (`AlertRecipients.channel_for_recipient`) and to list channels in `status`."""
    found: dict[str, ChannelSpec] = {}
    for spec in _collect(settings_urls, "APPRISE_URLS", strict=False):
        found.setdefault(spec.recipient, spec)
    for search in searches:
        for spec in _collect(search.channels, f"search {search.id} channels", strict=False):
            found[spec.recipient] = spec
    return found


def _collect(raws: Iterable[str], source: str, *, strict: bool) -> list[ChannelSpec]:
    if strict:
        return parse_channel_urls(raws, source)
    specs: list[ChannelSpec] = []
    for raw in raws:
        if not raw.strip():
            continue
        try:
            specs.append(parse_channel_url(raw, source))
        except ConfigError as exc:
            log.error("notification channel skipped: %s", exc)
    return specs


def _unique(specs: Iterable[ChannelSpec]) -> list[ChannelSpec]:
    seen: dict[str, ChannelSpec] = {}
    for spec in specs:
        seen.setdefault(spec.recipient, spec)
    return list(seen.values())


def _split_digest(raw: str) -> tuple[str, DigestPeriod | None]:
    """Remove our `vd_digest` parameter, leaving the rest of the URL exactly as written.

    `#` is not a fragment marker here: Apprise URLs use it for channels (`slack://…/#general`).
    """
    base, question, query = raw.partition("?")
    if not question:
        return raw, None
    kept: list[str] = []
    period: DigestPeriod | None = None
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name.strip().lower() != DIGEST_PARAMETER:
            kept.append(part)
            continue
        wanted = value.strip().lower()
        if wanted in _INSTANT_VALUES:
            period = None
        else:
            try:
                period = DigestPeriod(wanted)
            except ValueError:
                raise ValueError(repr(value)) from None
    query = "&".join(part for part in kept if part)
    return base + ("?" + query if query else ""), period


class _SameThreadMuffle(logging.Filter):
    """Drops the apprise logger's records emitted by this thread while parsing a URL.

    Apprise logs an unusable URL in full ("Could not load Discord URL: discord://id/token"):
    our ConfigError says the same without the secret.
    """

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread != self.thread


def _instantiate(url: str) -> NotifyBase | None:
    # Apprise (and its hundred plugins) loads with the first URL to check: an install
    # that alerts on Telegram alone never pays for it.
    from apprise import Apprise
    from apprise.plugins.base import NotifyBase

    apprise_log = logging.getLogger("apprise")
    muffle = _SameThreadMuffle()
    apprise_log.addFilter(muffle)
    try:
        plugin = Apprise.instantiate(url)
    except Exception:  # any failure to build the plugin means "not usable"
        return None
    finally:
        apprise_log.removeFilter(muffle)
    return plugin if isinstance(plugin, NotifyBase) else None


def _schemes(plugin: NotifyBase) -> set[str]:
    names: set[str] = set()
    for attr in ("protocol", "secure_protocol"):
        value = getattr(plugin, attr, None)
        if isinstance(value, str):
            names.add(value.lower())
        elif isinstance(value, tuple | list):
            names.update(str(v).lower() for v in value)
    return names


def _style_of(plugin: NotifyBase) -> ChannelStyle:
    schemes = _schemes(plugin)
    if schemes & {"mailto", "mailtos"}:
        return ChannelStyle.EMAIL
    if "discord" in schemes:
        return ChannelStyle.DISCORD
    if "tgram" in schemes:
        return ChannelStyle.TELEGRAM
    return ChannelStyle.TEXT


# --------------------------------------------------------------------------- redaction


def recipient_key(url: str) -> str:
    """The channel's stable key in the alert log: never the URL, which holds secrets."""
    digest = hashlib.sha256(url.strip().encode("utf-8")).hexdigest()[:16]
    return RECIPIENT_PREFIX + digest


def describe(url: str) -> str:
    """A display form of a channel URL with its secrets masked (for `status` and errors)."""
    try:
        clean, _ = _split_digest(url.strip())
    except ValueError:
        clean = url.strip()
    plugin = _instantiate(clean)
    return _privacy_url(plugin) if plugin is not None else _fallback_redact(clean)


def _privacy_url(plugin: NotifyBase) -> str:
    try:
        shown = str(plugin.url(privacy=True))  # type: ignore[no-untyped-call]
    except Exception:  # a plugin that cannot print itself is shown by its scheme
        return f"{sorted(_schemes(plugin))[0] if _schemes(plugin) else 'apprise'}://…"
    # Apprise appends every default option (?overflow=…&retry=…): noise for a display.
    return _mask_tokens(shown.split("?", 1)[0])


_TOKEN_LIKE = re.compile(r"(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{8,}")


def _mask_tokens(shown: str) -> str:
    """Mask what Apprise leaves readable but looks like a token: generic webhooks
    (json://, form://) and topics keep their path as written, e.g. `/hook/AbC123xYz789`.
    A part of 8+ letters, digits, `-` or `_` with both letters and digits (or of 20+)
    is shown as `A...9`, as Apprise shows the secrets it knows about."""
    scheme, sep, rest = shown.partition("://")
    if not sep:
        return shown

    def mask(part: str) -> str:
        token = _TOKEN_LIKE.fullmatch(part) or re.fullmatch(r"[A-Za-z0-9_-]{20,}", part)
        return f"{part[0]}...{part[-1]}" if token else part

    return scheme + sep + "/".join(mask(part) for part in rest.split("/"))


def _fallback_redact(url: str) -> str:
    """Mask a URL Apprise could not parse: keep the scheme and a host that looks like one."""
    scheme, sep, _ = url.partition("://")
    if not sep:
        return "'…' (not a URL: expected scheme://…)"
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    looks_like_host = host == "localhost" or "." in host
    rest = host + "/…" if looks_like_host else "…"
    return f"{scheme.lower()}://{rest}"


# --------------------------------------------------------------------------- retries

RETRY_BASE = timedelta(minutes=1)
RETRY_FACTOR = 2
RETRY_CAP = timedelta(minutes=15)
# How long an undelivered alert is worth trying: after two days a deal is most likely
# gone (an auction's alert is worth trying only until the auction ends).
ALERT_LIFETIME = timedelta(hours=48)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: 1 min, 2, 4, 8, then every
    15 min (RETRY_CAP) — so a channel back from an outage of any length gets its alerts
    within a quarter of an hour."""
    if attempts <= 0:
        return timedelta(0)
    exponent = min(attempts - 1, 8)  # 2**8 minutes is beyond the cap already
    return min(RETRY_BASE * int(RETRY_FACTOR**exponent), RETRY_CAP)


def retry_deadline(claimed_at: datetime, ends_at: datetime | None = None) -> datetime:
    """Until when an alert claimed at `claimed_at` is tried: ALERT_LIFETIME, or until the
    listing ends (an auction's end) if that is sooner."""
    deadline = claimed_at + ALERT_LIFETIME
    return min(deadline, ends_at) if ends_at is not None else deadline


def next_attempt_at(attempts: int, last_attempt: datetime) -> datetime:
    return last_attempt + retry_delay(attempts)


def due_for_retry(attempts: int, last_attempt: datetime | None, now: datetime) -> bool:
    """Whether an alert that failed `attempts` times, last at `last_attempt`, may go again.

    Pure: the retry loop passes the alert's attempt count and last attempt time. Unknown
    last attempt (e.g. a crash before the first try, or a restart) means "now".
    """
    if attempts <= 0 or last_attempt is None:
        return True
    return now >= next_attempt_at(attempts, last_attempt)
