"""Property-based fuzzing of the admin API from its own OpenAPI document.

Schemathesis generates requests (valid and invalid) for every documented operation and
sends them, with the admin token, to the ASGI app over a real SQLite database. Whatever
it sends, the service must never answer with a server error: bad input is a 4xx that
names the field. Needs schemathesis 4 (skipped, saying so, where it is not installed).
Its pytest plugin's lazy fixtures do not work with pytest 9, so the cases are drawn from
the schema's Hypothesis strategy inside an ordinary test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy.engine import Engine

from vinyl_detective.api.app import create_app
from vinyl_detective.api.ingest_schemas import IngestResult
from vinyl_detective.domain.lifecycle import Actor
from vinyl_detective.domain.models import Listing
from vinyl_detective.storage import deals, listings, searches
from vinyl_detective.storage.db import open_database

schemathesis = pytest.importorskip(
    "schemathesis",
    minversion="4.0",
    reason="schemathesis>=4 is not installed (a dev dependency the lead adds to pyproject)",
)

TOKEN = "schemathesis-admin-token"
NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)


@pytest.fixture
def api_engine(tmp_path: Any) -> Iterator[Engine]:
    engine = open_database(f"sqlite:///{tmp_path / 'vd.db'}")
    with engine.begin() as conn:
        listing = Listing(
            item_id="fuzz-1",
            title="John Coltrane Blue Train LP",
            price=Decimal("30.00"),
            currency="USD",
            url="https://www.ebay.com/itm/1",
        )
        listings.insert_new(conn, listing, search_id=None, now=NOW)
        deals.create_found_from_listing(conn, "fuzz-1", NOW, Actor.CLI)
        searches.add_search(conn, query="blue note", now=NOW)
    yield engine
    engine.dispose()


@pytest.fixture
def api_schema(api_engine: Engine) -> Any:
    async def ingest(found: list[Listing]) -> IngestResult:
        with api_engine.begin() as conn:
            new = sum(listings.insert_new(conn, lst, search_id=None, now=NOW) for lst in found)
        return IngestResult(
            received=len(found), new=new, matched=0, deals=0, alerted=0, skipped=len(found) - new
        )

    async def trigger(search_id: int) -> str:
        return f"poll search={search_id}"

    app = create_app(
        engine=api_engine,
        admin_token=TOKEN,
        ingest=ingest,
        trigger_search=trigger,
        publisher_status=lambda: {"publisher": "log", "healthy": True},
        clock=lambda: NOW,
    )
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_no_request_makes_the_api_fail_with_a_server_error(api_schema: Any) -> None:
    mode = schemathesis.GenerationMode
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 8  # health, 4 deal routes, explain, trigger, webhook
    for operation in operations:  # each operation gets its own share of examples
        cases = operation.as_strategy(mode.POSITIVE) | operation.as_strategy(mode.NEGATIVE)

        @given(case=cases)
        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_without_a_server_error(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
            assert response.status_code < 500, (case.method, case.path, response.text)

        answers_without_a_server_error()
