"""Saving searches from the command line: other marketplaces, categories and schedules."""

from __future__ import annotations

from collections.abc import Callable

from vinyl_detective.storage import search_schedules
from vinyl_detective.storage.db import open_database


def test_a_search_on_another_marketplace_runs_its_own_query(
    cli: Callable[..., tuple[int, str]],
) -> None:
    assert cli("search", "add", "art blakey", "--marketplace", "ebay_gb")[0] == 0
    assert cli("search", "add", "blue note")[0] == 0

    code, status = cli("status")
    assert code == 0, status
    gb = next(line for line in status.splitlines() if "│ 1 " in line)
    us = next(line for line in status.splitlines() if "│ 2 " in line)
    assert "query" in gb
    assert "firehose" in us
    listed = cli("search", "list")[1]
    assert "EBAY_GB" in listed
    assert "EBAY_US" in listed


def test_an_unknown_marketplace_or_a_category_name_is_refused_and_nothing_saved(
    cli: Callable[..., tuple[int, str]],
) -> None:
    code, output = cli("search", "add", "art blakey", "--marketplace", "EBAY_XX")
    assert code == 1
    assert "Unknown eBay marketplace 'EBAY_XX'; use one of EBAY_US, EBAY_GB" in output
    code, output = cli("search", "add", "art blakey", "--category", "records")
    assert code == 1
    assert "Records is 176985" in output
    assert "art blakey" not in cli("search", "list")[1]


def test_a_search_can_be_bounded_prioritised_and_made_to_query_alone(
    cli: Callable[..., tuple[int, str]], database: str
) -> None:
    cli("search", "add", "art blakey")
    code, output = cli("search", "schedule", "1", "--min", "10", "--max", "60", "--priority", "1")
    assert code == 0, output
    assert "rides the firehose, every 10 to 60 min, priority +1" in output
    code, output = cli("search", "schedule", "1", "--own-query")
    assert "Search #1: runs its own query, every 10 to 60 min" in output

    # A minimum above the maximum is refused, and the stored bounds stay as they were.
    code, output = cli("search", "schedule", "1", "--min", "90")
    assert code == 1
    assert "The minimum interval (90 min) is longer than the maximum (60 min)." in output
    assert "Priority runs from -2" in cli("search", "schedule", "1", "--priority", "5")[1]
    cli("search", "add", "miles davis")
    code, output = cli("search", "schedule", "2", "--max", "3")
    assert code == 1
    assert "The minimum interval (5 min, the default) is longer than the maximum (3 min)" in (
        output
    )
    assert "There is no search #7" in cli("search", "schedule", "7", "--min", "5")[1]
    with open_database(database).connect() as conn:
        state = search_schedules.get_schedule(conn, 1)
    assert state is not None
    assert (state.mode, state.min_minutes, state.max_minutes, state.priority) == (
        "query",
        10,
        60,
        1,
    )
