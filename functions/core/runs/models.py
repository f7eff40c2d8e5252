"""Billing runs: one per period (a calendar month in IST), id = the period."""

from __future__ import annotations

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.models import Model

from functions.core.db import registered, table_meta

COUNTERS = ("meters_total", "requests_sent", "delivery_failures", "answered", "no_response",
            "rejected", "held", "bills_issued", "estimated_bills")


RUN_RUNNING = "running"
RUN_CLOSED = "closed"
POLICY_ESTIMATE = "estimate"
POLICY_NO_BILL = "no_bill"


class SilentMeterAttribute(MapAttribute[str, str]):
    """A meter that gave no reading in the run, as listed when the run closed."""

    meter_id = UnicodeAttribute()
    property_id = UnicodeAttribute(null=True)
    why = UnicodeAttribute()  # no_answer | unreachable | meter_error | not_asked
    detail = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute()  # estimated | no_bill | no_history | no_tariff | already_billed
    bill_ids = ListAttribute(of=UnicodeAttribute, null=True)


@registered
class BillingRunRecord(Model):
    Meta = table_meta("billing_runs")

    run_id = UnicodeAttribute(hash_key=True)  # == period, e.g. "2026-10": one run per period
    period = UnicodeAttribute()
    status = UnicodeAttribute(default="running")  # running -> closed
    policy = UnicodeAttribute(default="estimate")  # for silent meters: estimate | no_bill
    started_by = UnicodeAttribute(null=True)
    started_at = UTCDateTimeAttribute(null=True)
    window_ends_at = UTCDateTimeAttribute(null=True)
    closed_at = UTCDateTimeAttribute(null=True)
    closed_by = UnicodeAttribute(null=True)
    restarts = NumberAttribute(default=0)  # starts after the first (each fills gaps only)
    silent_meters = ListAttribute(of=SilentMeterAttribute, null=True)  # set on close

    # Progress, updated atomically (ADD) by the functions as they work.
    meters_total = NumberAttribute(default=0)
    requests_sent = NumberAttribute(default=0)
    delivery_failures = NumberAttribute(default=0)
    answered = NumberAttribute(default=0)
    no_response = NumberAttribute(default=0)
    rejected = NumberAttribute(default=0)
    held = NumberAttribute(default=0)
    bills_issued = NumberAttribute(default=0)
    estimated_bills = NumberAttribute(default=0)
