"""The billing_runs table behind a small repository."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from functions.core.runs.models import RUN_CLOSED, RUN_RUNNING, BillingRunRecord


class RunRepository:
    def get(self, run_id: str) -> BillingRunRecord | None:
        try:
            return BillingRunRecord.get(run_id, consistent_read=True)
        except DoesNotExist:
            return None

    def all(self) -> list[BillingRunRecord]:
        # One item per month: a scan stays tiny for decades.
        return [r for r in BillingRunRecord.scan() if r.started_at is not None]

    def start(self, run_id: str, period: str, policy: str, started_by: str,
              at: datetime, window_ends_at: datetime, meters_asked: int) -> bool:
        """The first start of the run's period: False if it was already started
        (the counters that functions may have added meanwhile are kept)."""
        record = BillingRunRecord(run_id=run_id)
        try:
            record.update(actions=[
                BillingRunRecord.period.set(period),
                BillingRunRecord.status.set(RUN_RUNNING),
                BillingRunRecord.policy.set(policy),
                BillingRunRecord.started_by.set(started_by),
                BillingRunRecord.started_at.set(at),
                BillingRunRecord.window_ends_at.set(window_ends_at),
                BillingRunRecord.meters_total.set(meters_asked),
            ], condition=BillingRunRecord.started_at.does_not_exist())
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def restart(self, run_id: str, policy: str | None, window_ends_at: datetime,
                newly_asked: int) -> None:
        actions: list[Any] = [
            BillingRunRecord.status.set(RUN_RUNNING),
            BillingRunRecord.closed_at.remove(),
            BillingRunRecord.window_ends_at.set(window_ends_at),
            BillingRunRecord.restarts.add(1),
            BillingRunRecord.meters_total.add(newly_asked),
        ]
        if policy is not None:
            actions.append(BillingRunRecord.policy.set(policy))
        BillingRunRecord(run_id=run_id).update(
            actions=actions, condition=BillingRunRecord.started_at.exists())

    def set_counts(self, run_id: str, counts: dict[str, int]) -> None:
        BillingRunRecord(run_id=run_id).update(
            actions=[getattr(BillingRunRecord, name).set(value)
                     for name, value in counts.items()],
            condition=BillingRunRecord.started_at.exists())

    def close(self, run_id: str, at: datetime, closed_by: str, silent: list[Any],
              exact_counts: dict[str, int]) -> None:
        """Closed, with the silent meters and the counters recounted from the
        records (the live counters are only as exact as the functions' last flush)."""
        actions: list[Any] = [
            BillingRunRecord.status.set(RUN_CLOSED),
            BillingRunRecord.closed_at.set(at),
            BillingRunRecord.closed_by.set(closed_by),
            BillingRunRecord.silent_meters.set(silent),
        ]
        actions += [getattr(BillingRunRecord, name).set(value)
                    for name, value in exact_counts.items()]
        BillingRunRecord(run_id=run_id).update(
            actions=actions, condition=BillingRunRecord.started_at.exists())
