"""Settings, read once from the environment and `.env` — nowhere else reads either.

Every variable is documented in `.env.example`. A missing or malformed value raises
ConfigError with one line per problem, naming the variable and the expected shape.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

from dotenv import dotenv_values

from vinyl_detective.domain.ebay_sites import MARKETPLACE_HOSTS
from vinyl_detective.errors import ConfigError

T = TypeVar("T")

EBAY_API_BASE_URL = "https://api.ebay.com"
DISCOGS_API_BASE_URL = "https://api.discogs.com"
TELEGRAM_API_BASE_URL = "https://api.telegram.org"
MARKETPLACES = tuple(MARKETPLACE_HOSTS)  # the ids EBAY_MARKETPLACE may take


class _Explained(ValueError):
    """A malformed value, with what is wrong with it in the checker's words."""


def _cut(raw: str, width: int = 80) -> str:
    """A value as an error message repeats it: a long one (a rule of thousands of
    characters) is cut, with its length."""
    return raw if len(raw) <= width else f"{raw[: width - 20]}… ({len(raw):,} characters)"


# The keys that decide between live mode and the demo marketplace.
LIVE_KEYS = ("DISCOGS_TOKEN", "EBAY_APP_ID", "EBAY_CERT_ID", "TELEGRAM_TOKEN")


