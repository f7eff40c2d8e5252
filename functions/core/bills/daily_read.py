"""Billing a meter from the daily cycle's read when its billing run got no usable reading.

The daily cycle (functions/core/daily) keeps one meter-day per meter and day: the registers
latched at 00:00 IST at the end of that day. The meter-day of a period's last day is latched
at the period's billing date, the very instant a v2 billing snapshot is latched. So when a
run closes and a meter stayed silent (or every reading it sent in the run was rejected), the
close slice bills it from that meter-day as an ACTUAL read, not an estimate: the same
validation (the snapshot's VEE rules, then decrease / future / spike), the same true-up of
earlier estimates, the same pricing, and the bill records the day it was read from
(`meter_day`) so the bill page and PDF say so.

Only that exact day is used (docs/billing.md, "Billing from the daily read"): another day's
registers would bill another span than the period. Without it the run's policy applies as
before (estimate or no bill). A meter-day that breaks a rule is not billed either; the silent
meter's item says why.

Idempotent like the estimate path: the bill's id is deterministic and written with a
condition, and its `reading_key` ("daily#<day>") and `run_id` tell a redelivered close slice
that the bill is its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from functions.core.accounts.models import UserRecord
from functions.core.billing_rules import (
    BillingPeriod,
    ReadingStatus,
    RegisterReading,
    TariffNotFound,
    format_ist_date,
    validate_reading,
)
from functions.core.billing_rules.periods import ist_date
from functions.core.billing_rules.readings import SpikePolicy
from functions.core.billing_rules.snapshots import SnapshotCheck
from functions.core.bills.history import PropertyHistory
from functions.core.bills.models import BillRecord
from functions.core.bills.service import (
    REASON_PREPAID,
    REGISTER_ROLLOVER_WH,
    BillingService,
    Consumption,
    _installed_at,
    _replaced_meter,
    _starting_point,
    opening_register,
    trued_up,
)
from functions.core.bills.snapshots import billed_registers, billing_day, registers_of_day
from functions.core.daily.models import MeterDayRecord
from functions.core.meters.models import MeterRecord
from functions.core.prepaid.repository import AccountRepository
from functions.core.prepaid.settlement import postpaid_part
from functions.core.properties.models import PropertyRecord, TenancyRecord

READING_KEY_PREFIX = "daily#"
DAILY_READ = "daily_read"  # the silent meter's outcome: billed from its meter-day


def meter_day_keys(meter_ids: list[str], period: BillingPeriod
                   ) -> list[tuple[type[MeterDayRecord], str, str]]:
    """The keys of the meters' billing-date meter-days (for one BatchGetItem)."""
    day = billing_day(period)
    return [(MeterDayRecord, meter_id, day) for meter_id in meter_ids]


def is_daily_bill(bill: BillRecord, run_id: str | None = None) -> bool:
    """A bill made from a meter-day (by `run_id`, if given)."""
    return bool(bill.meter_day) and (run_id is None or bill.run_id == run_id)


def read_from_display(bill: BillRecord) -> str | None:
    """"Read from the daily snapshot of 1 Dec 2026 (00:00 IST)" on a bill billed from a
    meter-day (the latch is 00:00 IST of the day after the meter-day), else None."""
    if not bill.meter_day:
        return None
    latched = BillingPeriod.parse(bill.period).end_utc
    return (f"Read from the daily snapshot of {format_ist_date(ist_date(latched))} "
            "(00:00 IST): the meter did not answer the billing run with a usable reading")


@dataclass
class DailyBilling:
    """What billing from the meter-day came to."""

    outcome: str  # daily_read | already_billed | not_usable | no_tariff
    bills: list[BillRecord] = field(default_factory=list)
    detail: str | None = None


def bill_from_meter_day(service: BillingService, meter: MeterRecord, prop: PropertyRecord,
                        run_id: str, period: BillingPeriod, day: MeterDayRecord, *,
                        history: PropertyHistory | None = None,
                        users: dict[str, UserRecord] | None = None,
                        tenancies: list[TenancyRecord] | None = None) -> DailyBilling:
    """Bill the property's period from the meter-day, as ReadingBatch bills a reading."""
    part = postpaid_part(AccountRepository().get(prop.property_id), period)
    if part is not None and part.skip:
        return DailyBilling(REASON_PREPAID, detail="prepaid: its daily debits charge the month")
    history = history or service.history_of(prop, period)
    billed = history.of(str(period))
    if billed is not None:
        shares = service.shares_of(billed)
        return DailyBilling(DAILY_READ if is_daily_bill(billed.first, run_id)
                            else "already_billed", shares)
    last = history.last_actual(str(period))
    previous, replacement, initial = _starting_point(last, meter)
    estimates = history.estimates_since_last_actual(str(period))
    if part is not None and part.opening_day is not None:  # prepaid until this month
        previous = opening_register(meter.meter_id, part.opening_day)
        if previous is None:
            return DailyBilling("not_usable", detail=f"no daily read of {part.opening_day}")
        replacement, estimates = None, []
    snapshot = billed_registers(
        registers_of_day(day, period.end_utc), meter.meter_id, previous=previous,
        last_bill=last.first if last else None, replaced=replacement is not None,
        period=period, sanctioned_load_kw=Decimal(prop.sanctioned_load_kw),
        rollover_wh=REGISTER_ROLLOVER_WH)
    if isinstance(snapshot, SnapshotCheck):
        return DailyBilling("not_usable", detail=f"{snapshot.reason}: {snapshot.detail}")
    current = snapshot or RegisterReading(int(day.import_wh), day.read_at)
    check = validate_reading(
        current, previous, now=service.clock(), initial_register_wh=initial,
        replacement=replacement, rollover_wh=REGISTER_ROLLOVER_WH,
        history_units=history.monthly_actual_units(str(period)),
        months_covered=len(estimates) + 1, spike_policy=SpikePolicy(),
        period_end=period.end_utc)
    if check.status is not ReadingStatus.ACCEPTED:
        reason = check.reason.value if check.reason else check.status.value
        return DailyBilling("not_usable", detail=f"{reason}: {check.detail}")
    measured = int(check.units or 0)
    units_to_bill, credit = trued_up(measured, estimates)
    consumption = Consumption(
        units=units_to_bill, actual_units=measured, estimated=False,
        current=current, reading_key=f"{READING_KEY_PREFIX}{day.day}",
        trued_up=tuple(estimates), credit=credit, installation=previous is None,
        previous=previous or RegisterReading(initial, _installed_at(meter)),
        replaced=_replaced_meter(meter, replacement), meter_day=str(day.day),
        prepaid_lines=part.lines if part is not None else ())
    users = {} if users is None else users
    try:
        bills = service.issue(prop, meter, period, run_id, consumption, users, tenancies,
                              history=history)
    except TariffNotFound as error:
        return DailyBilling("no_tariff", detail=error.message)
    if bills is None:  # billed meanwhile (a reading, or this slice's other delivery)
        existing = service.billed(prop.property_id, period)
        shares = service.shares_of(existing) if existing else []
        ours = bool(shares) and is_daily_bill(shares[0], run_id)
        return DailyBilling(DAILY_READ if ours else "already_billed", shares)
    service.notify(bills, prop, users)
    return DailyBilling(DAILY_READ, bills)


__all__ = ["DAILY_READ", "DailyBilling", "bill_from_meter_day", "billing_day", "is_daily_bill",
           "meter_day_keys", "read_from_display", "registers_of_day"]
