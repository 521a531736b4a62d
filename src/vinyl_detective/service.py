"""What users can do, in one place: the CLI, the Telegram bot and the admin API call this.

No business rule lives in the interfaces: they parse their input and print what these
functions return or raise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from vinyl_detective.domain.ebay_sites import MARKETPLACE_HOSTS, RECORD_CATEGORIES
from vinyl_detective.domain.models import SavedSearch
from vinyl_detective.domain.rules import validate_rule
from vinyl_detective.domain.schedule_types import (
    DEFAULT_MAX_MINUTES,
    DEFAULT_MIN_MINUTES,
)
from vinyl_detective.errors import NotFoundError, VinylDetectiveError
from vinyl_detective.notify.channels import parse_channel_urls
from vinyl_detective.storage import chats, kv, search_schedules, searches
from vinyl_detective.storage.outbox import emit_event
from vinyl_detective.storage.status import SearchStatus as SearchStatus
from vinyl_detective.storage.status import StatusReport as StatusReport
from vinyl_detective.storage.status import read_status, sqlalchemy_reader
from vinyl_detective.storage.usage import DbCallBudget

MAX_QUERY_LENGTH = 100  # eBay's limit for `q`
MIN_POLL_MINUTES, MAX_POLL_MINUTES = 1, 1440


class UserInputError(VinylDetectiveError):
    """Input a user typed that we cannot use; the message says how to fix it."""


def parse_threshold(text: str) -> float:
    """`0.3`, `.3` or `30%` → 0.3; anything outside 0..1 is refused."""
    raw = text.strip().rstrip("%")
    try:
        value = float(raw)
    except ValueError:
        raise UserInputError(
            f"{text!r} is not a threshold: give a saving between 0 and 1 (0.3) or a percent (30%)."
        ) from None
    if text.strip().endswith("%") or value > 1:
        value /= 100
    if not 0 <= value <= 1:
        raise UserInputError(f"{text!r} is out of range: a threshold lies between 0 and 1.")
    return value


def split_query_and_rule(text: str) -> tuple[str, str | None]:
    """`blue note lp | price < 50` → ("blue note lp", "price < 50")."""
    query, _, rule = text.partition("|")
    return query.strip(), (rule.strip() or None)


@dataclass
class SearchService:
    engine: Engine
    clock: Callable[[], datetime]
    default_poll_minutes: int = 30
    default_min_score: float = 0.25
    default_marketplace: str = "EBAY_US"

    def add(
        self,
        query: str,
        *,
        chat_id: int | None = None,
        rule: str | None = None,
        min_deal_score: float | None = None,
        poll_minutes: int | None = None,
        name: str | None = None,
        channels: tuple[str, ...] = (),
        category_id: str | None = None,
        marketplace: str | None = None,
    ) -> SavedSearch:
        """Validate and store a search; a bad rule is refused and nothing is stored."""
        query = " ".join(query.split())
        if not query:
            raise UserInputError("The search needs keywords, e.g. `blue note 1500`.")
        if len(query) > MAX_QUERY_LENGTH:
            raise UserInputError(
                f"The keywords are {len(query)} characters long; eBay takes at most "
                f"{MAX_QUERY_LENGTH}. Shorten them or move conditions into the rule."
            )
        if rule:
            validate_rule(rule)
        if poll_minutes is not None and not MIN_POLL_MINUTES <= poll_minutes <= MAX_POLL_MINUTES:
            raise UserInputError(
                f"A search is polled every {MIN_POLL_MINUTES} to {MAX_POLL_MINUTES} minutes "
                f"(a day), not {poll_minutes}."
            )
        parse_channel_urls(channels, "the search's channels")  # refuse a bad URL, store nothing
        marketplace = _marketplace(marketplace or self.default_marketplace)
        if category_id is not None and not category_id.isdigit():
            raise UserInputError(
                f"An eBay category is a number (Records is 176985, CDs 176984), "
                f"not {category_id!r}."
            )
        with self.engine.begin() as conn:
            return searches.add_search(
                conn,
                query=query,
                now=self.clock(),
                chat_id=chat_id,
                name=name,
                min_deal_score=(
                    self.default_min_score if min_deal_score is None else min_deal_score
                ),
                poll_minutes=self.default_poll_minutes if poll_minutes is None else poll_minutes,
                rule=rule,
                channels=channels,
                category_id=category_id,
                marketplace=marketplace,
            )

    def list(self, chat_id: int | None = None) -> list[SavedSearch]:
        with self.engine.connect() as conn:
            return searches.list_searches(conn, chat_id=chat_id)

    def remove(self, search_id: int, *, chat_id: int | None = None) -> None:
        _known_id(search_id)
        with self.engine.begin() as conn:
            if not searches.remove_search(conn, search_id, chat_id=chat_id):
                raise UserInputError(_no_such_search(search_id))

    def set_active(self, search_id: int, active: bool, *, chat_id: int | None = None) -> None:
        _known_id(search_id)
        with self.engine.begin() as conn:
            values: dict[str, object] = {"active": active}
            if active:
                values["next_run_at"] = self.clock()
            if not searches.update_search(conn, search_id, chat_id=chat_id, **values):
                raise UserInputError(_no_such_search(search_id))

    def set_threshold(
        self, value: float, *, search_id: int | None = None, chat_id: int | None = None
    ) -> int:
        """Set the minimum deal score of one search, or of all a chat's searches."""
        if search_id is not None:
            _known_id(search_id)
        with self.engine.begin() as conn:
            if search_id is not None:
                if not searches.update_search(
                    conn, search_id, chat_id=chat_id, min_deal_score=value
                ):
                    raise UserInputError(_no_such_search(search_id))
                return 1
            changed = 0
            for search in searches.list_searches(conn, chat_id=chat_id):
                changed += searches.update_search(conn, search.id, min_deal_score=value)
            return changed

    def set_rule(self, search_id: int, rule: str | None, *, chat_id: int | None = None) -> None:
        _known_id(search_id)
        if rule:
            validate_rule(rule)
        with self.engine.begin() as conn:
            if not searches.update_search(
                conn, search_id, chat_id=chat_id, rule=rule, disabled_reason=None
            ):
                raise UserInputError(_no_such_search(search_id))

    def set_schedule(
        self,
        search_id: int,
        *,
        mode: str | None = None,
        min_minutes: float | None = None,
        max_minutes: float | None = None,
        priority: int | None = None,
        chat_id: int | None = None,
    ) -> search_schedules.SearchScheduleState:
        """Change how the planner treats a search: its bounds, priority and mode.

        The planner keeps the interval within [min, max], except that the daily budget
        wins over a minimum and a busy search's pages win over a maximum
        (domain/budget_planner.py).
        """
        _known_id(search_id)
        for name, value in (("minimum", min_minutes), ("maximum", max_minutes)):
            if value is not None and not MIN_POLL_MINUTES <= value <= MAX_POLL_MINUTES:
                raise UserInputError(
                    f"The {name} interval is {MIN_POLL_MINUTES} to {MAX_POLL_MINUTES} "
                    f"minutes, not {value:g}."
                )
        with self.engine.begin() as conn:
            search = searches.get_search(conn, search_id)
            if search is None or (chat_id is not None and search.chat_id not in (None, chat_id)):
                raise UserInputError(_no_such_search(search_id))
            search_schedules.ensure_schedule(conn, search_id)
            current = search_schedules.get_schedule(conn, search_id)
            assert current is not None
            low = min_minutes if min_minutes is not None else current.min_minutes
            high = max_minutes if max_minutes is not None else current.max_minutes
            if (low or DEFAULT_MIN_MINUTES) > (high or DEFAULT_MAX_MINUTES):
                raise UserInputError(
                    f"The minimum interval ({_bound(low, DEFAULT_MIN_MINUTES)}) is longer "
                    f"than the maximum ({_bound(high, DEFAULT_MAX_MINUTES)})."
                )
            try:
                search_schedules.set_search_options(
                    conn,
                    search_id,
                    mode=mode,
                    min_minutes=min_minutes,
                    max_minutes=max_minutes,
                    priority=priority,
                )
            except ValueError as exc:
                text = str(exc)
                raise UserInputError(f"{text[:1].upper()}{text[1:]}.") from exc
            changed = search_schedules.get_schedule(conn, search_id)
            assert changed is not None
            return changed

    def run_now(self, search_id: int) -> str:
        """Make a search due now (the admin API's and the dashboard's "run now"): the
        daemon's poll loop runs it within a tick."""
        now = self.clock()
        with self.engine.begin() as conn:
            search = searches.get_search(conn, search_id)
            if search is None:
                raise NotFoundError("searches", f"no saved search #{search_id}", status=404)
            search_schedules.request_run(conn, search_id, now)
            emit_event(
                conn,
                "scraper.job.created",
                f"search:{search_id}",
                {"search_id": search_id, "query": search.query, "trigger": "api"},
                now,
            )
        return f"search:{search_id} queued"

    def pause_chat(self, chat_id: int, paused: bool) -> None:
        with self.engine.begin() as conn:
            chats.set_paused(conn, chat_id, paused, self.clock())


