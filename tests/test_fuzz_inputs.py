"""Bad input from outside, fuzzed: a clear error or nothing, never a crash, a hang or loss.

Hypothesis draws what a careless or hostile peer could send: the ingest webhook's JSON
(odd types, huge and unicode values, SQL and full-text syntax in titles), search keywords,
rule expressions (deep nesting, long strings, pathological regexes), bot button payloads,
Discogs dump XML (cut short, wrong encoding, entity expansion, external entities) and
Spotify ZIPs (path traversal, random members). The admin API's documented operations are
fuzzed from its OpenAPI schema in test_api_schemathesis.py.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from vinyl_detective.api.app import create_app
from vinyl_detective.api.ingest_schemas import IngestResult
from vinyl_detective.domain.currency import ExchangeRates
from vinyl_detective.domain.models import Listing, Release
from vinyl_detective.domain.query import query_matches
from vinyl_detective.domain.rules import parse_rule
from vinyl_detective.errors import DumpError, RuleSyntaxError
from vinyl_detective.jobs.pipeline import DealPipeline, Route
from vinyl_detective.notify.cards import DEAL_ACTIONS, parse_callback_data
from vinyl_detective.notify.dispatch import AlertDispatcher
from vinyl_detective.sources.dump import iter_dump_releases
from vinyl_detective.sources.spotify_export import SpotifyExportError, read_listening_history
from vinyl_detective.storage import catalog, fulltext, listings
from vinyl_detective.storage.db import open_database
from vinyl_detective.storage.schema import saved_searches

NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
TOKEN = "fuzz-admin-token"
FAST = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# Text a title or keyword may hold: SQL, FTS5 and tsquery syntax, markup, odd unicode.
HOSTILE = st.sampled_from(
    [
        "'; DROP TABLE listings; --",
        '" OR 1=1 --',
        'NEAR("blue" "note", 2)',
        "blue* OR NOT note^",
        "title:coltrane AND (",
        "-blue -note",
        "a & b | !c <-> d:*",
        "<script>alert(1)</script>",
        "\x00\x01\x1f",
        "\u202eLP evil\u202c",
        "🎷" * 50,
        "Ｂｌｕｅ Ｎｏｔｅ",
        "",
        " ",
    ]
)
TEXT = st.one_of(HOSTILE, st.text(max_size=300), st.text(min_size=1000, max_size=5000))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)


# -- the ingest webhook, through the real pipeline ---------------------------------------


class Recorder:
    recipient = "fuzz:recorder"

    async def send(self, deal: Any) -> None:
        return None


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_database(f"sqlite:///{tmp_path / 'fuzz.db'}")
    with engine.begin() as conn:
        catalog.upsert_releases(
            conn,
            [
                Release(
                    id=1577,
                    artist="John Coltrane",
                    title="Blue Train",
                    catalog_nos=("BLP 1577",),
                    format="Vinyl",
                )
            ],
            NOW,
        )
    yield engine
    engine.dispose()


class NoPrices:
    """A price oracle that knows nothing (matching and storing are what is fuzzed)."""

    async def price_guide(self, release_id: int) -> Any:
        return None


def post(engine: Engine, body: bytes) -> httpx.Response:
    async def run() -> httpx.Response:
        pipeline = DealPipeline(
            engine=engine,
            prices=NoPrices(),
            items=None,
            dispatcher=AlertDispatcher(engine, lambda: NOW),
            channels_for=lambda search: [Recorder()],
            rates=ExchangeRates(),
            clock=lambda: NOW,
        )

        async def ingest(found: list[Listing]) -> IngestResult:
            counts = await pipeline.process(found, [Route(None, None)], check_keywords=False)
            return IngestResult.from_counts(counts)

        app = create_app(engine=engine, admin_token=TOKEN, ingest=ingest, clock=lambda: NOW)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://vd.test") as http:
            return await http.post(
                "/webhooks/listings",
                content=body,
                headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            )

    return asyncio.run(run())


@FAST
@given(body=JSON)
def test_any_json_to_the_webhook_gets_an_answer_never_a_server_error(
    engine: Engine, body: Any
) -> None:
    response = post(engine, json.dumps(body).encode())
    assert response.status_code < 500, response.text
    assert isinstance(response.json(), dict)


@FAST
@given(raw=st.binary(max_size=400))
def test_bytes_that_are_not_json_are_named_as_such(engine: Engine, raw: bytes) -> None:
    response = post(engine, raw)
    assert response.status_code < 500, response.text


@FAST
@given(
    title=TEXT.filter(lambda t: t.strip() != ""),
    item=st.text(alphabet="abcdefghij0123456789|-_", min_size=1, max_size=40),
    price=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2),
)
def test_a_listing_with_any_title_is_stored_as_sent(
    engine: Engine, title: str, item: str, price: Decimal
) -> None:
    body = [{"item_id": item, "title": title, "price": {"value": str(price), "currency": "USD"}}]
    response = post(engine, json.dumps(body).encode())
    if response.status_code == 422:  # refused as a whole, saying what is wrong
        assert response.json()["detail"]
        return
    assert response.status_code == 200, response.text
    with engine.connect() as conn:
        stored = listings.get_listing(conn, item)
    assert stored is not None  # no listing is lost on the way in
    assert stored.listing.title == title.strip() or stored.listing.title == title


@FAST
@given(words=st.lists(TEXT, max_size=8))
def test_full_text_candidates_take_any_words(engine: Engine, words: list[str]) -> None:
    with engine.connect() as conn:
        found = fulltext.candidate_release_ids(conn, words, 10)
    assert all(isinstance(rid, int) for rid in found)


@given(query=TEXT, title=TEXT)
@settings(max_examples=200, deadline=None, database=None)
def test_search_keywords_of_any_shape_match_or_not_without_error(query: str, title: str) -> None:
    assert query_matches(query, title) in (True, False)


def test_a_search_with_sql_in_its_keywords_is_stored_verbatim(engine: Engine) -> None:
    from vinyl_detective.service import SearchService

    service = SearchService(engine, lambda: NOW)
    saved = service.add("'; DROP TABLE saved_searches; --")
    with engine.connect() as conn:
        kept = conn.execute(sa.select(saved_searches.c.query)).scalars().all()
    assert kept == [saved.query]


# -- rule expressions ---------------------------------------------------------------------


def _parsed_or_refused(text: str) -> Any:
    try:
        return parse_rule(text)
    except RuleSyntaxError as exc:
        return exc


@pytest.mark.parametrize("depth", [50, 500, 20_000])
def test_deeply_nested_rules_parse_or_are_refused_never_a_recursion_crash(depth: int) -> None:
    for text in (
        "(" * depth + "price < 1" + ")" * depth,
        "NOT " * depth + "price < 1",
        " AND ".join(["price < 1"] * depth),
    ):
        outcome = _parsed_or_refused(text)
        if isinstance(outcome, RuleSyntaxError):
            assert outcome.position >= 0
            assert len(str(outcome).splitlines()) <= 3
        else:
            assert outcome.evaluate({"price": Decimal("0.5")}) in (True, False)


def test_a_megabyte_long_rule_is_refused_saying_how_long_a_rule_may_be() -> None:
    outcome = _parsed_or_refused('title contains "' + "x" * 1_000_000 + '"')
    assert isinstance(outcome, RuleSyntaxError)
    assert "1,000,017 characters long, over the limit of 4,000: shorten it" in outcome.message
    assert len(str(outcome)) < 300  # says what to fix, without repeating the rule


@pytest.mark.parametrize("pattern", ["(a+)+$", "(a|aa)+$", "(.*a){12}", "^(\\\\w+\\\\s?)*$"])
def test_a_catastrophic_regex_gives_up_at_its_time_limit(pattern: str) -> None:
    rule = parse_rule(f'title matches "{pattern}"')
    timed_out: list[str] = []
    began = time.monotonic()
    passed = rule.evaluate(
        {"title": "a" * 30 + "!" + " word" * 20},
        regex_timeout=0.05,
        on_regex_timeout=lambda field, pattern: timed_out.append(pattern),
    )
    assert time.monotonic() - began < 2.0
    assert passed in (True, False)


# -- bot button payloads ------------------------------------------------------------------


@given(
    data=st.one_of(st.text(max_size=80), st.sampled_from(["track:", ":x", "track:::", "sold:1"]))
)
@settings(max_examples=300, deadline=None, database=None)
def test_any_button_payload_is_a_known_action_or_ignored(data: str) -> None:
    parsed = parse_callback_data(data)
    if parsed is not None:
        action, ref = parsed
        assert action in DEAL_ACTIONS
        assert ref


# -- Discogs dump XML ---------------------------------------------------------------------

DUMP = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<releases>'
    + b"".join(
        b'<release id="%d" status="Accepted"><artists><artist><name>Art %d</name></artist>'
        b'</artists><title>Album %d</title><labels><label name="L" catno="C-%d"/></labels>'
        b'<formats><format name="Vinyl" qty="1"/></formats><released>1960</released>'
        b"</release>" % (n, n, n, n)
        for n in range(1, 30)
    )
    + b"</releases>"
)


def read_dump(data: bytes, tmp_path: Path, name: str = "dump.xml") -> list[Release] | DumpError:
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    try:
        return list(iter_dump_releases(path))
    except DumpError as exc:
        return exc


@FAST
@given(cut=st.integers(min_value=0, max_value=len(DUMP) - 1))
def test_a_dump_cut_anywhere_is_a_dump_error_or_its_whole_releases(
    tmp_path: Path, cut: int
) -> None:
    result = read_dump(DUMP[:cut], tmp_path, "cut.xml.gz")
    if isinstance(result, DumpError):
        assert "\n" not in str(result).strip()
    else:  # only cuts after the last release end can read as complete
        assert len(result) <= 29


def test_a_dump_in_another_encoding_than_it_says_is_refused_or_read(tmp_path: Path) -> None:
    latin = DUMP.replace(b"Album 1<", "Albüm 1<".encode("latin-1"))
    result = read_dump(latin, tmp_path)
    assert isinstance(result, DumpError | list)
    utf16 = DUMP.decode().encode("utf-16")
    assert isinstance(read_dump(utf16, tmp_path), DumpError | list)


def test_entity_expansion_does_not_blow_up(tmp_path: Path) -> None:
    laughs = b'<!DOCTYPE releases [<!ENTITY a "' + b"ha" * 10 + b'">'
    for n in range(1, 12):
        previous = b"&a;" if n == 1 else b"&a%d;" % (n - 1)
        laughs += b'<!ENTITY a%d "%s">' % (n, previous * 10)
    bomb = DUMP.replace(b"<releases>", laughs + b"]><releases>", 1).replace(
        b"<title>Album 1</title>", b"<title>&a11;</title>"
    )
    began = time.monotonic()
    result = read_dump(bomb.replace(b'<?xml version="1.0" encoding="UTF-8"?>\n', b""), tmp_path)
    assert time.monotonic() - began < 10
    if isinstance(result, list):
        assert all(len(r.title) < 1_000_000 for r in result)


def test_an_external_entity_never_reads_a_local_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-TOKEN")
    xxe = DUMP.replace(
        b"<releases>",
        b'<!DOCTYPE releases [<!ENTITY x SYSTEM "file://%s">]><releases>' % str(secret).encode(),
        1,
    ).replace(b"<title>Album 1</title>", b"<title>&x;</title>")
    result = read_dump(xxe.replace(b'<?xml version="1.0" encoding="UTF-8"?>\n', b""), tmp_path)
    if isinstance(result, list):
        assert all("TOP-SECRET" not in r.title for r in result)


# -- Spotify ZIPs -------------------------------------------------------------------------


def zipped(members: dict[str, bytes], path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


ROW = {
    "ts": "2021-03-01T18:22:01Z",
    "ms_played": 215000,
    "master_metadata_track_name": "Moanin'",
    "master_metadata_album_artist_name": "Art Blakey",
    "master_metadata_album_album_name": "Moanin'",
}


def _read_or_refused(path: Path) -> Any:
    try:
        return read_listening_history(path)
    except SpotifyExportError as exc:
        return exc


def test_member_names_that_climb_out_of_the_folder_write_nothing(tmp_path: Path) -> None:
    rows = json.dumps([ROW]).encode()
    export = zipped(
        {
            "../../evil/Streaming_History_Audio_2021.json": rows,
            "/etc/Streaming_History_Audio_2022.json": rows,
            "Spotify Extended Streaming History/Streaming_History_Audio_2023.json": rows,
        },
        tmp_path / "export.zip",
    )
    before = sorted(p.name for p in tmp_path.parent.rglob("*") if p.is_file())
    outcome = _read_or_refused(export)
    if isinstance(outcome, SpotifyExportError):
        assert "\n" not in str(outcome).strip()
    after = sorted(p.name for p in tmp_path.parent.rglob("*") if p.is_file())
    assert after == before  # the ZIP is read, never unpacked


@FAST
@given(
    rows=st.lists(
        st.dictionaries(st.sampled_from([*ROW, "episode_name", "skipped"]), JSON, max_size=6),
        max_size=20,
    )
)
def test_history_rows_of_any_shape_are_read_or_refused_clearly(
    tmp_path: Path, rows: list[dict[str, Any]]
) -> None:
    export = zipped(
        {"MyData/Streaming_History_Audio_2021.json": json.dumps(rows).encode()},
        tmp_path / "rows.zip",
    )
    outcome = _read_or_refused(export)
    if isinstance(outcome, SpotifyExportError):
        assert str(outcome)


@FAST
@given(raw=st.binary(max_size=2000))
def test_random_bytes_as_an_export_are_refused_clearly(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "export.zip"
    path.write_bytes(raw)
    with pytest.raises(SpotifyExportError):
        read_listening_history(path)


def test_a_zip_whose_history_is_random_bytes_is_refused_clearly(tmp_path: Path) -> None:
    buffer = io.BytesIO(bytes(range(256)) * 40)
    export = zipped(
        {"MyData/StreamingHistory_music_0.json": buffer.getvalue()}, tmp_path / "bytes.zip"
    )
    with pytest.raises(SpotifyExportError):
        read_listening_history(export)
