"""Request and response bodies of the billing-run API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.core.billing_rules.periods import PeriodText, format_ist
from functions.core.runs.models import (
    RUN_CLOSED,
    RUN_CLOSING,
    RUN_LISTING,
    BillingRunRecord,
    SilentMeterRecord,
)
from functions.core.shards import RUN_SHARDS

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
    def of(cls, item: SilentMeterRecord) -> SilentMeterView:
        return cls(meter_id=item.meter_id, property_id=item.property_id, why=item.why,
                   detail=item.detail, outcome=item.outcome, bill_ids=list(item.bill_ids or []))


class SilentMeterPage(BaseModel):
    """A page of a run's silent meters; `cursor` asks for the next (null: the last page)."""

    meters: list[SilentMeterView]
    cursor: str | None


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cursor: str | None = Field(default=None, min_length=1, max_length=2000)
    limit: int = Field(default=100, ge=1, le=500)


class NoticeCounts(BaseModel):
    """The run's bill emails: handed to SES, then what SES said of them. A message
    counts once per status it reaches (a delivered email that is later complained
    about counts in both). Who was not reached: GET /admin/notifications/undelivered-bills."""

    sent: int
    delivered: int
    bounced: int
    complained: int
    suppressed: int = Field(description="not sent: the address bounced or complained before")
    failed: int = Field(description="refused by SES for good")


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
    notices: NoticeCounts


Phase = Literal["listing", "asking", "closing", "closed"]


class RunView(BaseModel):
    run_id: str
    period: str
    status: str
    phase: Phase = Field(description="listing (meters being listed and asked), asking "
                                     "(waiting for answers), closing (the policy is applied "
                                     "to silent meters), closed")
    phase_progress: str = Field(description="e.g. '12 of 32 shards listed'")
    policy: str
    started_by: str | None
    started_at: datetime | None
    started_at_display: str | None
    window_ends_at: datetime | None
    closed_at: datetime | None
    restarts: int
    progress: RunProgress
    seconds_left: int | None = Field(
        description="estimated time until every asked meter has answered or failed, at "
                    "the rate so far (null when unknown or done)")

    @classmethod
    def of(cls, run: BillingRunRecord, counts: dict[str, int], now: datetime) -> RunView:
        phase: Phase = {RUN_LISTING: "listing", RUN_CLOSING: "closing",
                        RUN_CLOSED: "closed"}.get(run.status, "asking")  # type: ignore[assignment]
        if phase == "listing":
            phase_progress = f"{int(run.listed_shards or 0)} of {RUN_SHARDS} shards listed"
        elif phase == "closing":
            phase_progress = f"{int(run.closed_shards or 0)} of {RUN_SHARDS} shards closed"
        else:
            phase_progress = f"{counts['answered']} of {counts['meters_total']} meters answered"
        return cls(
            run_id=run.run_id, period=run.period or run.run_id, status=run.status,
            phase=phase, phase_progress=phase_progress,
            policy=run.policy, started_by=run.started_by, started_at=run.started_at,
            started_at_display=format_ist(run.started_at) if run.started_at else None,
            window_ends_at=run.window_ends_at, closed_at=run.closed_at,
            restarts=int(run.restarts or 0),
            progress=RunProgress(
                meters_asked=counts["meters_total"], requests_sent=counts["requests_sent"],
                delivery_failures=counts["delivery_failures"], answered=counts["answered"],
                no_response=counts["no_response"], rejected=counts["rejected"],
                held=counts["held"], bills_issued=counts["bills_issued"],
                estimated_bills=counts["estimated_bills"],
                notices=NoticeCounts(**{name: counts[f"notices_{name}"] for name in (
                    "sent", "delivered", "bounced", "complained", "suppressed", "failed")})),
            seconds_left=_seconds_left(run, counts, now) if phase == "asking" else None,
        )


def _seconds_left(run: BillingRunRecord, counts: dict[str, int], now: datetime) -> int | None:
    """Meters still to hear from, at the answer rate since the listing finished."""
    done = counts["answered"] + counts["delivery_failures"]
    left = counts["meters_total"] - done
    since = run.listed_at or run.started_at
    if left <= 0 or done <= 0 or since is None:
        return None
    elapsed = (now - since).total_seconds()
    return int(left * elapsed / done) if elapsed > 0 else None


class StartedRun(BaseModel):
    run: RunView
    first_start: bool
    listing_slices: int = Field(description="slices enqueued to list the meters (one per "
                                            "shard); meters are asked as they are listed")


class ReadingsQuery(PageQuery):
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


class RunReadingPage(BaseModel):
    readings: list[RunReadingView]
    cursor: str | None


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