GLOBAL_RULE_KEY = "global_rule"


@dataclass
class GlobalRule:
    """The rule every search must also pass: set at run time (CLI, bot), else from config."""

    engine: Engine
    configured: str | None = None

    def get(self) -> str | None:
        with self.engine.connect() as conn:
            stored = kv.get_value(conn, GLOBAL_RULE_KEY)
        if stored is not None:
            return stored or None  # "" stored = removed on purpose, overriding the config
        return self.configured

    def set(self, rule: str | None) -> None:
        """Validate and store; None removes it (also the configured one)."""
        if rule:
            validate_rule(rule)
        with self.engine.begin() as conn:
            kv.set_value(conn, GLOBAL_RULE_KEY, rule or "")


def _bound(value: float | None, default: float) -> str:
    return f"{value:g} min" if value else f"{default:g} min, the default"


def _marketplace(code: str) -> str:
    """An eBay marketplace id (EBAY_US, EBAY_GB, …), upper-cased; unknown ones refused."""
    marketplace = code.strip().upper()
    if marketplace not in MARKETPLACE_HOSTS:
        raise UserInputError(
            f"Unknown eBay marketplace {code!r}; use one of {', '.join(MARKETPLACE_HOSTS)}."
        )
    return marketplace


def _no_such_search(search_id: int) -> str:
    return f"There is no search #{search_id} (see the list of your searches for the numbers)."


# Search numbers are the database's 64-bit ids: a bigger (or a negative) one names none.
_LARGEST_ID = 2**63 - 1


def _known_id(search_id: int) -> int:
    """`search_id`, or UserInputError when no search could have that number."""
    if not 0 < search_id <= _LARGEST_ID:
        raise UserInputError(_no_such_search(search_id))
    return search_id


def status_report(
    engine: Engine,
    budget: DbCallBudget,
    now: datetime,
    *,
    marketplace: str = "EBAY_US",
    categories: Sequence[str] = RECORD_CATEGORIES,
) -> StatusReport:
    """What `status` and the bot's /status show; `marketplace` and `categories` are the
    firehose streams' (a search outside them runs its own query). The statements are
    storage/status.py's, which `status` also runs through sqlite3 on SQLite."""
    with engine.connect() as conn:
        return read_status(
            sqlalchemy_reader(conn),
            now,
            budget_limit=budget.limit,
            marketplace=marketplace,
            categories=categories,
            budget_service=budget.service,
        )
