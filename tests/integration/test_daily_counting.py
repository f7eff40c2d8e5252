"""A meter-day is counted in the day's read rate exactly when it is kept: a batch
redelivered, a batch with days already kept, and a meter answering twice in one batch
all leave the count equal to the days kept (functions/core/daily/cycle.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from functions.core.daily.cycle import DailyReads, daily_run_id
from functions.core.daily.models import MeterDayRecord
from functions.core.messages import VerifiedReading
from functions.core.runs import progress

DAY = date(2001, 3, 4)  # a day of this test's own: the counters are per day
LATCH = datetime(2001, 3, 4, 18, 30, tzinfo=UTC)  # 00:00 IST on 5 Mar: the day's close


def answer(meter_id: str, register_wh: int, received_at: datetime = LATCH) -> VerifiedReading:
    return VerifiedReading(
        reading_key=f"r-{uuid.uuid4().hex[:8]}", meter_id=meter_id,
        run_id=daily_run_id(DAY), period="2001-03", nonce=uuid.uuid4().hex, counter=1,
        register_wh=register_wh, read_at=LATCH, received_at=received_at)


def test_each_day_is_counted_once_whatever_redelivers_it(emulator):
    reads = DailyReads()
    before = progress.totals(daily_run_id(DAY))
    meters = [f"mtr-count-{uuid.uuid4().hex[:8]}" for _ in range(4)]

    first = reads.record_batch([answer(m, 1_000) for m in meters[:2]])
    assert len(first) == 2
    assert reads.record_batch([answer(m, 1_000) for m in meters[:2]]) == []  # redelivered
    # Two kept already, one new, and the new meter answering twice in the same batch.
    mixed = reads.record_batch([answer(meters[0], 1_000), answer(meters[1], 1_000),
                                answer(meters[2], 2_000), answer(meters[2], 2_500)])
    assert [(d.meter_id, int(d.import_wh)) for d in mixed] == [(meters[2], 2_000)]

    # One more answers at 06:30 IST: read, but after the 06:00 target.
    late = answer(meters[3], 1_000, received_at=LATCH + timedelta(hours=6, minutes=30))
    assert len(reads.record_batch([late])) == 1

    kept = [MeterDayRecord.get(m, DAY.isoformat()) for m in meters]
    assert len(kept) == 4
    after = progress.totals(daily_run_id(DAY))
    assert after["answered"] - before["answered"] == 4
    assert after["answered_by_target"] - before["answered_by_target"] == 3


def test_a_batch_that_fails_before_counting_keeps_nothing_and_its_retry_counts(
        emulator, monkeypatch):
    reads = DailyReads()
    before = progress.totals(daily_run_id(DAY))["answered"]
    meters = [f"mtr-fail-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    real = progress.counter_actions

    def counter_down(**deltas: int):
        raise ConnectionError("the counter's write did not go through")

    monkeypatch.setattr(progress, "counter_actions", counter_down)
    with pytest.raises(ConnectionError):
        reads.record_batch([answer(m, 1_000) for m in meters])
    monkeypatch.setattr(progress, "counter_actions", real)

    # SQS delivers the batch again: every day is kept now, and counted.
    assert len(reads.record_batch([answer(m, 1_000) for m in meters])) == 3
    assert progress.totals(daily_run_id(DAY))["answered"] - before == 3
