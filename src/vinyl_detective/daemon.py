"""The daemon: the one place that wires everything together, and its loops.

    Daemon(settings).run(stop)      runs until `stop` is set (SIGINT/SIGTERM)
    Daemon(settings).run(once=True) one cycle: every due search once, then exit

Loops: poll due searches, retry undelivered alerts (every RETRY_PASS_SECONDS, on their
own: a poll held up by a slow eBay or Discogs never holds up a redelivery), refresh stale
prices (daily check), clean up (daily), the Telegram bot (long polling), and the event
outbox relay. A failing search is logged and the others go on; when the eBay budget is
spent, polling pauses until it resets. On stop, running work finishes, then clients and
the database close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy.engine import Engine
from telegram.ext import Application

from vinyl_detective.activity import MinuteSummary
from vinyl_detective.activity import log as activity_log
from vinyl_detective.api.server import admin_server, api_url, listen_on
from vinyl_detective.bot_backend import BotCommands
from vinyl_detective.clock import utcnow
from vinyl_detective.config import Settings, redact_url
from vinyl_detective.domain.currency import APPROXIMATE_USD_RATES, ExchangeRates
from vinyl_detective.domain.models import Listing, SavedSearch
from vinyl_detective.events import OutboxRelay, publisher_for
from vinyl_detective.jobs.cleanup import cleanup
from vinyl_detective.jobs.deal_watch import DealWatch, watch_open_deals
from vinyl_detective.jobs.ingest import ingest_listings
from vinyl_detective.jobs.loops import drain, every
from vinyl_detective.jobs.pipeline import DealPipeline, PipelineCounts
from vinyl_detective.jobs.refresh import refresh_stale_prices
from vinyl_detective.jobs.routing import SearchRoutes
from vinyl_detective.jobs.scheduler import Scheduler
from vinyl_detective.jobs.seed import seed_catalog
from vinyl_detective.jobs.tracking import expire_stale_deals
from vinyl_detective.notify.channels import (
    all_channel_specs,
    parse_channel_urls,
)
from vinyl_detective.notify.dispatch import AlertDispatcher
from vinyl_detective.notify.recipients import AlertRecipients
from vinyl_detective.notify.telegram import TelegramNotifier
from vinyl_detective.notify.telegram_bot import (
    BotBackend,
    build_bot_application,
    initialize_bot,
    start_bot,
    stop_bot,
)
from vinyl_detective.service import SearchService
from vinyl_detective.sources.discogs import DiscogsClient
from vinyl_detective.sources.ebay import EbayClient
from vinyl_detective.sources.http_owner import tls_context
from vinyl_detective.sources.ratelimit import HeaderRateLimiter
from vinyl_detective.storage import job_runs, kv, searches
from vinyl_detective.storage.backup import DAEMON_OWNER_KEY
from vinyl_detective.storage.bulk_import import ensure_fulltext
from vinyl_detective.storage.db import open_database
from vinyl_detective.storage.usage import DbCallBudget

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

    from vinyl_detective.api.app import IngestResult

log = logging.getLogger("vinyl_detective")

# When the daemon last started and stopped cleanly, for `status`.
STARTED_AT_KEY = "daemon:started_at"
STOPPED_AT_KEY = "daemon:stopped_at"
# On stop, running work gets this long to finish before it is cancelled.
STOP_GRACE_SECONDS = 4.0
# How often the daemon looks for undelivered alerts that are due again.
RETRY_PASS_SECONDS = 10.0


@dataclass
class CycleSummary:
    searches: int = 0
    failed: int = 0
    counts: PipelineCounts = field(default_factory=PipelineCounts)


class Daemon:
    """Owns the clients, the database and the loops for one run of the product."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        tick_seconds: float = 20.0,
        concurrency: int = 3,
        refresh_every: timedelta = timedelta(days=1),
        cleanup_every: timedelta = timedelta(days=1),
        deal_watch_every: timedelta = timedelta(hours=1),
        on_cycle: Callable[[CycleSummary], Awaitable[None]] | None = None,
        skip_initial: bool = False,
        scheduler_options: Mapping[str, Any] | None = None,
        bot_commands: bool = True,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.concurrency = concurrency
        self.refresh_every = refresh_every
        self.cleanup_every = cleanup_every
        self.deal_watch_every = deal_watch_every
        self.on_cycle = on_cycle
        self.skip_initial = skip_initial
        # Only one process may long-poll Telegram for commands; extra workers only send.
        self.bot_commands = bot_commands
        self.scheduler_options = dict(scheduler_options or {})
        self.paused_until: datetime | None = None
        self.last_cycle: CycleSummary | None = None
        self.minute = MinuteSummary()
        # One retry pass at a time in this process (the poll loop's and the retry loop's).
        self._retrying = asyncio.Lock()
        # Set while the retry loop runs: the poll loop's cycles then leave retries to it.
        self._retry_loop_running = False
        # The built-in approximate rates, with the configured ones (FX_RATES) over them.
        self.rates = ExchangeRates({**APPROXIMATE_USD_RATES, **settings.fx_rates})
        self.engine: Engine
        self.budget: DbCallBudget
        self.ebay: EbayClient
        self.discogs: DiscogsClient
        self.bot_app: Application | None = None  # type: ignore[type-arg]
        self.notifier: TelegramNotifier | None = None
        self.recipients: AlertRecipients
        self.pipeline: DealPipeline
        self.searches: SearchService
        self.relay: OutboxRelay
        self.routes: SearchRoutes
        self.scheduler: Scheduler
        self._events_http: httpx.AsyncClient | None = None

    # -- wiring -------------------------------------------------------------------------

    async def open(self) -> None:
        s = self.settings
        self.engine = open_database(s.database_url)
        if ensure_fulltext(self.engine):  # an interrupted bulk import left it half-done
            log.warning("the catalog's full-text index was repaired")
        with self.engine.begin() as conn:
            kv.set_value(conn, STARTED_AT_KEY, self.clock().isoformat())
            kv.set_value(conn, STOPPED_AT_KEY, None)
            kv.set_value(conn, DAEMON_OWNER_KEY, job_runs.current_owner())  # for `restore`
        parse_channel_urls(s.apprise_urls)  # a bad URL stops the start, named (redacted)
        with self.engine.begin() as conn:
            interrupted = job_runs.fail_interrupted_runs(conn, self.clock())
        if interrupted:
            log.warning(
                "%d job run(s) were interrupted by the last stop; marked failed", interrupted
            )
        self.budget = DbCallBudget(self.engine, "ebay", s.ebay_daily_call_budget, self.clock)
        self.ebay = EbayClient(
            s.ebay_app_id,
            s.ebay_cert_id,
            base_url=s.ebay_api_base_url,
            marketplace=s.ebay_marketplace,
            campaign_id=s.ebay_campaign_id,
            budget=self.budget,
        )
        self.discogs = DiscogsClient(
            s.discogs_token,
            base_url=s.discogs_api_base_url,
            user_agent=s.user_agent,
            limiter=HeaderRateLimiter(min_interval=0),
        )
        if s.telegram_token:
            self.bot_app = build_bot_application(
                s.telegram_token,
                self._bot_backend(),
                allowed_chat_ids=s.telegram_allowed_chat_ids,
                base_url=s.telegram_api_base_url,
            )
            await initialize_bot(self.bot_app)
            self.notifier = TelegramNotifier(self.bot_app.bot)
        if s.events_url.strip().lower().startswith(("http://", "https://")):
            # The events webhook's client (the log and RabbitMQ publishers need none).
            self._events_http = httpx.AsyncClient(timeout=10.0, verify=tls_context())
        self.relay = OutboxRelay(
            self.engine,
            publisher_for(s.events_url or None, http=self._events_http, secret=s.events_secret),
        )
        self.recipients = AlertRecipients(
            self.engine,
            notifier=self.notifier,
            allowed_chat_ids=s.telegram_allowed_chat_ids,
            apprise_urls=s.apprise_urls,
            dispatcher=AlertDispatcher(self.engine, self.clock),
            rates=self.rates,
            clock=self.clock,
        )
        with self.engine.connect() as conn:
            every_search = searches.list_searches(conn)
        for spec in all_channel_specs(s.apprise_urls, every_search).values():
            if spec.digest is not None:  # so queued digests go out after a restart too
                self.recipients.apprise_channel(spec)
        self.searches = SearchService(
            self.engine,
            self.clock,
            default_poll_minutes=s.poll_minutes,
            default_marketplace=s.ebay_marketplace,
        )
        self.pipeline = DealPipeline(
            engine=self.engine,
            prices=self.discogs,
            items=self.ebay,
            dispatcher=self.recipients.dispatcher,
            channels_for=self.recipients.channels_for,
            rates=self.rates,
            clock=self.clock,
            price_max_age=timedelta(days=s.discogs_refresh_days),
            price_drop_step=s.price_drop_points / 100,
        )
        self.routes = SearchRoutes(self.engine, s.global_rule)
        self.scheduler = Scheduler(
            engine=self.engine,
            ebay=self.ebay,
            pipeline=self.pipeline,
            compile_routes=self.routes,
            clock=self.clock,
            budget=self.budget,
            marketplace=s.ebay_marketplace,
            concurrency=self.concurrency,
            skip_initial=self.skip_initial,
            prepare=self._prepare_search,
            **self.scheduler_options,
        )

    def _bot_backend(self) -> BotBackend:
        return BotCommands(self)

    async def close(self) -> None:
        if hasattr(self, "engine"):
            with contextlib.suppress(Exception), self.engine.begin() as conn:
                kv.set_value(conn, STOPPED_AT_KEY, self.clock().isoformat())
                kv.set_value(conn, DAEMON_OWNER_KEY, None)
        if self.bot_app is not None:
            with contextlib.suppress(Exception):
                await self.bot_app.shutdown()
        for client in (
            getattr(self, "ebay", None),
            getattr(self, "discogs", None),
            self._events_http,
        ):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()
        if hasattr(self, "engine"):
            self.engine.dispose()

    # -- routing ------------------------------------------------------------------------

    def global_rule(self) -> str | None:
        """The global rule in force (for the bot and the API)."""
        return self.routes.global_rule()

    # -- one cycle ----------------------------------------------------------------------

    async def _prepare_search(self, search: SavedSearch) -> None:
        """Before a search first runs: make sure the catalog knows what it looks for."""
        await seed_catalog(
            engine=self.engine, discogs=self.discogs, query=search.query, clock=self.clock
        )

    async def cycle(self) -> CycleSummary:
        """Run everything the scheduler has due, then the leftovers: listings whose
        evaluation was interrupted, undelivered alerts, digests whose period is over.
        Each part fails on its own: none of them stops the others or the next cycle."""
        summary = CycleSummary()
        report = await self.scheduler.run_due(self.clock())
        leftovers_alerted = 0  # alerts these sent count with the polls' (the minute line)
        for name, job, counts_alerts in (
            ("unfinished listings", self._finish_listings, True),
            ("alert retries", self._retry_unless_looping, True),
            ("digests", self._flush_digests, False),  # their deals were counted when queued
        ):
            try:
                done = await job()
            except Exception:
                log.exception("%s failed; tried again next cycle", name)
            else:
                leftovers_alerted += done if counts_alerts else 0
        self.paused_until = report.paused_until
        summary.searches = report.query_polls + report.firehose_polls + report.backfills
        summary.failed = report.failed
        summary.counts = report.counts
        summary.counts.alerted += leftovers_alerted
        self.last_cycle = summary
        if self.on_cycle is not None:
            await self.on_cycle(summary)
        return summary

    async def _poll_loop(self, stop: asyncio.Event) -> None:
        """Run the scheduler until `stop`, waking when the next job is due (at most a tick)."""
        while not stop.is_set():
            try:
                self._count_for_the_minute_line(await self.cycle())
            except Exception:
                log.exception("scheduler cycle failed; trying again shortly")
            wait = (self.scheduler.next_wakeup(self.clock()) - self.clock()).total_seconds()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=min(max(wait, 1.0), self.tick_seconds))

    def _count_for_the_minute_line(self, summary: CycleSummary) -> None:
        now = self.clock()
        self.minute.add(summary.searches, summary.failed, summary.counts, now)
        line = self.minute.take(now, self.budget)
        if line is not None:
            activity_log.info("%s", line)

    async def _finish_listings(self) -> int:
        counts = await self.pipeline.process_unfinished(self.routes.active())
        return counts.alerted

    async def _flush_digests(self) -> int:
        channels = self.recipients.apprise_channels
        if not channels:  # no Apprise channel, so no digest to send
            return 0
        from vinyl_detective.notify.digest import flush_digests

        return await flush_digests(self.engine, channels, self.clock())

    async def _retry_unless_looping(self) -> int:
        return 0 if self._retry_loop_running else await self.retry_pending_alerts()

    async def _retry_loop(self, stop: asyncio.Event) -> None:
        """The retry pass every RETRY_PASS_SECONDS, independent of the scheduler's cycles."""
        await every(stop, RETRY_PASS_SECONDS, self._retry_and_count)

    async def _retry_and_count(self) -> int:
        """A retry pass of the retry loop; what it delivers counts in the minute line."""
        sent = await self.retry_pending_alerts()
        if sent:
            self.minute.add(0, 0, PipelineCounts(alerted=sent), self.clock())
        return sent

    async def retry_pending_alerts(self) -> int:
        """Deliver alerts that were claimed but not sent (see AlertRecipients.retry_pending);
        one pass at a time in this process."""
        async with self._retrying:
            return await self.recipients.retry_pending()

    # -- what the admin API calls -------------------------------------------------------

    async def ingest(self, found: list[Listing]) -> IngestResult:
        """Listings from an external scraper: the same path as eBay's, against every search."""
        from vinyl_detective.api.app import IngestResult

        counts = await ingest_listings(
            self.engine, self.pipeline, self.routes.active(), found, self.clock
        )
        return IngestResult.from_counts(counts)

    async def trigger_search(self, search_id: int) -> str:
        """Make a search due now; the poll loop runs it within a tick."""
        return self.searches.run_now(search_id)

    def publisher_status(self) -> dict[str, object]:
        return asdict(self.relay.publisher_status())

    def api_app(self) -> FastAPI:
        # FastAPI and the dashboard are loaded only when something serves them.
        from vinyl_detective.api.app import create_app

        return create_app(
            engine=self.engine,
            admin_token=self.settings.admin_token,
            ingest=self.ingest,
            trigger_search=self.trigger_search,
            publisher_status=self.publisher_status,
            clock=self.clock,
            rates=self.rates,
            global_rule=self.global_rule,
        )

    # -- the loops ----------------------------------------------------------------------

    async def run(
        self,
        stop: asyncio.Event | None = None,
        *,
        once: bool = False,
        api_port: int | None = None,
        poll: bool = True,
        force: asyncio.Event | None = None,
    ) -> None:
        """Run until `stop`; `api_port` also serves the admin API and dashboard there;
        `poll=False` serves without polling (the `serve` command)."""
        stop = stop or asyncio.Event()
        api: uvicorn.Server | None = None
        # The API's port first: a busy one stops the start with one line, before any work.
        api_socket = listen_on(self.settings.api_host, api_port) if api_port is not None else None
        try:
            await self.open()
            if once:
                summary = await self.cycle()
                try:  # from cron too, open deals get their item lookups (when due)
                    await self.watch_deals()
                except Exception:
                    log.exception("watching open deals failed; tried again next run")
                await self.relay.run_once()
                log.info(
                    "cycle done: searches=%d failed=%d %s",
                    summary.searches,
                    summary.failed,
                    summary.counts.summary(),
                )
                return
            if self.bot_app is not None and self.bot_commands:
                await start_bot(self.bot_app)
            tasks = [asyncio.create_task(self.relay.run(stop), name="events")]
            if api_socket is not None:
                api_port = int(api_socket.getsockname()[1])
                api = admin_server(self.api_app(), self.settings.api_host, api_port)
                tasks.append(asyncio.create_task(api.serve(sockets=[api_socket]), name="api"))
                log.info("admin API and dashboard on %s", api_url(self.settings.api_host, api_port))
            self._retry_loop_running = poll  # the cycles leave retries to their own loop
            if poll:
                tasks.append(asyncio.create_task(self._poll_loop(stop), name="poll"))
                tasks.append(asyncio.create_task(self._retry_loop(stop), name="alert retries"))
                for name, period, job in (
                    ("refresh", self.refresh_every, self.refresh),
                    ("cleanup", self.cleanup_every, self.cleanup),
                    ("deal watch", self.deal_watch_every, self.watch_deals),
                ):
                    loop = every(stop, period.total_seconds(), job)
                    tasks.append(asyncio.create_task(loop, name=name))
            log.info(
                "Vinyl Detective running: %d active search(es), database %s",
                len(self.searches.list()),
                redact_url(self.settings.database_url),
            )
            await stop.wait()
            if api is not None:
                api.should_exit = True
            # Current work finishes (each loop checks `stop` between jobs), unless it takes
            # longer than the grace or the stop is forced: then it is cancelled.
            pending = await drain(tasks, force or asyncio.Event(), STOP_GRACE_SECONDS)
            if pending and api is not None:
                api.force_exit = True
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if self.bot_app is not None:
                with contextlib.suppress(Exception):
                    await stop_bot(self.bot_app)
        finally:
            if api_socket is not None:
                api_socket.close()
            await self.close()
            log.info("Vinyl Detective stopped.")

    async def refresh(self) -> object:
        return await refresh_stale_prices(
            engine=self.engine,
            prices=self.discogs,
            clock=self.clock,
            max_age=timedelta(days=self.settings.discogs_refresh_days),
        )

    async def watch_deals(self) -> DealWatch:
        """Item lookups of open deals: a lower price is re-scored and alerted, an ended or
        sold listing closes its deal (jobs/deal_watch.py)."""
        return await watch_open_deals(
            engine=self.engine,
            items=self.ebay,
            pipeline=self.pipeline,
            routes=self.routes.active(),
            clock=self.clock,
            budget=self.budget,
        )

    async def cleanup(self) -> object:
        """Daily housekeeping: old listings and alerts, stale lifecycle states."""
        expire_stale_deals(self.engine, self.clock())
        return cleanup(self.engine, self.clock())
