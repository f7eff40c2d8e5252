"""Request and response bodies of the billing-run API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.core.billing_rules.periods import PeriodText, format_ist
from functions.core.runs.models import BillingRunRecord, SilentMeterAttribute

Policy = Literal["estimate", "no_bill"]


class StartRun(BaseModel):
    """Start the billing run of a period (a calendar month in IST). Starting a
    period's run again asks only the meters still missing a bill."""

    model_config = ConfigDict(extra="forbid")

    period: PeriodText
    policy: Policy | None = Field(
        default=None, description="for meters that stay silent: an estimated bill from the "
                                  "trailing average, or no bill (default: estimate; on a "
                                  "restart: unchanged)")
    window_hours: int = Field(default=24, ge=1, le=7 * 24,
                              description="how long meters may answer")


class SilentMeterView(BaseModel):
    meter_id: str
    property_id: str | None
    why: str
    detail: str | None
    outcome: str
    bill_ids: list[str]

    @classmethod
    def of(cls, item: SilentMeterAttribute) -> SilentMeterView:
        return cls(meter_id=item.meter_id, property_id=item.property_id, why=item.why,
                   detail=item.detail, outcome=item.outcome, bill_ids=list(item.bill_ids or []))


class RunProgress(BaseModel):
    meters_asked: int
    requests_sent: int
    delivery_failures: int
    answered: int
    no_response: int
    rejected: int
    held: int
    bills_issued: int
    estimated_bills: int


class RunView(BaseModel):
    run_id: str
    period: str
    status: str
    policy: str
    started_by: str | None
    started_at: datetime | None
    started_at_display: str | None
    window_ends_at: datetime | None
    closed_at: datetime | None
    restarts: int
    progress: RunProgress
    silent_meters: list[SilentMeterView] | None

    @classmethod
    def of(cls, run: BillingRunRecord) -> RunView:
        def n(value: float | None) -> int:
            return int(value or 0)

        return cls(
            run_id=run.run_id, period=run.period or run.run_id, status=run.status,
            policy=run.policy, started_by=run.started_by, started_at=run.started_at,
            started_at_display=format_ist(run.started_at) if run.started_at else None,
            window_ends_at=run.window_ends_at, closed_at=run.closed_at,
            restarts=n(run.restarts),
            progress=RunProgress(
                meters_asked=n(run.meters_total), requests_sent=n(run.requests_sent),
                delivery_failures=n(run.delivery_failures), answered=n(run.answered),
                no_response=n(run.no_response), rejected=n(run.rejected), held=n(run.held),
                bills_issued=n(run.bills_issued), estimated_bills=n(run.estimated_bills)),
            silent_meters=None if run.silent_meters is None
            else [SilentMeterView.of(item) for item in run.silent_meters],
        )


class StartedRun(BaseModel):
    run: RunView
    first_start: bool
    meters_enqueued: int
    fanout_messages: int
    skipped_billed: int
    skipped_outstanding: int
    skipped_awaiting_review: int


class ReadingsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["rejected", "held", "accepted", "received"] | None = None


class RunReadingView(BaseModel):
    """A reading of the run, or a message the reading endpoint refused."""

    source: Literal["billing", "endpoint"]
    meter_id: str
    property_id: str | None
    reading_key: str
    status: str
    reason: str | None
    detail: str | None
    register_wh: int | None
    read_at: datetime | None
    received_at: datetime


class ReleaseReading(BaseModel):
    """An admin's decision on a reading held for review."""

    model_config = ConfigDict(extra="forbid")

    meter_id: str = Field(min_length=1, max_length=64)
    reading_key: str = Field(min_length=1, max_length=200)
    decision: Literal["bill", "reject"]


class ReleasedReading(BaseModel):
    meter_id: str
    reading_key: str
    status: str
    reason: str | None
    detail: str | None
    bill_ids: list[str]
