"""The run tables behind a small repository: the run item (its lifecycle only),
its silent meters and the markers of the slices that are done."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from functions.core.paging import Page, sharded_page
from functions.core.runs.models import (
    RUN_BUSY,
    RUN_CLOSED,
    RUN_CLOSING,
    RUN_LISTING,
    RUN_RUNNING,
    RUNS_LISTED,
    RUNS_OPEN,
    BillingRunRecord,
    RunSliceRecord,
    SilentMeterRecord,
)
from functions.core.shards import RUN_SHARDS

BATCH_GET_MAX = 100


def _unchanged(attribute: Any, value: int) -> Any:
    """`attribute` still has the value read (0 also when it was never written)."""
    condition = attribute == value
    return condition | attribute.does_not_exist() if value == 0 else condition


def _refused(error: UpdateError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


class RunRepository:
    def get(self, run_id: str) -> BillingRunRecord | None:
        try:
            return BillingRunRecord.get(run_id, consistent_read=True)
        except DoesNotExist:
            return None

    def all(self, limit: int) -> list[BillingRunRecord]:
        """The `limit` newest started runs, newest period first (the list index)."""
        return list(BillingRunRecord.by_period.query(RUNS_LISTED, scan_index_forward=False,
                                                     limit=limit))

    def open_past_window(self, now: datetime) -> list[BillingRunRecord]:
        """Runs still taking answers whose window has ended (the scheduled sweep)."""
        return list(BillingRunRecord.open_runs.query(
            RUNS_OPEN, BillingRunRecord.window_ends_at < now,
            filter_condition=BillingRunRecord.status == RUN_RUNNING))

    def start(self, run_id: str, period: str, policy: str, started_by: str,
              at: datetime, window_ends_at: datetime,
              correlation_id: str | None = None) -> bool:
        """The first start of the period's run (status listing, generation 0): False if
        it was started already."""
        try:
            BillingRunRecord(run_id=run_id).update(actions=[
                *_correlation(correlation_id),
                BillingRunRecord.period.set(period),
                BillingRunRecord.status.set(RUN_LISTING),
                BillingRunRecord.policy.set(policy),
                BillingRunRecord.started_by.set(started_by),
                BillingRunRecord.started_at.set(at),
                BillingRunRecord.window_ends_at.set(window_ends_at),
                BillingRunRecord.generation.set(0),
                BillingRunRecord.listed_shards.set(0),
                BillingRunRecord.list_key.set(RUNS_LISTED),
                BillingRunRecord.open_key.set(RUNS_OPEN),
            ], condition=BillingRunRecord.started_at.does_not_exist())
        except UpdateError as error:
            if _refused(error):
                return False
            raise
        return True

    def restart(self, run: BillingRunRecord, policy: str | None,
                window_ends_at: datetime, correlation_id: str | None = None
                ) -> BillingRunRecord | None:
        """The next listing generation (gaps only), if no slice chain is at work and no
        other start took this generation first (then None: nothing to enqueue)."""
        actions: list[Any] = [
            *_correlation(correlation_id),
            BillingRunRecord.status.set(RUN_LISTING),
            BillingRunRecord.closed_at.remove(),
            BillingRunRecord.window_ends_at.set(window_ends_at),
            BillingRunRecord.restarts.add(1),
            BillingRunRecord.generation.set(int(run.generation) + 1),
            BillingRunRecord.listed_shards.set(0),
            BillingRunRecord.open_key.set(RUNS_OPEN),  # a closed run reopens
        ]
        if policy is not None:
            actions.append(BillingRunRecord.policy.set(policy))
        try:
            run.update(actions=actions,
                       condition=_unchanged(BillingRunRecord.generation, int(run.generation))
                       & ~BillingRunRecord.status.is_in(*RUN_BUSY))
        except UpdateError as error:
            if _refused(error):
                return None
            raise
        return run

    def overdue(self, cutoff: datetime) -> list[BillingRunRecord]:
        """Runs not closed whose window ended before ``cutoff``."""
        return list(BillingRunRecord.open_runs.query(
            RUNS_OPEN, BillingRunRecord.window_ends_at < cutoff))

    def listing_not_sent(self, run_id: str, generation: int) -> None:
        """listing -> running when a start could not enqueue its slices."""
        with contextlib.suppress(UpdateError):  # it moved on meanwhile: leave it
            BillingRunRecord(run_id=run_id).update(
                actions=[BillingRunRecord.status.set(RUN_RUNNING)],
                condition=self.generation_condition("list", generation))

    def request_close(self, run: BillingRunRecord, by: str, at: datetime
                      ) -> BillingRunRecord | None:
        """running|closed -> closing with the next close generation; None if another
        request moved the run first (or a slice chain is at work)."""
        try:
            run.update(actions=[
                BillingRunRecord.status.set(RUN_CLOSING),
                BillingRunRecord.open_key.set(RUNS_OPEN),  # a closed run reopens
                BillingRunRecord.close_generation.set(int(run.close_generation) + 1),
                BillingRunRecord.closed_shards.set(0),
                BillingRunRecord.close_requested_at.set(at),
                BillingRunRecord.close_requested_by.set(by),
            ], condition=_unchanged(BillingRunRecord.close_generation, int(run.close_generation))
                & BillingRunRecord.status.is_in(RUN_RUNNING, RUN_CLOSED))
        except UpdateError as error:
            if _refused(error):
                return None
            raise
        return run

    def shard_done_action(self, kind: str) -> Any:
        """The update action that counts one more shard done (in a slice's transaction)."""
        field = BillingRunRecord.listed_shards if kind == "list" else \
            BillingRunRecord.closed_shards
        return field.add(1)

    def generation_condition(self, kind: str, generation: int) -> Any:
        if kind == "list":
            return (BillingRunRecord.generation == generation) & \
                (BillingRunRecord.status == RUN_LISTING)
        return (BillingRunRecord.close_generation == generation) & \
            (BillingRunRecord.status == RUN_CLOSING)

    def finish_phase(self, run_id: str, kind: str, generation: int, at: datetime) -> bool:
        """listing -> running, or closing -> closed, once every shard is done."""
        actions: list[Any]
        if kind == "list":
            actions = [BillingRunRecord.status.set(RUN_RUNNING),
                       BillingRunRecord.listed_at.set(at)]
            done = BillingRunRecord.listed_shards >= RUN_SHARDS
        else:
            actions = [BillingRunRecord.status.set(RUN_CLOSED),
                       BillingRunRecord.open_key.remove(),  # leaves the open-runs index
                       BillingRunRecord.closed_at.set(at),
                       BillingRunRecord.closed_by.set(
                           BillingRunRecord.close_requested_by)]
            done = BillingRunRecord.closed_shards >= RUN_SHARDS
        try:
            BillingRunRecord(run_id=run_id).update(
                actions=actions, condition=self.generation_condition(kind, generation) & done)
        except UpdateError as error:
            if _refused(error):
                return False
            raise
        return True

    # ---- slices --------------------------------------------------------------------

    def slice_marker(self, key: str) -> RunSliceRecord | None:
        try:
            return RunSliceRecord.get(key, consistent_read=True)
        except DoesNotExist:
            return None

    def mark_sent(self, marker: RunSliceRecord) -> None:
        marker.update(actions=[RunSliceRecord.state.set("sent")])

    # ---- silent meters -------------------------------------------------------------

    def silent_of(self, run_id: str, meter_ids: Iterable[str]) -> dict[str, SilentMeterRecord]:
        keys = sorted({f"{run_id}#{m}" for m in meter_ids})
        found: dict[str, SilentMeterRecord] = {}
        for start in range(0, len(keys), BATCH_GET_MAX):
            for item in SilentMeterRecord.batch_get(keys[start:start + BATCH_GET_MAX],
                                                    consistent_read=True):
                found[item.meter_id] = item
        return found

    def silent_page(self, run_id: str, cursor: str | None, limit: int
                    ) -> Page[SilentMeterRecord]:
        return sharded_page(SilentMeterRecord.by_run, run_id, cursor, limit)


def _correlation(correlation_id: str | None) -> list[Any]:
    return [BillingRunRecord.correlation_id.set(correlation_id)] if correlation_id else []
