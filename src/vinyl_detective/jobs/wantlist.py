"""Importing a Discogs wantlist: its releases into the catalog, and a watch for each want.

    result = await sync_wantlist(engine=engine, discogs=discogs, username="ann", clock=clock)
    print(f"{result.searches_created} new watches from {result.fetched} wants")

**Paging.** The wantlist is read 100 wants a page through `jobs/paging.page_backwards`,
so the five stop conditions hold: an empty page, a page that brings nothing new (no
progress), the request allowance (`limits.max_requests`, 100 pages = 10,000 wants by
default), too many 429s; max age does not apply (wants carry no date here). A run stopped
by the allowance, by 429s or by an error remembers its next page and the next run resumes
there; a finished run starts again from page 1 next time, which is how new wants are found.

**Watches.** Each wanted release is stored in the catalog (so the matcher can identify
it) and gets a saved search, in one of two shapes:

* by album (the default): one search per album, i.e. per artist + title. Keywords are the
  credit's first artist and the title (`"Art Blakey Moanin"`): eBay ANDs keywords, so few
  words find the most listings. The rule pins the match to what is wanted:
  `artist = "Art Blakey & The Jazz Messengers" AND release_title = "Moanin'" AND
  catalog_no in ["BLP 4003", "BST-84003"]` - the catalog numbers of every wanted pressing
  of that album, or no catalog-number part when one of them has none. Two wanted
  pressings of one album share one search (one eBay query instead of two).
* by artist (`group_by_artist=True`): one search per artist, keywords the first artist's
  name, rule `artist = "…" AND release_title in ["Moanin'", "Mosaic", …]` (compilations
  credited to "Various" still get one search per album). Far fewer
  searches (each polls eBay: a 300-want list in album mode is 300 queries per polling
  round), at the cost of broader keywords.

**Idempotent.** Which searches the sync made, and for which releases, is kept in the `kv`
table (`wantlist:watch:<hash of the artist (and title)>`). A re-sync creates nothing
twice; a new want of an album or artist already watched widens that search's rule (only
while the rule is still the one the sync wrote: a rule the user edited is left alone); a
watch the user removed stays removed; a search the user already had with the same
keywords and no rule is adopted as it is. Nothing is ever deleted.

Every run is a job run `wantlist_sync` (target `discogs:<username>`): fetched = wants
read, inserted = searches created, skipped = wants that needed no new search (already
watched, removed by the user, or malformed).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.engine import Engine

from vinyl_detective.domain.listening import main_artist, watch_keywords
from vinyl_detective.domain.models import Release
from vinyl_detective.domain.rules_ast import format_string
from vinyl_detective.domain.rules_parser import MAX_LENGTH as MAX_RULE_LENGTH
from vinyl_detective.errors import NotFoundError
from vinyl_detective.jobs.paging import (
    Page,
    PagingLimits,
    PagingState,
    StopReason,
    page_backwards,
)
from vinyl_detective.service import SearchService
from vinyl_detective.sources.discogs_parse import ReleasePage
from vinyl_detective.storage import catalog, job_runs, kv, searches

__all__ = [
    "JOB_TYPE",
    "PER_PAGE",
    "WantlistResult",
    "WantlistSource",
    "WatchPlan",
    "plan_watch",
    "sync_wantlist",
]

log = logging.getLogger(__name__)

JOB_TYPE = "wantlist_sync"
PER_PAGE = 100
DEFAULT_LIMITS = PagingLimits(max_requests=100, max_rate_limited=3)
_WATCH_KEY = "wantlist:watch:"
_RESUME_KEY = "wantlist:resume:"

Progress = Callable[[int, int | None], None]
Sleep = Callable[[float], Awaitable[None]]


class WantlistSource(Protocol):
    """What the sync needs from Discogs (`sources.discogs.DiscogsClient` is one)."""

    async def wantlist_page(
        self, username: str, page: int = ..., per_page: int = ...
    ) -> ReleasePage: ...


@dataclass(frozen=True, slots=True)
class WantlistResult:
    """What one sync did. `complete` is False when it stopped early (allowance, 429s)."""

    username: str
    stop_reason: StopReason
    fetched: int = 0
    total: int | None = None
    releases_stored: int = 0
    searches_created: int = 0
    searches_widened: int = 0
    already_watched: int = 0
    declined: int = 0
    malformed: int = 0
    created_search_ids: tuple[int, ...] = ()

    @property
    def complete(self) -> bool:
        return self.stop_reason.complete

    @property
    def skipped(self) -> int:
        return self.fetched - self.searches_created - self.searches_widened


# --------------------------------------------------------------------------- planning (pure)


@dataclass(frozen=True, slots=True)
class WatchPlan:
    """The search one wanted release belongs to, and its part in that search's rule."""

    query: str
    name: str
    artist: str
    title: str
    catalog_nos: tuple[str, ...]
    group_by_artist: bool = False

    @property
    def key(self) -> str:
        """The kv key of the search this want belongs to: its artist (and title)."""
        group = self.artist if self.group_by_artist else f"{self.artist}\x1f{self.title}"
        digest = hashlib.sha256(" ".join(group.casefold().split()).encode()).hexdigest()[:32]
        return f"{_WATCH_KEY}{'a' if self.group_by_artist else 't'}:{digest}"


