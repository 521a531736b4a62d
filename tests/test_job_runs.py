"""Job runs left `running`: a start fails only the runs whose process really stopped."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from vinyl_detective.storage import job_runs

HOST = socket.gethostname()


def _dead_pid() -> int:
    """The id of a process that has come and gone (run to its end and reaped)."""
    pid = subprocess.Popen([sys.executable, "-c", "pass"])
    pid.wait()
    return pid.pid


def _statuses(engine: Engine) -> dict[str | None, str]:
    with engine.connect() as conn:
        return {r.target: r.status for r in job_runs.recent_runs(conn)}


def test_a_job_run_records_which_process_runs_it(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        job_runs.start_job(conn, "poll", "search:1", now)
        (run,) = job_runs.recent_runs(conn)
    assert run.owner == f"{HOST}:{os.getpid()}"


def test_runs_of_live_processes_on_this_host_are_left_alone(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        job_runs.start_job(conn, "poll", "mine", now)  # this very process
        job_runs.start_job(conn, "import", "parent", now, owner=f"{HOST}:{os.getppid()}")
        assert job_runs.fail_interrupted_runs(conn, now + timedelta(minutes=5)) == 0
    assert _statuses(engine) == {"mine": "running", "parent": "running"}


def test_a_run_of_a_process_that_no_longer_exists_is_failed(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        job_runs.start_job(conn, "firehose", "gone", now, owner=f"{HOST}:{_dead_pid()}")
        job_runs.start_job(conn, "poll", "alive", now)
        assert job_runs.fail_interrupted_runs(conn, now + timedelta(minutes=5)) == 1
        runs = {r.target: r for r in job_runs.recent_runs(conn)}
    assert runs["gone"].status == "error"
    assert runs["gone"].error == "interrupted (the process stopped)"
    assert runs["alive"].status == "running"


def test_another_hosts_run_is_failed_only_once_it_is_old(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        job_runs.start_job(conn, "import", "old", now - timedelta(hours=13), owner="elsewhere:1")
        job_runs.start_job(conn, "import", "recent", now - timedelta(hours=1), owner="elsewhere:1")
        assert job_runs.fail_interrupted_runs(conn, now) == 1
    assert _statuses(engine) == {"old": "error", "recent": "running"}


def test_a_run_from_before_owners_were_kept_is_failed_once_it_is_old(
    engine: Engine, now: datetime
) -> None:
    with engine.begin() as conn:
        old = job_runs.start_job(conn, "poll", "old", now - timedelta(hours=13))
        recent = job_runs.start_job(conn, "poll", "recent", now - timedelta(minutes=1))
        conn.execute(
            job_runs.job_runs.update()
            .where(job_runs.job_runs.c.id.in_([old, recent]))
            .values(owner=None)
        )
        assert job_runs.fail_interrupted_runs(conn, now) == 1
    assert _statuses(engine) == {"old": "error", "recent": "running"}


def test_starting_while_another_process_is_busy_leaves_its_run_alone(
    engine: Engine, db_url: str, now: datetime
) -> None:
    """A second process (a `run` busy with a job) is running when this one starts."""
    script = (
        "import sys\n"
        "from datetime import datetime\n"
        "from vinyl_detective.storage.db import open_database\n"
        "from vinyl_detective.storage.job_runs import start_job\n"
        f"engine = open_database({db_url!r})\n"
        "with engine.begin() as conn:\n"
        f"    start_job(conn, 'firehose', 'busy', datetime.fromisoformat({now.isoformat()!r}))\n"
        "print('started', flush=True)\n"
        "sys.stdin.read()\n"
    )
    other = subprocess.Popen(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert other.stdout is not None
        assert other.stdout.readline().strip() == "started"
        with engine.begin() as conn:
            assert job_runs.fail_interrupted_runs(conn, now + timedelta(minutes=1)) == 0
        assert _statuses(engine) == {"busy": "running"}
    finally:
        assert other.stdin is not None
        other.stdin.close()
        other.wait(timeout=30)
    with engine.begin() as conn:  # now it has stopped without finishing its run
        assert job_runs.fail_interrupted_runs(conn, now + timedelta(minutes=2)) == 1
    assert _statuses(engine) == {"busy": "error"}
