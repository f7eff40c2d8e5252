"""Billing runs: one per period (a calendar month in IST), id = the period.

A run's work is spread so that no item takes a write per meter
(docs/scale.md): the run item holds only its lifecycle (a handful of writes per
shard), progress counters are RUN_SHARDS items of their own, each silent meter
is an item of its own, and every slice of listing or closing leaves a marker so
that a redelivered slice does nothing twice.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from functions.core.db import gsi_meta, registered, table_meta

COUNTERS = ("meters_total", "requests_sent", "delivery_failures", "answered", "no_response",
            "rejected", "held", "bills_issued", "estimated_bills",
            # The run's bill emails (functions/core/notifications): handed to SES, and what
            # SES said afterwards; each message counts once per status it reaches.
            "notices_sent", "notices_delivered", "notices_bounced", "notices_complained",
            "notices_suppressed", "notices_failed",
            # Daily runs: meter-days kept by the read target (06:00 IST after the latch).
            "answered_by_target")

# Lifecycle: listing (slices page through the active meters and ask them) -> running
# (meters answer, billing bills) -> closing (slices apply the policy to silent meters)
# -> closed. A restart goes back to listing (gaps only); a close of a closed run
# closes again (it bills nothing twice).
RUN_LISTING = "listing"
RUN_RUNNING = "running"
RUN_CLOSING = "closing"
RUN_CLOSED = "closed"
RUN_BUSY = (RUN_LISTING, RUN_CLOSING)  # a slice chain is at work: no new start or close
# The partition values of the runs' two indexes (one item per month: never a hot key).
RUNS_LISTED = "runs"
RUNS_OPEN = "open"
POLICY_ESTIMATE = "estimate"
POLICY_NO_BILL = "no_bill"


class RunsByPeriod(GlobalSecondaryIndex["BillingRunRecord"]):
    """Every started run by id (= period): the admin's list, newest first."""

    Meta = gsi_meta("by_period")
    list_key = UnicodeAttribute(hash_key=True)
    run_id = UnicodeAttribute(range_key=True)


class OpenRuns(GlobalSecondaryIndex["BillingRunRecord"]):
    """Runs not closed, by the end of their answer window: what the window sweep closes."""

    Meta = gsi_meta("by_open_window")
    open_key = UnicodeAttribute(hash_key=True)
    window_ends_at = UTCDateTimeAttribute(range_key=True)


@registered
class BillingRunRecord(Model):
    Meta = table_meta("billing_runs")

    run_id = UnicodeAttribute(hash_key=True)  # == period, e.g. "2026-10": one run per period
    period = UnicodeAttribute()
    status = UnicodeAttribute(default=RUN_LISTING)
    policy = UnicodeAttribute(default=POLICY_ESTIMATE)  # for silent meters
    started_by = UnicodeAttribute(null=True)
    started_at = UTCDateTimeAttribute(null=True)
    window_ends_at = UTCDateTimeAttribute(null=True)
    restarts = NumberAttribute(default=0)  # starts after the first (each fills gaps only)
    # Listing: which start it is (0 = the first) and how many shards have listed all.
    generation = NumberAttribute(default=0)
    listed_shards = NumberAttribute(default=0)
    listed_at = UTCDateTimeAttribute(null=True)
    # Closing: which close it is (1 = the first) and how many shards are done.
    close_generation = NumberAttribute(default=0)
    closed_shards = NumberAttribute(default=0)
    close_requested_at = UTCDateTimeAttribute(null=True)
    close_requested_by = UnicodeAttribute(null=True)
    closed_at = UTCDateTimeAttribute(null=True)
    closed_by = UnicodeAttribute(null=True)
    # The correlation id of the API request that last started it: the reading endpoint
    # logs the run's readings with it (functions/core/observability.py).
    correlation_id = UnicodeAttribute(null=True)
    # The indexes' keys, kept from started_at and status (serialize below; updates that
    # start, reopen or close a run set them with the status: functions/core/runs/repository.py).
    list_key = UnicodeAttribute(null=True)  # RUNS_LISTED once started
    open_key = UnicodeAttribute(null=True)  # RUNS_OPEN while not closed

    by_period = RunsByPeriod()
    open_runs = OpenRuns()

    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        self.list_key = RUNS_LISTED if self.started_at is not None else None
        self.open_key = RUNS_OPEN if self.status != RUN_CLOSED else None
        return super().serialize(null_check)


@registered
class RunCounterRecord(Model):
    """One shard of a run's progress counters ("<run_id>#<shard>"), added to (ADD)
    by whoever does the work; the progress view sums the shards."""

    Meta = table_meta("run_counters")

    counter_key = UnicodeAttribute(hash_key=True)
    meters_total = NumberAttribute(default=0)
    requests_sent = NumberAttribute(default=0)
    delivery_failures = NumberAttribute(default=0)
    answered = NumberAttribute(default=0)
    no_response = NumberAttribute(default=0)
    rejected = NumberAttribute(default=0)
    held = NumberAttribute(default=0)
    bills_issued = NumberAttribute(default=0)
    estimated_bills = NumberAttribute(default=0)
    notices_sent = NumberAttribute(default=0)
    notices_delivered = NumberAttribute(default=0)
    notices_bounced = NumberAttribute(default=0)
    notices_complained = NumberAttribute(default=0)
    notices_suppressed = NumberAttribute(default=0)
    notices_failed = NumberAttribute(default=0)
    answered_by_target = NumberAttribute(default=0)


class SilentByRun(GlobalSecondaryIndex["SilentMeterRecord"]):
    """"<run_id>#<shard>" -> the run's silent meters by meter id."""

    Meta = gsi_meta("by_run")
    run_shard = UnicodeAttribute(hash_key=True)
    meter_id = UnicodeAttribute(range_key=True)


@registered
class SilentMeterRecord(Model):
    """A meter that gave no reading in a run, as its close found it."""

    Meta = table_meta("run_silent_meters")

    silent_key = UnicodeAttribute(hash_key=True)  # "<run_id>#<meter_id>"
    run_shard = UnicodeAttribute()  # "<run_id>#<shard of the meter>": the by_run index
    run_id = UnicodeAttribute()
    meter_id = UnicodeAttribute()
    property_id = UnicodeAttribute(null=True)
    # no_answer | unreachable | meter_error | not_asked | reading_rejected (answered, every
    # reading refused; listed only when its billing-date meter-day billed it)
    why = UnicodeAttribute()
    detail = UnicodeAttribute(null=True)
    # daily_read (an actual bill from the meter-day latched at the billing date) | estimated
    # | no_bill | no_history | no_tariff | already_billed | prepaid
    outcome = UnicodeAttribute()
    bill_ids = ListAttribute(of=UnicodeAttribute, null=True)
    close_generation = NumberAttribute()
    listed_at = UTCDateTimeAttribute()

    by_run = SilentByRun()


@registered
class RunSliceRecord(Model):
    """A slice of listing or closing that was done: "<run>#<kind><gen>#<shard>#<page>"."""

    Meta = table_meta("run_slices")

    slice_key = UnicodeAttribute(hash_key=True)
    state = UnicodeAttribute()  # claimed (counted, messages being sent) | sent
    purge_at_epoch = NumberAttribute(null=True)