def plan_watch(release: Release, *, group_by_artist: bool = False) -> WatchPlan:
    """The keywords and name of the search that watches `release` (see the module doc)."""
    first = main_artist(release.artist)
    group_by_artist = group_by_artist and bool(watch_keywords(first))  # not "Various"
    if group_by_artist:
        query = watch_keywords(first)
        name = f"Wantlist: {release.artist}"
    else:
        query = watch_keywords(first, release.title)
        name = f"Wantlist: {release.artist} – {release.title}"
    return WatchPlan(
        query=query,
        name=name,
        artist=release.artist,
        title=release.title,
        catalog_nos=tuple(release.catalog_nos),
        group_by_artist=group_by_artist,
    )


@dataclass(slots=True)
class _Watch:
    """What the kv table remembers about one search the sync made (or adopted)."""

    search_id: int
    group_by_artist: bool
    artist: str
    titles: list[str] = field(default_factory=list)
    catalog_nos: list[str] = field(default_factory=list)
    any_pressing: bool = False  # a wanted pressing had no catalog number
    release_ids: list[int] = field(default_factory=list)
    rule: str | None = None  # the rule the sync last wrote (None: adopted, never touched)

    def to_json(self) -> str:
        return json.dumps(
            {
                "search": self.search_id,
                "by_artist": self.group_by_artist,
                "artist": self.artist,
                "titles": self.titles,
                "catalog_nos": self.catalog_nos,
                "any_pressing": self.any_pressing,
                "releases": self.release_ids,
                "rule": self.rule,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> _Watch:
        data = json.loads(text)
        return cls(
            search_id=int(data["search"]),
            group_by_artist=bool(data.get("by_artist")),
            artist=str(data.get("artist") or ""),
            titles=[str(t) for t in data.get("titles") or []],
            catalog_nos=[str(c) for c in data.get("catalog_nos") or []],
            any_pressing=bool(data.get("any_pressing")),
            release_ids=[int(r) for r in data.get("releases") or []],
            rule=data.get("rule"),
        )

    def add(self, plan: WatchPlan, release_id: int) -> None:
        self.release_ids.append(release_id)
        if plan.title.casefold() not in {t.casefold() for t in self.titles}:
            self.titles.append(plan.title)
        if not plan.catalog_nos:
            self.any_pressing = True
        for catno in plan.catalog_nos:
            if catno not in self.catalog_nos:
                self.catalog_nos.append(catno)

    def build_rule(self) -> str:
        artist = f"artist = {format_string(self.artist)}"
        if self.group_by_artist:
            titles = ", ".join(format_string(t) for t in self.titles)
            rule = f"{artist} AND release_title in [{titles}]"
            return rule if len(rule) <= MAX_RULE_LENGTH else artist
        title = f"release_title = {format_string(self.titles[0])}"
        if self.any_pressing or not self.catalog_nos:
            return f"{artist} AND {title}"
        catnos = ", ".join(format_string(c) for c in self.catalog_nos)
        rule = f"{artist} AND {title} AND catalog_no in [{catnos}]"
        return rule if len(rule) <= MAX_RULE_LENGTH else f"{artist} AND {title}"


# --------------------------------------------------------------------------- the sync


def _resume_key(username: str) -> str:
    return _RESUME_KEY + hashlib.sha256(username.casefold().encode()).hexdigest()[:32]


@dataclass(slots=True)
class _Counts:
    fetched: int = 0
    total: int | None = None
    stored: int = 0
    created: int = 0
    widened: int = 0
    already: int = 0
    declined: int = 0
    malformed: int = 0
    created_ids: list[int] = field(default_factory=list)


class _Sync:
    def __init__(
        self,
        *,
        engine: Engine,
        discogs: WantlistSource,
        username: str,
        clock: Callable[[], datetime],
        group_by_artist: bool,
        service: SearchService,
        progress: Progress | None,
        chat_id: int | None,
    ) -> None:
        self.engine = engine
        self.discogs = discogs
        self.username = username
        self.clock = clock
        self.group_by_artist = group_by_artist
        self.service = service
        self.progress = progress
        self.chat_id = chat_id
        self.counts = _Counts()
        self.seen: set[int] = set()

    async def fetch(self, page_no: int) -> Page[Release | None, int]:
        try:
            page = await self.discogs.wantlist_page(self.username, page_no, PER_PAGE)
        except NotFoundError as exc:
            if page_no > 1:  # past the end of a wantlist that shrank since the last run
                return Page((), None)
            raise NotFoundError(
                "discogs",
                f"Discogs has no user {self.username!r}, or their wantlist is private. "
                "Use the name shown in your profile address (discogs.com/user/<name>); a "
                "private wantlist can only be read with that user's own DISCOGS_TOKEN.",
                status=exc.status,
            ) from exc
        self.counts.total = page.items
        items: list[Release | None] = [*page.releases, *([None] * page.skipped)]
        fresh = [r for r in page.releases if r.id not in self.seen]
        self.seen.update(r.id for r in page.releases)
        next_page = page.page + 1 if page.has_next else None
        if page.releases and not fresh:
            next_page = page_no  # the same wants again: paging stopped progressing
        return Page(items, next_page)

    async def on_page(self, page: Page[Release | None, int], state: PagingState[int]) -> None:
        releases = [r for r in page.items if r is not None]
        self.counts.fetched += len(page.items)
        self.counts.malformed += len(page.items) - len(releases)
        now = self.clock()
        with self.engine.begin() as conn:
            self.counts.stored += catalog.upsert_releases(conn, releases, now)
        for release in releases:
            self._watch(release)
        with self.engine.begin() as conn:  # a crash from here on resumes at the next page
            kv.set_value(
                conn, _resume_key(self.username), str(state.cursor) if state.cursor else None
            )
        if self.progress is not None:
            self.progress(self.counts.fetched, self.counts.total)

    def _watch(self, release: Release) -> None:
        plan = plan_watch(release, group_by_artist=self.group_by_artist)
        if not plan.query:
            self.counts.declined += 1
            log.info("wantlist release %d has no usable keywords: not watched", release.id)
            return
        with self.engine.connect() as conn:
            stored = kv.get_value(conn, plan.key)
            watch = _Watch.from_json(stored) if stored else None
            existing = searches.get_search(conn, watch.search_id) if watch else None
        if watch is None:
            self._create_or_adopt(plan, release)
            return
        if release.id in watch.release_ids:
            self.counts.already += 1
            return
        if existing is None:  # the user removed this watch: it stays removed
            watch.release_ids.append(release.id)
            self._remember(plan.key, watch)
            self.counts.declined += 1
            return
        watch.add(plan, release.id)
        if watch.rule is not None and existing.rule == watch.rule:
            new_rule = watch.build_rule()
            if new_rule != watch.rule:
                self.service.set_rule(watch.search_id, new_rule)
                watch.rule = new_rule
                self.counts.widened += 1
            else:
                self.counts.already += 1
        else:  # adopted, or the user edited the rule: theirs to keep
            self.counts.already += 1
        self._remember(plan.key, watch)

    def _create_or_adopt(self, plan: WatchPlan, release: Release) -> None:
        watch = _Watch(search_id=0, group_by_artist=plan.group_by_artist, artist=plan.artist)
        watch.add(plan, release.id)
        rule = watch.build_rule()
        with self.engine.connect() as conn:
            # A search with these keywords that watches at least as much: the user's own
            # (no rule), or the one an interrupted run made (the same rule). Adopt it.
            same = [
                s
                for s in searches.list_searches(conn, chat_id=self.chat_id)
                if s.query.casefold() == plan.query.casefold() and s.rule in (None, rule)
            ]
        if same:
            watch.search_id = same[0].id
            watch.rule = rule if same[0].rule == rule else None
            self.counts.already += 1
        else:
            search = self.service.add(plan.query, rule=rule, name=plan.name, chat_id=self.chat_id)
            watch.search_id = search.id
            watch.rule = rule
            self.counts.created += 1
            self.counts.created_ids.append(search.id)
        self._remember(plan.key, watch)

    def _remember(self, key: str, watch: _Watch) -> None:
        with self.engine.begin() as conn:
            kv.set_value(conn, key, watch.to_json())


async def sync_wantlist(
    *,
    engine: Engine,
    discogs: WantlistSource,
    username: str,
    clock: Callable[[], datetime],
    group_by_artist: bool = False,
    progress: Progress | None = None,
    service: SearchService | None = None,
    limits: PagingLimits = DEFAULT_LIMITS,
    sleep: Sleep = asyncio.sleep,
    chat_id: int | None = None,
) -> WantlistResult:
    """Read `username`'s Discogs wantlist, store its releases, create watches for them.

    `progress(wants_read, wants_total)` is called after each page. `service` decides the
    new searches' defaults (poll interval, minimum deal score); by default a plain
    `SearchService(engine, clock)`. `sleep` is how 429 waits wait (injected by tests).
    Raises NotFoundError with a clear message for an unknown user or a private wantlist,
    and passes other Discogs errors on after recording the failed job run (the pages read
    so far are kept, and the next run resumes after them).
    """
    name = username.strip()
    sync = _Sync(
        engine=engine,
        discogs=discogs,
        username=name,
        clock=clock,
        group_by_artist=group_by_artist,
        service=service or SearchService(engine=engine, clock=clock),
        progress=progress,
        chat_id=chat_id,
    )
    with engine.begin() as conn:
        run_id = job_runs.start_job(conn, JOB_TYPE, f"discogs:{name}", clock())
        resume = kv.get_value(conn, _resume_key(name)) if name else None
    start = int(resume) if resume and resume.isdigit() and int(resume) > 1 else 1
    if start > 1:
        log.info("wantlist sync for %s resumes at page %d", name, start)
    counts = sync.counts
    try:
        outcome = await page_backwards(
            sync.fetch, start, now=clock(), limits=limits, on_page=sync.on_page, sleep=sleep
        )
    except Exception as exc:
        _finish(engine, run_id, clock(), counts, error=str(exc) or type(exc).__name__)
        raise
    reason = outcome.reason
    error: str | None = None
    with engine.begin() as conn:
        if reason.complete:
            kv.set_value(conn, _resume_key(name), None)
        else:
            kv.set_value(conn, _resume_key(name), str(outcome.state.cursor or start))
    if reason is StopReason.RATE_LIMITED:
        error = (
            f"stopped after {counts.fetched} wants: Discogs kept answering 429 (too many "
            "requests). Run the sync again later; it resumes where it stopped."
        )
    _finish(engine, run_id, clock(), counts, error=error)
    log.info(
        "wantlist_sync user=%s fetched=%d created=%d widened=%d already=%d stop=%s",
        name,
        counts.fetched,
        counts.created,
        counts.widened,
        counts.already,
        reason.value,
    )
    return WantlistResult(
        username=name,
        stop_reason=reason,
        fetched=counts.fetched,
        total=counts.total,
        releases_stored=counts.stored,
        searches_created=counts.created,
        searches_widened=counts.widened,
        already_watched=counts.already,
        declined=counts.declined,
        malformed=counts.malformed,
        created_search_ids=tuple(counts.created_ids),
    )


def _finish(
    engine: Engine, run_id: int, now: datetime, counts: _Counts, *, error: str | None
) -> None:
    with engine.begin() as conn:
        job_runs.finish_job(
            conn,
            run_id,
            now,
            fetched=counts.fetched,
            inserted=counts.created,
            skipped=counts.fetched - counts.created - counts.widened,
            error=error,
        )
