"""The daily price refresh and the daemon's start: what an operator relies on."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from tests.marketplace import PRICES, RELEASES, running_market

from vinyl_detective.daemon import Daemon
from vinyl_detective.domain.models import PriceGuide
from vinyl_detective.errors import AuthError
from vinyl_detective.fakes.discogs import FakeDiscogs
from vinyl_detective.jobs.refresh import refresh_stale_prices
from vinyl_detective.sources.discogs import DiscogsClient
from vinyl_detective.sources.discogs_parse import parse_release
from vinyl_detective.sources.ratelimit import HeaderRateLimiter
from vinyl_detective.storage import catalog, job_runs
from vinyl_detective.storage.schema import metadata


async def test_refresh_fetches_only_stale_prices_and_records_the_run(
    engine: Engine, now: datetime
) -> None:
    fake = FakeDiscogs(RELEASES, price_suggestions=PRICES, token="t")
    with engine.begin() as conn:
        catalog.upsert_releases(conn, [parse_release(r) for r in RELEASES], now)
        old = PriceGuide("USD", {"VG+": Decimal("1.00")})
        catalog.set_prices(conn, 1001, old, now - timedelta(days=10))  # stale
        catalog.set_prices(conn, 1002, old, now - timedelta(days=1))  # fresh
        # 1003 was never priced: stale too
    async with DiscogsClient(
        "t",
        base_url="http://discogs",
        user_agent="Tests/1.0",
        http=httpx.AsyncClient(transport=httpx.ASGITransport(fake.app)),
        limiter=HeaderRateLimiter(min_interval=0),
    ) as discogs:
        refreshed = await refresh_stale_prices(
            engine=engine, prices=discogs, clock=lambda: now, max_age=timedelta(days=7)
        )
    assert refreshed == 2
    with engine.connect() as conn:
        moanin = catalog.get_release(conn, 1001)
        kind_of_blue = catalog.get_release(conn, 1002)
        runs = job_runs.recent_runs(conn, job_type="refresh")
    assert moanin is not None
    assert moanin.prices is not None
    assert moanin.prices.by_condition["VG+"] == Decimal("120.00")  # Discogs' current figure
    assert kind_of_blue is not None
    assert kind_of_blue.prices is not None
    assert kind_of_blue.prices.by_condition["VG+"] == Decimal("1.00")  # untouched
    assert [(r.status, r.inserted) for r in runs] == [("success", 2)]


async def test_the_daemon_creates_its_database_on_first_start(tmp_path: Path) -> None:
    with running_market(tmp_path, datetime.now().astimezone()) as market:
        await Daemon(market.settings).run(once=True)
    database = tmp_path / "vd.db"
    assert database.exists()
    engine = sa.create_engine(f"sqlite:///{database}")
    assert set(metadata.tables) <= set(sa.inspect(engine).get_table_names())
    engine.dispose()


async def test_a_rejected_telegram_token_stops_the_start_with_what_to_fix(
    tmp_path: Path,
) -> None:
    with (
        running_market(tmp_path, datetime.now().astimezone(), telegram_token="1:WRONG") as m,
        pytest.raises(AuthError) as caught,
    ):
        await Daemon(m.settings).run(once=True)
    assert "TELEGRAM_TOKEN" in str(caught.value)
    assert "WRONG" not in str(caught.value)