@dataclass(frozen=True)
class Settings:
    discogs_token: str = ""
    ebay_app_id: str = ""
    ebay_cert_id: str = ""
    telegram_token: str = ""
    telegram_allowed_chat_ids: frozenset[int] = frozenset()
    ebay_campaign_id: str | None = None
    ebay_marketplace: str = "EBAY_US"
    database_url: str = "sqlite:///vinyl_detective.db"
    poll_minutes: int = 30
    discogs_refresh_days: int = 7
    ebay_daily_call_budget: int = 5000
    ebay_api_base_url: str = EBAY_API_BASE_URL
    discogs_api_base_url: str = DISCOGS_API_BASE_URL
    telegram_api_base_url: str = TELEGRAM_API_BASE_URL
    user_agent: str = "VinylDetective/0.1 +https://github.com/vinyl-detective/vinyl-detective"
    apprise_urls: tuple[str, ...] = ()
    global_rule: str | None = None
    admin_token: str | None = None
    events_url: str = ""
    events_secret: str | None = None
    log_level: str = "INFO"
    # Where `run` and `demo` serve the admin API and dashboard without --api-port (none:
    # not served), and the address they listen on: loopback unless asked (a container).
    api_port: int | None = None
    api_host: str = "127.0.0.1"
    # A price drop alerts a recipient again when the deal score rose this many points.
    price_drop_points: float = 10.0
    # Exchange rates over the built-in approximate ones: US dollars for one unit.
    fx_rates: Mapping[str, Decimal] = field(default_factory=dict)
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def is_demo(self) -> bool:
        """True when no live key at all is set: `run` then serves the demo marketplace."""
        return not any(
            (self.discogs_token, self.ebay_app_id, self.ebay_cert_id, self.telegram_token)
        )

    def require_live(self) -> None:
        """What running against the real services needs: Discogs and eBay keys, and a way
        to alert (Telegram, or Apprise URLs). Local commands (import-dump, search, status)
        need none of it. Raises ConfigError naming every missing key."""
        problems = [
            f"{key} is missing: {_HOW_TO_GET[key]}"
            for key, value in (
                ("DISCOGS_TOKEN", self.discogs_token),
                ("EBAY_APP_ID", self.ebay_app_id),
                ("EBAY_CERT_ID", self.ebay_cert_id),
            )
            if not value
        ]
        if not self.telegram_token and not self.apprise_urls:
            problems.append(
                "TELEGRAM_TOKEN is missing (or set APPRISE_URLS to alert elsewhere): "
                + _HOW_TO_GET["TELEGRAM_TOKEN"]
            )
        if problems:
            raise ConfigError(
                "Configuration problems (see .env.example):\n- " + "\n- ".join(problems)
            )

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret of this configuration, for the log to mask: keys and tokens, and
        the passwords and token-like parts of the URLs (database, events, Apprise)."""
        keys = (
            self.discogs_token,
            self.ebay_cert_id,
            self.telegram_token,
            self.admin_token or "",
            self.events_secret or "",
        )
        urls = (self.database_url, self.events_url, *self.apprise_urls)
        return tuple(k for k in keys if k) + tuple(p for u in urls for p in url_secrets(u))

    def __repr__(self) -> str:  # never print secrets
        return (
            f"Settings(database_url={redact_url(self.database_url)!r}, "
            f"marketplace={self.ebay_marketplace!r}, poll_minutes={self.poll_minutes}, "
            f"demo={self.is_demo})"
        )


# A part of a URL that looks like a token: 8+ letters, digits, `-` or `_` with both
# letters and digits, or 20+ of them (webhook tokens in a path, bot tokens, API keys).
_TOKEN_LIKE = re.compile(r"(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{8,}")
_LONG_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,}")


def url_secrets(url: str) -> tuple[str, ...]:
    """The parts of `url` that may be secret, for the log's redaction: its password and
    every token-like part of its path, host or query (a Discord webhook token, a bot token
    in `tgram://`, a key in `?apikey=`), never a plain host name or word."""
    _, sep, rest = url.partition("://")
    if not sep:
        return (url,) if url else ()
    found = [url]
    userinfo, at, _ = rest.partition("@")
    if at and ":" in userinfo and "/" not in userinfo:
        found.append(userinfo.split(":", 1)[1])
    for part in re.split(r"[/:@?&=#,;]+", rest):
        if _TOKEN_LIKE.fullmatch(part) or _LONG_TOKEN.fullmatch(part):
            found.append(part)
    return tuple(found)


def redact_url(url: str) -> str:
    """A URL with its credentials hidden, for logs and messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Settings:
    """Read settings from `environ` (default os.environ) over the values in `env_file`."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    return parse_settings(values)


def parse_settings(values: Mapping[str, str]) -> Settings:
    problems: list[str] = []

    def get(name: str, default: str = "") -> str:
        return values.get(name, default).strip()

    def typed(name: str, parse: Callable[[str], T], default: T, shape: str) -> T:
        raw = get(name)
        if not raw:
            return default
        try:
            return parse(raw)
        except _Explained as exc:  # the value's own checker says what is wrong with it
            problems.append(f"{name}={_cut(raw)!r} is malformed: {exc}; expected {shape}.")
            return default
        except ValueError:
            problems.append(f"{name}={_cut(raw)!r} is malformed: expected {shape}.")
            return default

    def positive_int(raw: str) -> int:
        number = int(raw)
        if number <= 0:
            raise ValueError(raw)
        return number

    def chat_ids(raw: str) -> frozenset[int]:
        return frozenset(int(part) for part in raw.replace(" ", "").split(",") if part)

    def url(raw: str) -> str:
        if not raw.startswith(("http://", "https://")):
            raise ValueError(raw)
        return raw.rstrip("/")

    def events_url(raw: str) -> str:
        if raw != "log" and not raw.startswith(("http://", "https://", "amqp://", "amqps://")):
            raise ValueError(raw)
        return raw

    def log_level(raw: str) -> str:
        if raw.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(raw)
        return raw.upper()

    def rule(raw: str) -> str:
        from vinyl_detective.domain.rules import validate_rule
        from vinyl_detective.errors import RuleSyntaxError, RuleTooLongError

        try:
            validate_rule(raw)
        except RuleSyntaxError as exc:
            where = "" if isinstance(exc, RuleTooLongError) else f" at character {exc.position + 1}"
            raise _Explained(exc.message + where) from None
        return raw

    def fx_rates(raw: str) -> dict[str, Decimal]:
        rates: dict[str, Decimal] = {}
        for pair in raw.replace(",", " ").split():
            code, sep, value = pair.partition("=")
            if not sep or len(code) != 3 or not code.isalpha():
                raise ValueError(pair)
            try:
                rate = Decimal(value)
            except InvalidOperation:
                raise ValueError(pair) from None
            if not rate.is_finite() or rate <= 0 or (code.upper() == "USD" and rate != 1):
                raise ValueError(pair)
            rates[code.upper()] = rate
        return rates

    def points(raw: str) -> float:
        number = float(raw.removesuffix("%").strip())
        if not 0 < number <= 100:
            raise ValueError(raw)
        return number

    def port(raw: str) -> int:
        number = int(raw)
        if not 1 <= number <= 65535:
            raise ValueError(raw)
        return number

    def host(raw: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9.:-]+", raw):
            raise ValueError(raw)
        return raw

    def marketplace(raw: str) -> str:
        if raw.upper() not in MARKETPLACES:
            raise ValueError(raw)
        return raw.upper()

    live = {key: get(key) for key in LIVE_KEYS}
    allowed: frozenset[int] = typed(
        "TELEGRAM_ALLOWED_CHAT_IDS",
        chat_ids,
        frozenset[int](),
        "comma-separated numeric chat ids, e.g. 123456789,-1001234567890",
    )
    if live["TELEGRAM_TOKEN"] and not get("TELEGRAM_ALLOWED_CHAT_IDS"):
        problems.append(
            "TELEGRAM_ALLOWED_CHAT_IDS is missing: list the chat ids that may use "
            "the bot (message @userinfobot to learn yours), e.g. 123456789."
        )
    database_url = get("DATABASE_URL", "sqlite:///vinyl_detective.db")
    if not database_url.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
        problems.append(
            f"DATABASE_URL={database_url!r} is malformed: expected a URL such as "
            "sqlite:///vinyl_detective.db or postgresql+psycopg://user@host/db."
        )

    settings = Settings(
        discogs_token=live["DISCOGS_TOKEN"],
        ebay_app_id=live["EBAY_APP_ID"],
        ebay_cert_id=live["EBAY_CERT_ID"],
        telegram_token=live["TELEGRAM_TOKEN"],
        telegram_allowed_chat_ids=allowed,
        ebay_campaign_id=get("EBAY_CAMPAIGN_ID") or None,
        ebay_marketplace=typed(
            "EBAY_MARKETPLACE",
            marketplace,
            "EBAY_US",
            "an eBay marketplace id such as EBAY_US, EBAY_GB or EBAY_DE",
        ),
        database_url=database_url,
        poll_minutes=typed("POLL_MINUTES", positive_int, 30, "a whole number of minutes ≥ 1"),
        discogs_refresh_days=typed(
            "DISCOGS_REFRESH_DAYS", positive_int, 7, "a whole number of days ≥ 1"
        ),
        ebay_daily_call_budget=typed(
            "EBAY_DAILY_CALL_BUDGET",
            positive_int,
            5000,
            "a whole number of calls ≥ 1 (eBay's default is 5000)",
        ),
        ebay_api_base_url=typed("EBAY_API_BASE_URL", url, EBAY_API_BASE_URL, "an http(s) URL"),
        discogs_api_base_url=typed(
            "DISCOGS_API_BASE_URL", url, DISCOGS_API_BASE_URL, "an http(s) URL"
        ),
        telegram_api_base_url=typed(
            "TELEGRAM_API_BASE_URL", url, TELEGRAM_API_BASE_URL, "an http(s) URL"
        ),
        user_agent=get("USER_AGENT") or Settings.user_agent,
        apprise_urls=tuple(u for u in get("APPRISE_URLS").split() if u),
        global_rule=typed(
            "GLOBAL_RULE",
            rule,
            None,
            'a watch rule (check it with: vinyl-detective rules check "...")',
        ),
        admin_token=get("ADMIN_TOKEN") or None,
        events_url=typed(
            "EVENTS_URL",
            events_url,
            "",
            "log, an http(s) webhook URL, or an "
            "amqp:// RabbitMQ URL such as amqp://guest:guest@127.0.0.1:5672/",
        ),
        events_secret=get("EVENTS_WEBHOOK_SECRET") or None,
        log_level=typed("LOG_LEVEL", log_level, "INFO", "one of DEBUG, INFO, WARNING, ERROR"),
        api_port=typed("API_PORT", port, None, "a port number from 1 to 65535, e.g. 8600"),
        api_host=typed(
            "API_HOST",
            host,
            "127.0.0.1",
            "an address to listen on, e.g. 127.0.0.1 (this machine only) or 0.0.0.0 (all)",
        ),
        price_drop_points=typed(
            "PRICE_DROP_STEP",
            points,
            10.0,
            "score points between 0 and 100, e.g. 10 (a deal 30% under Discogs that "
            "drops to 40% under rose 10 points)",
        ),
        fx_rates=typed(
            "FX_RATES",
            fx_rates,
            {},
            "currency=rate pairs giving US dollars for one unit (USD itself is 1), "
            "e.g. GBP=1.27 EUR=1.08",
        ),
        extra=dict(values),
    )
    if problems:
        raise ConfigError("Configuration problems (see .env.example):\n- " + "\n- ".join(problems))
    return settings


_HOW_TO_GET = {
    "DISCOGS_TOKEN": "create a personal access token at "
    "https://www.discogs.com/settings/developers and set DISCOGS_TOKEN=<token>.",
    "EBAY_APP_ID": "create a production keyset at https://developer.ebay.com/my/keys and set "
    "EBAY_APP_ID=<App ID (Client ID)>.",
    "EBAY_CERT_ID": "from the same keyset at https://developer.ebay.com/my/keys, set "
    "EBAY_CERT_ID=<Cert ID (Client Secret)>.",
    "TELEGRAM_TOKEN": "create a bot with @BotFather on Telegram and set "
    "TELEGRAM_TOKEN=<123456:ABC...>.",
}
