"""The alert log refuses a second alert for the same recipient and listing."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from vinyl_detective.storage import alerts
from vinyl_detective.storage.db import open_database


def test_second_claim_for_same_recipient_and_listing_is_refused(
    engine: Engine, now: datetime
) -> None:
    with engine.begin() as conn:
        assert alerts.claim(conn, "telegram:42", "v1|1|0", now=now)
        assert not alerts.claim(conn, "telegram:42", "v1|1|0", now=now)
        assert alerts.claim(conn, "telegram:43", "v1|1|0", now=now)


def test_claims_survive_a_restart(db_url: str, now: datetime) -> None:
    first = open_database(db_url)
    with first.begin() as conn:
        assert alerts.claim(conn, "telegram:42", "v1|1|0", now=now)
        alerts.mark_sent(conn, "telegram:42", "v1|1|0", now)
    first.dispose()
    second = open_database(db_url)
    with second.begin() as conn:
        assert not alerts.claim(conn, "telegram:42", "v1|1|0", now=now)
        assert alerts.status_counts(conn) == {"sent": 1}
    second.dispose()


def test_retryable_failures_stay_pending_and_a_permanent_one_fails_for_good(
    engine: Engine, now: datetime
) -> None:
    with engine.begin() as conn:
        alerts.claim(conn, "apprise:mail", "v1|2|0", now=now)
        for _ in range(50):  # however many: the retry pass decides when to give up
            alerts.mark_attempt_failed(conn, "apprise:mail", "v1|2|0", "timeout", permanent=False)
        (waiting,) = alerts.pending(conn)
        assert (waiting.item_id, waiting.attempts, waiting.error) == ("v1|2|0", 50, "timeout")
        assert waiting.created_at == now
        alerts.mark_attempt_failed(conn, "apprise:mail", "v1|2|0", "refused", permanent=True)
        assert alerts.pending(conn) == []
        assert alerts.recent_failures(conn) == [("apprise:mail", "v1|2|0", "refused")]


def test_old_rows_are_forgotten_after_the_retention(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        alerts.claim(conn, "telegram:1", "old", now=now - timedelta(days=100))
        alerts.claim(conn, "telegram:1", "new", now=now - timedelta(days=10))
        assert alerts.delete_created_before(conn, now - timedelta(days=90)) == 1
        assert alerts.claim(conn, "telegram:1", "old", now=now)
        assert not alerts.claim(conn, "telegram:1", "new", now=now)


def test_only_one_of_two_retriers_takes_a_pending_alert(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        alerts.claim(conn, "telegram:42", "v1|3|0", now=now)
        alerts.mark_attempt_failed(
            conn, "telegram:42", "v1|3|0", "timeout", permanent=False, now=now
        )
        seen = alerts.pending(conn)[0]
    later = now + timedelta(minutes=10)
    with engine.begin() as conn:
        first = alerts.take_for_retry(conn, seen, later)
    with engine.begin() as conn:
        second = alerts.take_for_retry(conn, seen, later + timedelta(seconds=1))
    assert (first, second) == (True, False)
