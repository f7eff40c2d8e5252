"""Billing runs: start (one per period; a restart fills gaps only), progress,
the readings an admin must look at, and close (silent meters and the run's
policy for them).

Nothing here does work in proportion to the fleet (docs/scale.md). Starting a
run records it and enqueues one RunStep per shard; the run_steps function pages
through the active meters in slices (functions/core/runs/steps.py) and sends
FanoutBatch messages to iot_fanout. The reading endpoint stores and enqueues
the answers, and the billing function bills them. Closing works the same way:
the run goes `closing`, slices apply the policy to the silent meters (an item
each) and the last shard to finish makes it `closed`. Progress is the sum of
RUN_SHARDS counter items (functions/core/runs/progress.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from functions.core.billing_rules import parse_period
from functions.core.bills.service import HELD, BillingService
from functions.core.clock import utcnow
from functions.core.errors import Conflict, InvalidInput, NotFound
from functions.core.logs import logger
from functions.core.messages import RunStep, VerifiedReading
from functions.core.meters.repositories import ReadingRepository
from functions.core.observability import current_correlation_id, emit
from functions.core.runs import progress
from functions.core.runs.models import (
    POLICY_ESTIMATE,
    RUN_BUSY,
    RUN_CLOSING,
    RUN_LISTING,
    BillingRunRecord,
)
from functions.core.runs.queues import QueueSender
from functions.core.runs.repository import RunRepository
from functions.core.runs.schemas import (
    ReleasedReading,
    ReleaseReading,
    RunReadingPage,
    RunReadingView,
    RunView,
    SilentMeterPage,
    SilentMeterView,
    StartedRun,
    StartRun,
)
from functions.core.shards import RUN_SHARDS

RUN_LIST_LIMIT = 120  # ten years of monthly runs
# A run still open this long after its window (the sweep closes it within 5 minutes and a
# close takes a few more) has a close that is not finishing.
OVERDUE_GRACE = timedelta(minutes=30)


class RunService:
    def __init__(self, runs: RunRepository | None = None,
                 readings: ReadingRepository | None = None,
                 billing: BillingService | None = None,
                 queues: QueueSender | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.runs = runs or RunRepository()
        self.readings = readings or ReadingRepository()
        self.billing = billing or BillingService()
        self.queues = queues or QueueSender()
        self.clock = clock

    # ---- start ----------------------------------------------------------------

    def start(self, request: StartRun, started_by: str) -> StartedRun:
        """Record the run (or its next start) and enqueue its listing: one slice per
        shard. Exactly one start at a time lists meters: a start while a listing or a
        closing is at work is refused (409), so no meter is asked twice by two starts."""
        period = parse_period(request.period)
        now = self.clock()
        if period.end_utc > now:
            raise InvalidInput(f"The billing period {period} is not over yet: a run bills "
                               f"a month once it has ended (from {period.end_utc:%Y-%m-%d} "
                               "00:00 IST).")
        run_id = str(period)  # one run per period
        window_ends_at = now + timedelta(hours=request.window_hours)
        correlation_id = current_correlation_id()
        first_start = self.runs.start(run_id, str(period), request.policy or POLICY_ESTIMATE,
                                      started_by, now, window_ends_at, correlation_id)
        run = self.runs.get(run_id)
        if run is None:
            raise NotFound("No billing run for this period.")
        if not first_start:
            if run.status in RUN_BUSY:
                raise Conflict(f"The run of {period} is {run.status} now; start it again "
                               "when that is done.")
            restarted = self.runs.restart(run, request.policy, window_ends_at, correlation_id)
            if restarted is None:
                raise Conflict(f"The run of {period} was started again by someone else "
                               "just now.")
            run = restarted
        try:
            slices = self.queues.send_steps([
                RunStep(kind="list", run_id=run_id, period=str(period),
                        generation=int(run.generation), shard=shard, page=0)
                for shard in range(RUN_SHARDS)])
        except Exception:
            # The queue refused the listing: leave the run startable again (a start then
            # lists the gaps) instead of listing forever with nothing to do it.
            self.runs.listing_not_sent(run_id, int(run.generation))
            raise
        logger.info("billing run started", extra={
            "run_id": run_id, "first_start": first_start, "generation": int(run.generation)})
        return StartedRun(run=self.view(run_id), first_start=first_start,
                          listing_slices=slices)

    # ---- progress -------------------------------------------------------------

    def get(self, run_id: str) -> BillingRunRecord:
        run = self.runs.get(run_id) if len(run_id) <= 20 else None
        if run is None or run.started_at is None:
            raise NotFound("No billing run for this period.")
        return run

    def view(self, run_id: str) -> RunView:
        return RunView.of(self.get(run_id), progress.totals(run_id), self.clock())

    def all(self) -> list[RunView]:
        """The runs, newest period first, with their live counters (one BatchGetItem each,
        for at most RUN_LIST_LIMIT runs)."""
        now = self.clock()
        return [RunView.of(r, progress.totals(r.run_id), now)
                for r in self.runs.all(RUN_LIST_LIMIT)]

    def run_readings(self, run_id: str, status: str | None, cursor: str | None,
                     limit: int) -> RunReadingPage:
        """A page of the run's readings with billing's verdict and reason (optionally
        one status). The first page of "rejected" (or of all) also carries the latest
        messages the reading endpoint refused for the run (replayed, stale ...), read
        from the rejections index; /admin/meter-rejections lists them all."""
        self.get(run_id)
        page = self.readings.run_page(run_id, cursor, limit, status)
        found = [RunReadingView(
            source="billing", meter_id=r.meter_id, property_id=r.property_id,
            reading_key=r.reading_key, status=r.status, reason=r.validation_reason,
            detail=r.validation_detail, register_wh=int(r.register_wh), read_at=r.read_at,
            received_at=r.received_at) for r in page.items]
        if cursor is None and status in (None, "rejected"):
            found += [RunReadingView(
                source="endpoint", meter_id=r.meter_id, property_id=None,
                reading_key=r.reading_key, status="rejected", reason=r.reason,
                detail=r.detail, register_wh=None, read_at=None, received_at=r.received_at)
                for r in self.readings.rejections(run_id=run_id, limit=limit)]
        return RunReadingPage(cursor=page.cursor, readings=found)

    def silent_meters(self, run_id: str, cursor: str | None, limit: int) -> SilentMeterPage:
        """A page of the meters the run's close found silent, with the policy's outcome."""
        self.get(run_id)
        page = self.runs.silent_page(run_id, cursor, limit)
        return SilentMeterPage(cursor=page.cursor,
                               meters=[SilentMeterView.of(item) for item in page.items])

    def release(self, run_id: str, decision: ReleaseReading) -> ReleasedReading:
        """Bill (without the spike check) or reject a reading held for review."""
        self.get(run_id)
        stored = self.readings.get_reading(decision.meter_id, decision.reading_key) \
            if decision.reading_key.startswith("reading#") else None
        if stored is None or stored.run_id != run_id:
            raise NotFound("No such reading in this run.")
        if stored.status != HELD:
            raise Conflict(f"This reading is {stored.status}, not held for review.")
        batch = self.billing.start_batch([VerifiedReading(
            reading_key=stored.reading_key, meter_id=stored.meter_id, run_id=stored.run_id,
            period=stored.period, nonce=stored.nonce, counter=int(stored.counter),
            register_wh=int(stored.register_wh), read_at=stored.read_at,
            received_at=stored.received_at)])
        try:
            verdict = batch.release(stored, decision.decision)
        finally:
            batch.finish()
        return ReleasedReading(meter_id=stored.meter_id, reading_key=stored.reading_key,
                               status=verdict.status, reason=verdict.reason,
                               detail=verdict.detail, bill_ids=[b.bill_id for b in verdict.bills])

    # ---- close ------------------------------------------------------------------

    def close(self, run_id: str, closed_by: str) -> RunView:
        """Move the run to `closing` and enqueue its close: one slice per shard lists the
        shard's silent meters and applies the run's policy to them (an estimated bill
        from the trailing mean, or no bill). Asking again while it closes changes
        nothing; closing a closed run again is safe: it bills nothing twice."""
        run = self.get(run_id)
        if run.status == RUN_LISTING:
            raise Conflict(f"The run of {run.period} is still listing its meters: close it "
                           "once every meter has been asked.")
        if run.status == RUN_CLOSING:
            return self.view(run_id)  # a close is at work already: nothing more to do
        moved = self.runs.request_close(run, closed_by, self.clock())
        if moved is None:
            return self.view(run_id)  # another request moved it first
        self.queues.send_steps([
            RunStep(kind="close", run_id=run_id, period=run.period or run_id,
                    generation=int(moved.close_generation), shard=shard, page=0)
            for shard in range(RUN_SHARDS)])
        logger.info("billing run closing", extra={
            "run_id": run_id, "close_generation": int(moved.close_generation)})
        return self.view(run_id)

    def close_overdue(self, closed_by: str = "window-sweep") -> list[str]:
        """Close every run whose answer window has ended (the scheduled sweep). Also
        counts the runs still not closed OVERDUE_GRACE after their window (metric
        RunsOpenPastWindow, alarmed: a close that does not finish)."""
        now = self.clock()
        stuck = self.runs.overdue(now - OVERDUE_GRACE)
        emit({"RunsOpenPastWindow": len(stuck)}, keep_zero=True,
             run_ids=[r.run_id for r in stuck[:10]] or None)
        closed = []
        for run in self.runs.open_past_window(self.clock()):
            try:
                self.close(run.run_id, closed_by)
            except (Conflict, NotFound) as error:  # one odd run must not stop the sweep
                logger.warning("run not closed by the sweep",
                               extra={"run_id": run.run_id, "reason": str(error)})
                continue
            closed.append(run.run_id)
        return closed
