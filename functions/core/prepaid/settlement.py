"""A payment-mode change from any day D: what settles each side (issue 24 item 2).

postpaid -> prepaid on D (not the 1st): a final postpaid bill for the 1st..D-1 of D's
month, priced as `charge_to_date(D-1)` (billing_rules/daily_debits.py: slabs, fixed and
flat charges pro-rated by the days, as for a partial period) from the meter-days that
open the month and close D-1 (latched at 00:00 IST of D). The day's debits then start
at D, each less what the final bill already charged (`settled_paise` in the mode
history), so final bill + debits = the month's postpaid bill, to the paisa.
On the 1st no final bill is needed: the previous month's bill of the billing run is it.

prepaid -> postpaid on D: the debits up to D-1 close the prepaid part of the month (the
debit of D-1 is posted now if the daily cycle's hook has not yet), and the balance left
is carried to the postpaid account (a ledger entry bringing the balance to 0). The
billing run's bill of D's month prices the whole month from its opening register and
takes off the prepaid debits and the carried balance (`postpaid_part`, two lines).

Every step is idempotent: the final bill is a conditional write on its deterministic
id, the carry a ledger entry keyed by D; a retried change finds both and adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from functions.core.billing_rules import BillingPeriod, due_date
from functions.core.billing_rules.daily_debits import charge_to_date
from functions.core.billing_rules.periods import ist_midnight_utc
from functions.core.billing_rules.tariff import LineItem, PricedBill
from functions.core.bills.history import histories
from functions.core.bills.models import BillRecord, bill_id_for
from functions.core.bills.netting import earlier_bills, net_new_bills
from functions.core.errors import Conflict
from functions.core.money import from_paise, sum_money, to_paise
from functions.core.prepaid.models import MODE_POSTPAID, MODE_PREPAID, PrepaidAccountRecord
from functions.core.properties.models import PropertyRecord

RUN_ID = "mode-change"  # the run_id of a final bill (no billing run made it)


@dataclass(frozen=True)
class FinalBill:
    bill_id: str
    charged_paise: int  # what the bill charged for the days (before credits/arrears)
    units: int


def settle_postpaid(prop: PropertyRecord, from_day: date, now: datetime) -> FinalBill:
    """The final postpaid bill for the 1st..from_day-1 of from_day's month (written once;
    a retry finds it). Conflict if the month has a bill of a billing run already."""
    from functions.core.bills.service import BillingService
    from functions.core.prepaid.daily import month_to_date

    period = BillingPeriod(from_day.year, from_day.month)
    bill_id = bill_id_for(prop.property_id, str(period))
    service = BillingService(clock=lambda: now)
    existing = service.bills.get(bill_id)
    if existing is not None:
        return _final_of(existing)
    if not prop.meter_id:
        raise Conflict("The connection has no meter to read the final postpaid bill from.")
    last = from_day - timedelta(days=1)
    measured = month_to_date(prop.meter_id, last)
    tariff = service._tariff_for(prop.category, period)  # locked like a run's bill
    versions = [tariff.version, *(v.version for v in tariff.later)]
    load = Decimal(prop.sanctioned_load_kw)
    priced = charge_to_date(versions, prop.category, last, measured.units, load,
                            usage=measured.usage)
    history = histories([(prop, period)], service.bills)[(prop.property_id, str(period))]
    payer = _payer_on(prop, last)
    days = f"{last.day}/{period.days}"
    bill = BillRecord(
        bill_id=bill_id, property_id=prop.property_id, period=str(period),
        consumer_number=prop.consumer_number, payer_id=payer, owner_id=prop.owner_id,
        meter_id=prop.meter_id, run_id=RUN_ID, issued_at=now,
        due_date=due_date(now, tariff.version.due_days).isoformat(),
        category=prop.category, tariff_name=tariff.version.name,
        tariff_version=tariff.version_id, sanctioned_load_kw=prop.sanctioned_load_kw,
        late_payment_surcharge_percent=str(tariff.late_payment_surcharge_percent),
        current_read_at=ist_midnight_utc(from_day), units=measured.units,
        actual_units=measured.units, share_first_day=period.first_day.isoformat(),
        share_last_day=last.isoformat(), days_fraction=days,
        line_items=[_line(line) for line in priced.lines],
        total=f"{priced.total:.2f}", total_paise=to_paise(priced.total))
    plan = net_new_bills([bill], earlier_bills(history, str(period), service.bills), now)
    emails = service.bill_emails([bill], prop, {})

    def extra(transaction: Any) -> None:
        if plan:
            plan.write(transaction)
        service.outbox.add_to(transaction, emails)

    if not service.bills.create([bill], extra=extra):
        found = service.bills.get(bill_id)  # a concurrent retry wrote it first
        if found is None:
            raise Conflict("The final bill could not be written; try again.")
        return _final_of(found)
    service.notify([bill])
    return FinalBill(bill_id, to_paise(priced.total), measured.units)


def _final_of(bill: BillRecord) -> FinalBill:
    if bill.run_id != RUN_ID:
        raise Conflict(f"The postpaid bill of {bill.period} is issued already ({bill.bill_id}); "
                       "change the mode from a day of the next month.")
    charged = bill.charges_paise if bill.charges_paise is not None else bill.total_paise
    return FinalBill(bill.bill_id, int(charged), int(bill.units))


def _payer_on(prop: PropertyRecord, day: date) -> str:
    """Who occupied the property on `day` (the final bill's one payer)."""
    from functions.core.properties.occupancy import occupants_for_period
    from functions.core.properties.repositories import TenancyRepository

    occupants = occupants_for_period(prop, TenancyRepository().of_property(prop.property_id),
                                     ist_midnight_utc(day), ist_midnight_utc(day + timedelta(1)))
    return occupants[-1].payer_id if occupants else prop.owner_id


def _line(line: LineItem) -> Any:
    from functions.core.bills.models import LineItemAttribute

    return LineItemAttribute(
        kind=line.kind, label=line.label,
        quantity=None if line.quantity is None else str(line.quantity), unit=line.unit,
        rate=None if line.rate is None else str(line.rate), amount=f"{line.amount:.2f}")


def close_prepaid(connection_id: str, meter_id: str | None, from_day: date) -> None:
    """Post the debit of from_day-1 if the daily cycle's hook has not (once: keyed by
    day). MissingRead (409) names the read when the day is not read yet."""
    from functions.core.daily.models import MeterDayRecord
    from functions.core.prepaid.daily import MissingRead, debit_from_day

    if not meter_id:
        return  # no meter, no daily reads: the debits posted are all there is
    last = from_day - timedelta(days=1)
    try:
        item = MeterDayRecord.get(meter_id, last.isoformat(), consistent_read=True)
    except MeterDayRecord.DoesNotExist:
        raise MissingRead(meter_id, last) from None
    debit_from_day(item, connection_id)


# ---- the postpaid bill of a month the connection was prepaid in ---------------------------


@dataclass(frozen=True)
class PostpaidPart:
    """How the billing run bills a property with a prepaid account, for one period."""

    skip: bool  # prepaid at the period's end: daily debits (and a final bill) charge it
    opening_day: date | None = None  # bill from this meter-day's register, not the last bill
    lines: tuple[LineItem, ...] = ()  # the prepaid debits and the carried balance, taken off


def postpaid_part(account: PrepaidAccountRecord | None, period: BillingPeriod
                  ) -> PostpaidPart | None:
    """None: bill as usual (never prepaid, or prepaid only before the last bill)."""
    if account is None or not account.mode_history:
        return None
    if mode_on(account, period.last_day) == MODE_PREPAID:
        return PostpaidPart(skip=True)
    change = next((c for c in account.mode_history if c["mode"] == MODE_POSTPAID
                   and period.first_day <= date.fromisoformat(c["from"]) <= period.last_day),
                  None)
    if change is None:
        return None
    start = date.fromisoformat(change["from"])
    lines = []
    debits = int(change.get("debits_paise") or 0)
    if debits:
        lines.append(LineItem(
            kind="credit", label=f"Prepaid daily debits {period.first_day:%d %b}-"
                                 f"{start - timedelta(days=1):%d %b}", amount=-from_paise(debits)))
    carried = int(change.get("carried_paise") or 0)
    if carried:
        lines.append(LineItem(kind="credit", label="Prepaid balance carried to this account",
                              amount=-from_paise(carried)))
    return PostpaidPart(skip=False, opening_day=period.first_day - timedelta(days=1),
                        lines=tuple(lines))


def with_lines(priced: PricedBill, lines: tuple[LineItem, ...]) -> PricedBill:
    """The bill with the prepaid lines taken off its total."""
    if not lines:
        return priced
    return priced.model_copy(update={
        "lines": (*priced.lines, *lines),
        "total": priced.total + sum_money(line.amount for line in lines)})


def mode_on(account: PrepaidAccountRecord, day: date) -> str:
    """The payment mode in force on `day` (postpaid before the first change)."""
    mode = MODE_POSTPAID
    for change in account.mode_history or []:
        if date.fromisoformat(change["from"]) <= day:
            mode = change["mode"]
    return mode


def settled_before(account: PrepaidAccountRecord, day: date) -> int:
    """Paise of `day`'s month charged by the final postpaid bill of a change to prepaid
    in that month (the debits are measured against it as against earlier debits)."""
    for change in reversed(account.mode_history or []):
        start = date.fromisoformat(change["from"])
        if start <= day:
            same_month = (start.year, start.month) == (day.year, day.month)
            if change["mode"] == MODE_PREPAID and same_month:
                return int(change.get("settled_paise") or 0)
            return 0
    return 0
