"""The runs' two indexes replace table scans: the admin's list (started runs, newest
first) and the window sweep's open runs (a run leaves it when closed and comes back when
an admin closes it again)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from functions.core.clock import utcnow
from functions.core.runs.models import BillingRunRecord
from functions.core.runs.repository import RunRepository
from functions.core.shards import RUN_SHARDS


def test_started_runs_are_listed_newest_first_and_open_until_closed(stack):
    runs = RunRepository()
    now = utcnow()
    prefix = f"idx{secrets.token_hex(3)}"
    older, newer = f"{prefix}-a", f"{prefix}-b"
    for run_id in (older, newer):
        assert runs.start(run_id, "2001-01", "estimate", "test", now - timedelta(hours=2),
                          window_ends_at=now - timedelta(hours=1))
    listed = [r.run_id for r in runs.all(1000) if r.run_id.startswith(prefix)]
    assert listed == [newer, older]

    def open_ids(cutoff):
        return {r.run_id for r in runs.overdue(cutoff)} & {older, newer}

    assert open_ids(now) == {older, newer}
    assert open_ids(now - timedelta(hours=3)) == set()  # windows end after the cutoff
    # Listing done (running), then every shard closed: the run leaves the open index.
    assert runs.finish_phase(older, "list", 0, now) is False  # shards not all listed yet
    run = runs.get(older)
    assert run is not None
    run.update(actions=[BillingRunRecord.listed_shards.set(RUN_SHARDS)])
    assert runs.finish_phase(older, "list", 0, now)
    assert {r.run_id for r in runs.open_past_window(now)} & {older, newer} == {older}
    run = runs.get(older)
    assert run is not None and runs.request_close(run, "test", now) is not None
    run.update(actions=[BillingRunRecord.closed_shards.set(RUN_SHARDS)])
    assert runs.finish_phase(older, "close", int(run.close_generation), now)
    assert open_ids(now) == {newer}
    # An admin closes it again: it is open (closing) until its shards are done.
    closed = runs.get(older)
    assert closed is not None and runs.request_close(closed, "test", now) is not None
    assert open_ids(now) == {older, newer}
