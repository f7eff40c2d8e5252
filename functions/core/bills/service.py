"""The bill service: from a verified reading (or a silent meter) to bills.

For each reading the billing function receives:
1. load what it needs in bulk for the whole SQS batch (meters, properties, the
   stored readings, the owners: one BatchGetItem each);
2. read the property's earlier bills (one query): they hold the previous
   accepted register, the estimated periods since, and the monthly history;
3. validate the reading (billing_rules.validate_reading): a decrease without a
   recorded replacement or rollover, a reading from the future, or one taken
   before the previous is rejected; a spike against the trailing average is
   held for an admin. Either way the stored reading keeps its verdict and
   reason, and no bill is made;
4. price it with the tariff version in force for the period (cached per
   container), true up earlier estimates, split it by days between the
   occupants of the period, and write the bill(s) with a condition on the
   deterministic id (bills.repository.create): a redelivered message, a
   concurrent handler or a re-run find the bill there and write nothing;
5. the payer's email is written with the bill, in the same transaction (an
   outbox item keyed by the bill id, functions/core/notifications); its key goes
   to the notifications queue when the batch finishes, then record the verdict
   (stored readings and run counters are written once per batch, in `finish`).

If the function dies between writing a bill and recording its verdict, the
redelivered reading finds "its own" bill (same reading key): it queues the
email's key again, and the sender, finding it sent, sends nothing. Bills and
their emails are written exactly once; docs/notifications.md has the one
window left between SES accepting an email and the sender marking it sent.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from functions.core.accounts.models import UserRecord
from functions.core.accounts.users import UserRepository
from functions.core.billing_rules import (
    BillingPeriod,
    MeterReplacement,
    PricedBill,
    ReadingStatus,
    RegisterReading,
    TariffNotFound,
    credit_amount,
    due_date,
    estimate_units,
    format_ist_date,
    parse_period,
    split_by_days,
    true_up,
    validate_reading,
)
from functions.core.billing_rules.periods import ist_midnight_utc
from functions.core.billing_rules.readings import ReadingCheck, SpikePolicy
from functions.core.billing_rules.tariff import LineItem
from functions.core.bills.history import PeriodBill, PropertyHistory, histories, history_keys
from functions.core.bills.models import BillRecord, LineItemAttribute, bill_id_for
from functions.core.bills.netting import earlier_bills, net_new_bills
from functions.core.bills.repository import BillRepository, ItemKey, get_items, tenancies_of
from functions.core.bills.snapshots import (
    SnapshotRegister,
    bill_fields,
    billed_register,
    daily_snapshot,
    lacks_snapshot,
)
from functions.core.bills.tariff_inputs import banked_before, set_tariff_fields, usage_of
from functions.core.clock import utcnow
from functions.core.daily.models import MeterDayRecord
from functions.core.db import cancellation_codes
from functions.core.i18n import DEFAULT_LANGUAGE, format_date_ist, normalise
from functions.core.logs import logger
from functions.core.messages import VerifiedReading
from functions.core.meters.models import MeterRecord, RawReadingRecord
from functions.core.meters.repositories import MeterRepository
from functions.core.money import ZERO, format_inr, from_paise, to_paise
from functions.core.notifications.models import OutboxRecord
from functions.core.notifications.outbox import Outbox, email_record, message_key, sms_record
from functions.core.notifications.service import bill_topic
from functions.core.notifications.sms_messages import (
    bill_ready_sms,
    language_of,
    wants_email,
    wants_sms,
)
from functions.core.notifications.templates import render_email
from functions.core.payments.receipts import period_label
from functions.core.payments.upi import bill_upi_link
from functions.core.prepaid.models import PrepaidAccountRecord
from functions.core.prepaid.repository import AccountRepository
from functions.core.prepaid.settlement import postpaid_part, with_lines
from functions.core.properties.models import PropertyRecord, TenancyRecord
from functions.core.properties.occupancy import Occupancy, occupants_for_period
from functions.core.properties.repositories import TenancyRepository
from functions.core.runs import progress
from functions.core.settings import get_settings
from functions.core.tariffs.service import PricingTariff, TariffBook, TariffChanged

# Meter registers count up to 999,999 kWh and then wrap to 0.
REGISTER_ROLLOVER_WH = 1_000_000_000

ACCEPTED, REJECTED, HELD = (ReadingStatus.ACCEPTED.value, ReadingStatus.REJECTED.value,
                            ReadingStatus.HELD.value)
VERDICTS = (ACCEPTED, REJECTED, HELD)

# Reasons of our own, next to billing_rules.ReadingReason.
REASON_ALREADY_BILLED = "period_already_billed"
REASON_NOT_AT_PROPERTY = "meter_not_at_a_property"
REASON_NO_TARIFF = "no_tariff"
REASON_REJECTED_BY_ADMIN = "rejected_by_admin"
REASON_PREPAID = "prepaid"  # charged by the prepaid ledger's daily debits that month
REASON_NO_OPENING_READ = "no_opening_read"

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")

BillsHook = Callable[[list[BillRecord]], None]

# Loads of a category's tariffs when versions keep changing under a lock.
TARIFF_ATTEMPTS = 3

# DynamoDB's limit on the items of one TransactWriteItems.
TRANSACTION_MAX_ITEMS = 100
# Tries of a batch's verdicts transaction, dropping those another delivery decided.
VERDICT_ATTEMPTS = 3


class ReadingNotStored(Exception):
    """A readings-queue message names a reading that is not in the readings table."""


def month_label(period: BillingPeriod | str) -> str:
    billing_period = parse_period(period) if isinstance(period, str) else period
    return f"{MONTHS[billing_period.month - 1]} {billing_period.year}"


def bill_link(bill_id: str) -> str:
    return f"{get_settings().portal_origin}/bill.html?id={quote(bill_id, safe='')}"


@dataclass(frozen=True)
class Consumption:
    """What one bill charges for: units, the registers they come from, and the
    estimated periods it trues up."""

    units: int  # units to bill this period (after any true-up)
    actual_units: int | None  # measured since the last actual reading; None if estimated
    estimated: bool
    previous: RegisterReading | None
    current: RegisterReading | None
    reading_key: str | None
    trued_up: tuple[PeriodBill, ...] = ()
    credit: Decimal = ZERO
    installation: bool = False  # `previous` is the meter's installation register
    replaced: ReplacedMeter | None = None  # a meter replaced since `previous`
    # A month the connection left prepaid in: its debits and carried balance, taken off.
    prepaid_lines: tuple[LineItem, ...] = ()
    # The daily cycle's meter-day the registers come from (the run had no usable reading).
    meter_day: str | None = None


@dataclass(frozen=True)
class ReplacedMeter:
    """The meter replaced since the last actual reading: its final register, and
    the first register of the meter that replaced it (rows of their own on the bill)."""

    meter_id: str
    final_register_wh: int
    replaced_at: datetime | None
    new_first_register_wh: int


@dataclass
class Verdict:
    status: str
    reason: str | None = None
    detail: str | None = None
    bills: list[BillRecord] = field(default_factory=list)


class BillingService:
    """Holds the repositories, the tariff cache and the outbox; cheap to keep
    for the life of a container (the billing function keeps one)."""

    def __init__(self, bills: BillRepository | None = None, tariffs: TariffBook | None = None,
                 meters: MeterRepository | None = None,
                 tenancies: TenancyRepository | None = None,
                 users: UserRepository | None = None,
                 outbox: Outbox | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 after_bills_written: BillsHook | None = None) -> None:
        self.bills = bills or BillRepository()
        self.tariffs = tariffs or TariffBook()
        self.meters = meters or MeterRepository()
        self.tenancies = tenancies or TenancyRepository()
        self.users = users or UserRepository()
        self.outbox = outbox or Outbox()
        self.clock = clock
        self.after_bills_written = after_bills_written
        # Bill id -> the outbox keys written with it (email and/or SMS, as the payer
        # chose), so `notify` queues exactly those; absent: the email's key alone.
        self._message_keys: dict[str, list[str]] = {}

    # ---- readings -----------------------------------------------------------

    def start_batch(self, readings: Sequence[VerifiedReading]) -> ReadingBatch:
        return ReadingBatch(self, readings)

    # ---- silent meters --------------------------------------------------------

    def estimate(self, meter: MeterRecord, prop: PropertyRecord, run_id: str,
                 period: BillingPeriod, *, history: PropertyHistory | None = None,
                 users: dict[str, UserRecord] | None = None,
                 tenancies: list[TenancyRecord] | None = None
                 ) -> tuple[str, list[BillRecord]]:
        """An estimated bill for a meter that did not answer: the mean of the
        property's last actual months. Returns (outcome, bills) where outcome is
        "estimated", "already_billed" or "no_history" (nothing to estimate from).
        A caller estimating many meters passes what it loaded for all of them at once
        (history, users, tenancies)."""
        part = postpaid_part(AccountRepository().get(prop.property_id), period)
        if part is not None and part.skip:
            return REASON_PREPAID, []  # its daily debits charge the month
        history = history or self.history_of(prop, period)
        billed = history.of(str(period))
        if billed is not None:
            return "already_billed", self.shares_of(billed)
        units = estimate_units(history.monthly_actual_units(str(period)))
        if units is None:
            return "no_history", []
        consumption = Consumption(units=units, actual_units=None, estimated=True,
                                  previous=None, current=None, reading_key=None,
                                  prepaid_lines=part.lines if part is not None else ())
        users = {} if users is None else users
        bills = self.issue(prop, meter, period, run_id, consumption, users, tenancies,
                           history=history)
        if bills is None:
            existing = self.billed(prop.property_id, period)
            return "already_billed", self.shares_of(existing) if existing else []
        self.notify(bills, prop, users)
        return "estimated", bills

    # ---- shared steps ---------------------------------------------------------

    def history_of(self, prop: PropertyRecord, period: BillingPeriod) -> PropertyHistory:
        return histories([(prop, period)], self.bills)[(prop.property_id, str(period))]

    def billed(self, property_id: str, period: BillingPeriod) -> PeriodBill | None:
        """The property's bill for the period (strongly consistent), if any."""
        first = self.bills.get(bill_id_for(property_id, str(period)))
        return PeriodBill(first.period, first) if first is not None else None

    def shares_of(self, billed: PeriodBill) -> list[BillRecord]:
        """Every share of a period's bill (one record unless it was split)."""
        if billed.share_count == 1:
            return [billed.first]
        ids = [bill_id_for(billed.first.property_id, billed.period, n)
               for n in range(1, billed.share_count + 1)]
        return sorted(self.bills.get_many(ids), key=lambda b: int(b.share))

    def issue(self, prop: PropertyRecord, meter: MeterRecord, period: BillingPeriod,
              run_id: str, consumption: Consumption, users: dict[str, UserRecord],
              tenancies: list[TenancyRecord] | None = None,
              history: PropertyHistory | None = None) -> list[BillRecord] | None:
        """Price, split and write the property's bill for the period. None if it
        already has one (nothing written). TariffNotFound if no tariff is in force.
        `tenancies`: the property's tenancies if the caller loaded them already."""
        tariff = self._tariff_for(prop.category, period)
        history = history or self.history_of(prop, period)
        # Export, zones, demand and net metering's bank: from what the batch loaded.
        banked = banked_before(history, str(period))
        priced = tariff.price(consumption.units, Decimal(prop.sanctioned_load_kw),
                              consumption.credit, usage=usage_of(consumption.current),
                              banked_units=banked)
        priced = with_lines(priced, consumption.prepaid_lines)
        if tenancies is None:
            tenancies = self.tenancies.of_property(prop.property_id)
        occupants = occupants_for_period(prop, tenancies,
                                         period.start_utc, period.end_utc)
        bills = self._records(prop, meter, period, run_id, consumption, tariff, priced,
                              occupants)
        for bill in bills:
            set_tariff_fields(bill, priced, tariff.latest, banked)
        # Credits and arrears: net against what each payer owes at the property.
        plan = net_new_bills(bills, earlier_bills(history, str(period), self.bills),
                             self.clock())
        # Each payer's email goes into the bill's own transaction: one bill, one email.
        emails = self.bill_emails(bills, prop, users)

        def extra(transaction: TransactWrite) -> None:
            if plan:
                plan.write(transaction)
            self.outbox.add_to(transaction, emails)

        if not self.bills.create(bills, extra=extra if plan or emails else None):
            for bill in bills:  # written before: the messages are the earlier write's
                self._message_keys.pop(bill.bill_id, None)
            return None
        if self.after_bills_written is not None:
            self.after_bills_written(bills)
        return bills

    def bill_emails(self, bills: Iterable[BillRecord], prop: PropertyRecord,
                    users: dict[str, UserRecord]) -> list[OutboxRecord]:
        """The outbox items of the bills' emails (one per share's payer)."""
        records = []
        for bill in bills:
            payer = users.get(bill.payer_id) or self.users.get(bill.payer_id)
            if payer is None:
                logger.warning("bill payer not found; no email", extra={"bill_id": bill.bill_id})
                continue
            users[payer.user_id] = payer
            keys = self._message_keys.setdefault(bill.bill_id, [])
            if wants_email(payer):
                records.append(email_record(
                    bill_message_key(bill), render_email("bill_issued", lang=payer.language,
                                                         **bill_email_context(bill, prop, payer)),
                    payer.email, topic=bill_topic(bill.period),
                    now=self.clock(), ref=bill.bill_id, recipient_id=payer.user_id))
                keys.append(records[-1].message_key)
            if wants_sms(payer) and bill.consumer_number:
                # The bill-ready SMS (DLT template bill_ready, in the payer's language).
                records.append(sms_record(
                    message_key("bill_ready", bill.bill_id), bill_ready_sms(
                        period=bill.period, consumer_number=bill.consumer_number,
                        amount=from_paise(int(bill.total_paise) + int(bill.arrears_paise or 0)),
                        due_date=bill.due_date, lang=language_of(payer)),
                    payer.mobile, topic=f"sms:{bill.period}", now=self.clock(),
                    ref=bill.bill_id, recipient_id=payer.user_id))
                keys.append(records[-1].message_key)
        return records

    def notify(self, bills: Iterable[BillRecord], prop: PropertyRecord | None = None,
               users: dict[str, UserRecord] | None = None) -> None:
        """Queue the bills' emails (written with the bills) for the sender: sent once,
        however often this runs."""
        self.outbox.dispatch([key for bill in bills for key in self._message_keys.pop(
            bill.bill_id, [bill_message_key(bill)])])

    def _tariff_for(self, category: str, period: BillingPeriod) -> PricingTariff:
        """The version the rules select for the period, locked before it prices:
        a cached list that a tariff write made stale fails the lock and is loaded
        again (TariffChanged after three tries: the message is retried)."""
        for attempt in range(TARIFF_ATTEMPTS):
            tariff = self.tariffs.for_period(category, period)
            try:
                self.tariffs.mark_used(tariff, period)
                return tariff
            except TariffChanged:
                if attempt == TARIFF_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _records(self, prop: PropertyRecord, meter: MeterRecord, period: BillingPeriod,
                 run_id: str, consumption: Consumption, tariff: PricingTariff,
                 priced: PricedBill, occupants: list[Occupancy]) -> list[BillRecord]:
        issued_at = self.clock()
        due = due_date(issued_at, tariff.version.due_days).isoformat()
        common: dict[str, Any] = dict(
            property_id=prop.property_id, period=str(period), owner_id=prop.owner_id,
            consumer_number=prop.consumer_number, meter_id=meter.meter_id, run_id=run_id,
            issued_at=issued_at, due_date=due,
            category=tariff.category, tariff_name=tariff.version.name,
            tariff_version=tariff.version_id, sanctioned_load_kw=prop.sanctioned_load_kw,
            late_payment_surcharge_percent=str(tariff.late_payment_surcharge_percent),
            **bill_fields(consumption.current),
            previous_register_wh=consumption.previous.register_wh
            if consumption.previous else None,
            previous_read_at=consumption.previous.read_at if consumption.previous else None,
            current_register_wh=consumption.current.register_wh
            if consumption.current else None,
            current_read_at=consumption.current.read_at if consumption.current else None,
            reading_key=consumption.reading_key, units=consumption.units,
            actual_units=consumption.actual_units, estimated=consumption.estimated,
            trued_up_periods=[p.period for p in consumption.trued_up] or None,
            estimated_units_trued_up=sum(p.units for p in consumption.trued_up)
            if consumption.trued_up else None,
            share_count=len(occupants),
            previous_is_installation=consumption.installation or None,
            meter_day=consumption.meter_day,
            **_replacement_fields(consumption.replaced),
        )
        if len(occupants) == 1:
            return [BillRecord(
                bill_id=bill_id_for(prop.property_id, str(period)),
                payer_id=occupants[0].payer_id, share=1,
                share_first_day=period.first_day.isoformat(),
                share_last_day=period.last_day.isoformat(),
                line_items=[_line(line) for line in priced.lines],
                total=f"{priced.total:.2f}", total_paise=to_paise(priced.total), **common)]
        shares = split_by_days(priced, [o.as_span() for o in occupants], period)
        return [BillRecord(
            bill_id=bill_id_for(prop.property_id, str(period), n),
            payer_id=share.occupant_id, share=n,
            share_first_day=share.first_day.isoformat(),
            share_last_day=share.last_day.isoformat(), days_fraction=share.days_fraction,
            share_units=str(share.units), property_total=f"{priced.total:.2f}",
            line_items=[_line(full, part.amount) for full, part in
                        zip(priced.lines, share.lines, strict=True)],
            total=f"{share.total:.2f}", total_paise=to_paise(share.total), **common)
            for n, share in enumerate(shares, start=1)]


def _line(line: Any, share_amount: Decimal | None = None) -> LineItemAttribute:
    return LineItemAttribute(
        kind=line.kind, label=line.label,
        quantity=None if line.quantity is None else str(line.quantity),
        unit=line.unit, rate=None if line.rate is None else str(line.rate),
        amount=f"{(line.amount if share_amount is None else share_amount):.2f}",
        property_amount=None if share_amount is None else f"{line.amount:.2f}",
    )


def bill_message_key(bill: BillRecord) -> str:
    """The outbox key of a bill's email: one per bill (share), whatever reruns."""
    return message_key("bill_issued", bill.bill_id)


def bill_email(bill: BillRecord, prop: PropertyRecord, payer: UserRecord) -> tuple[str, str]:
    """Subject and text of the "your bill is ready" email (amounts in ₹ with
    Indian grouping, dates in IST): notifications/templates/email/bill_issued."""
    rendered = render_email("bill_issued", lang=payer.language,
                            **bill_email_context(bill, prop, payer))
    return rendered.subject, rendered.text


def bill_email_context(bill: BillRecord, prop: PropertyRecord,
                       payer: UserRecord) -> dict[str, Any]:
    """What the bill email template shows, formatted (₹, IST dates; month names in
    the payer's language)."""
    lang = normalise(payer.language)

    def inr(paise: Any) -> str:
        return format_inr(from_paise(int(paise)))

    def ist_day(value: str) -> str:
        day = datetime.fromisoformat(value).date()
        return format_ist_date(day) if lang == DEFAULT_LANGUAGE else format_date_ist(day, lang)

    def month(period: str) -> str:
        if lang == DEFAULT_LANGUAGE:
            return month_label(period)
        year, number = period.split("-")[:2]
        return format_date_ist(date(int(year), int(number), 1), lang, month="long")

    share = None
    if bill.share_count and int(bill.share_count) > 1:
        share = {"first": ist_day(bill.share_first_day), "last": ist_day(bill.share_last_day),
                 "fraction": bill.days_fraction,
                 "whole": format_inr(Decimal(bill.property_total or 0))}
    charges = int(bill.total_paise if bill.charges_paise is None else bill.charges_paise)
    arrears = int(bill.arrears_paise or 0)
    surcharge = int(bill.arrears_surcharge_paise or 0)
    return {
        "payer_name": payer.name, "month": month(bill.period), "bill_id": bill.bill_id,
        "consumer_number": bill.consumer_number,
        "address": ", ".join(p for p in (prop.line1, prop.city) if p),
        "units": bill.share_units or bill.units, "estimated": bool(bill.estimated),
        "amount": format_inr(bill.amount), "due": ist_day(bill.due_date),
        "link": bill_link(bill.bill_id), "share": share,
        # Credits netted and arrears brought forward, as the bill shows them.
        "credit_this_period": inr(-charges) if charges < 0 else None,
        "credit_brought_forward": inr(bill.credit_brought_forward_paise)
        if bill.credit_brought_forward_paise else None,
        "credit_to_open_bills": inr(bill.credit_to_open_bills_paise)
        if bill.credit_to_open_bills_paise else None,
        "credit_carried": inr(bill.credit_carried_paise) if bill.credit_carried_paise else None,
        "arrears": {"amount": inr(arrears), "surcharge": inr(surcharge) if surcharge else None,
                    "total_payable": inr(int(bill.total_paise) + arrears)} if arrears else None,
        "surcharge_percent": bill.late_payment_surcharge_percent,
        "upi": bill_upi_link(bill.bill_id, period_label(bill.period), bill.amount_due),
    }


class ReadingBatch:
    """One SQS batch of readings: what it loads in bulk, the verdicts and run
    counters it writes once at the end (`finish`)."""

    def __init__(self, service: BillingService, readings: Sequence[VerifiedReading]) -> None:
        self.service = service
        self._lock = threading.Lock()
        # Verdicts to write in `finish`, each with the status it replaces and its counts.
        self.decided: dict[tuple[str, str], _Decision] = {}
        self.meters: dict[str, MeterRecord] = {}
        self.stored: dict[tuple[str, str], RawReadingRecord] = {}
        self.properties: dict[str, PropertyRecord] = {}
        self.users: dict[str, UserRecord] = {}
        self.tenancies: dict[str, list[TenancyRecord]] = {}
        self.histories: dict[tuple[str, str], PropertyHistory] = {}
        self.prepaid: dict[str, PrepaidAccountRecord] = {}  # the batch's prepaid accounts
        self.to_notify: list[BillRecord] = []  # emails written with bills, queued in finish
        if readings:
            self._load(readings)

    def _notify(self, bills: list[BillRecord]) -> None:
        with self._lock:
            self.to_notify.extend(bills)

    def _load(self, readings: Sequence[VerifiedReading]) -> None:
        """Everything the batch needs, in two rounds of BatchGetItem (the second needs
        the meters' properties) and one tenancy SELECT: meters and stored readings;
        then properties, owners and the properties' bills of the history window."""
        first = get_items([(MeterRecord, r.meter_id, None) for r in readings]
                          + [(RawReadingRecord, r.meter_id, r.reading_key) for r in readings])
        for item in first:
            if isinstance(item, MeterRecord):
                self.meters[item.meter_id] = item
            elif isinstance(item, RawReadingRecord):
                self.stored[(item.meter_id, item.reading_key)] = item
        wanted = {(m.property_id, r.period) for r in readings
                  if (m := self.meters.get(r.meter_id)) is not None and m.property_id}
        if not wanted:
            return
        property_ids = sorted({pid for pid, _ in wanted})
        # Owners by the meters' record of them: only a cache for the emails (a payer
        # not found here, a tenant for instance, is read when mailed).
        owner_ids = sorted({m.owner_id for m in self.meters.values() if m.owner_id})
        keys: list[ItemKey] = [(PropertyRecord, pid, None) for pid in property_ids]
        keys += [(UserRecord, uid, None) for uid in owner_ids]
        keys += [(PrepaidAccountRecord, pid, None) for pid in property_ids]
        keys += [(BillRecord, bill_id, None)
                 for bill_id in history_keys((pid, parse_period(p)) for pid, p in wanted)]
        bills: list[BillRecord] = []
        for item in get_items(keys):
            if isinstance(item, PropertyRecord):
                self.properties[item.property_id] = item
            elif isinstance(item, UserRecord):
                self.users[item.user_id] = item
            elif isinstance(item, BillRecord):
                bills.append(item)
            elif isinstance(item, PrepaidAccountRecord):
                self.prepaid[item.connection_id] = item
        self.tenancies = tenancies_of(self.properties)
        self.histories = histories(
            [(self.properties[pid], parse_period(p)) for pid, p in sorted(wanted)
             if pid in self.properties], self.service.bills, prefetched=bills)

    def bill(self, reading: VerifiedReading) -> Verdict:
        """Validate, price and bill one reading (idempotent)."""
        stored = self.stored.get((reading.meter_id, reading.reading_key))
        if stored is None:
            raise ReadingNotStored(f"{reading.meter_id}/{reading.reading_key} is not stored")
        if stored.status in VERDICTS:
            return Verdict(stored.status, stored.validation_reason, stored.validation_detail)
        meter = self.meters.get(reading.meter_id)
        prop = self.properties.get(meter.property_id) \
            if meter is not None and meter.property_id else None
        if meter is None or prop is None:
            return self._decide(stored, Verdict(
                REJECTED, REASON_NOT_AT_PROPERTY, "the meter is not fitted at a property"),
                answered=True)
        verdict = self._bill(stored, reading, meter, prop, SpikePolicy())
        return self._decide(stored, verdict, answered=True)

    def release(self, stored: RawReadingRecord, decision: str) -> Verdict:
        """An admin's decision on a held reading: bill it anyway (no spike check)
        or reject it."""
        if decision == "reject":
            return self._decide(stored, Verdict(REJECTED, REASON_REJECTED_BY_ADMIN,
                                                "rejected by an administrator after review"))
        meter = self.meters.get(stored.meter_id)
        prop = self.properties.get(meter.property_id) \
            if meter is not None and meter.property_id else None
        if meter is None or prop is None:
            return self._decide(stored, Verdict(
                REJECTED, REASON_NOT_AT_PROPERTY, "the meter is not fitted at a property"))
        reading = VerifiedReading(
            reading_key=stored.reading_key, meter_id=stored.meter_id, run_id=stored.run_id,
            period=stored.period, nonce=stored.nonce, counter=int(stored.counter),
            register_wh=int(stored.register_wh), read_at=stored.read_at,
            received_at=stored.received_at)
        never_spike = SpikePolicy(min_history_months=10**9)
        return self._decide(stored, self._bill(stored, reading, meter, prop, never_spike,
                                               review=False))

    def finish(self) -> None:
        """Write the verdicts and the run counters together: one TransactWriteItems, so
        a verdict is never recorded without its counts. Runs even when the batch fails
        half way, so what was decided is kept. Each verdict is conditional on the status
        it replaces: a reading that another delivery of it decided meanwhile (SQS delivers
        at least once) is dropped with its counts and the rest written again, so every
        reading is counted once. Too big or refused again: written one by one, each
        conditional, and only the verdicts that went in are counted."""
        with self._lock:
            to_notify, self.to_notify = self.to_notify, []
        if to_notify:  # one queue call for the batch's emails (the sweep covers a crash)
            self.service.notify(to_notify)
        with self._lock:
            pending, self.decided = list(self.decided.values()), {}
        for _attempt in range(VERDICT_ATTEMPTS):
            if not pending:
                return
            if 3 * len(pending) > TRANSACTION_MAX_ITEMS:  # verdicts, counters, registers
                break
            refused = self._write_together(pending)
            if refused is None:
                return
            pending = [d for i, d in enumerate(pending) if i not in refused]
        self._write_apart(pending)

    def _write_together(self, decisions: list[_Decision]) -> set[int] | None:
        """One transaction; None if it went in, else the indexes of the verdicts that
        another delivery decided first (empty: refused for another reason)."""
        counts: dict[str, Counter[str]] = {}
        for decision in decisions:
            counts.setdefault(decision.record.run_id, Counter()).update(decision.deltas)
        updates = [(run_id, actions) for run_id, deltas in counts.items()
                   if (actions := progress.counter_actions(**dict(deltas)))]
        registers = _newest_accepted(decisions)
        try:
            with TransactWrite(connection=_readings_connection()) as transaction:
                for decision in decisions:
                    transaction.save(decision.record, condition=decision.unchanged())
                # One counter shard per run and batch (any: the progress view sums them).
                for run_id, actions in updates:
                    transaction.update(progress.counter_item(run_id), actions=actions)
                for reading in registers:
                    transaction.update(MeterRecord(reading.meter_id),
                                       actions=_register_actions(reading),
                                       condition=_register_moves(reading))
        except TransactWriteError as error:
            reasons = cancellation_codes(error)
            decided_elsewhere = {i for i, code in enumerate(reasons[:len(decisions)])
                                 if code == "ConditionalCheckFailed"}
            stale_register = any(code == "ConditionalCheckFailed"
                                 for code in reasons[len(decisions) + len(updates):])
            logger.warning("verdicts transaction refused", extra={
                "code": error.cause_response_code, "decided_elsewhere": len(decided_elsewhere),
                "later_register_on_record": stale_register})
            if stale_register and not decided_elsewhere:
                self._write_apart(decisions)  # the register part alone was stale
                return None
            return decided_elsewhere
        return None

    def _write_apart(self, decisions: list[_Decision]) -> None:
        counts: dict[str, Counter[str]] = {}
        written = []
        for decision in decisions:
            try:
                decision.record.save(condition=decision.unchanged())
            except PutError as error:
                if error.cause_response_code == "ConditionalCheckFailedException":
                    continue  # another delivery decided it (and counted it)
                raise
            written.append(decision)
            counts.setdefault(decision.record.run_id, Counter()).update(decision.deltas)
        for run_id, deltas in counts.items():
            progress.count(run_id, **dict(deltas))
        for reading in _newest_accepted(written):
            with contextlib.suppress(UpdateError):  # a later accepted reading is on record
                MeterRecord(reading.meter_id).update(actions=_register_actions(reading),
                                                     condition=_register_moves(reading))

    # ---- steps --------------------------------------------------------------

    def _bill(self, stored: RawReadingRecord, reading: VerifiedReading, meter: MeterRecord,
              prop: PropertyRecord, spike_policy: SpikePolicy, review: bool = True
              ) -> Verdict:
        """`review=False`: an admin released it, so no hold for lateness either."""
        service = self.service
        period = parse_period(reading.period)
        part = postpaid_part(self.prepaid.get(prop.property_id), period)
        if part is not None and part.skip:
            return Verdict(REJECTED, REASON_PREPAID, f"{prop.property_id} is prepaid in "
                           f"{period}: its daily debits charge the month")
        history = self.histories.get((prop.property_id, str(period))) \
            or service.history_of(prop, period)
        billed = history.of(str(period))
        if billed is not None:
            return self._already_billed(billed, stored, prop)

        current = RegisterReading(int(stored.register_wh), stored.read_at)
        last = history.last_actual(str(period))
        previous, replacement, initial = _starting_point(last, meter)
        installed = previous is None  # the bill prints the installation register instead
        estimates = history.estimates_since_last_actual(str(period))
        if part is not None and part.opening_day is not None:
            # Prepaid until this month: the month's opening read, not the last bill's.
            opening = opening_register(meter.meter_id, part.opening_day)
            if opening is None:
                return Verdict(HELD, REASON_NO_OPENING_READ, f"no daily read of "
                               f"{part.opening_day} to bill {period} from (prepaid before)")
            previous, replacement, installed, estimates = opening, None, False, []
        # Protocol v2: bill the snapshot latched at the billing date (VEE of its registers).
        snapshot = billed_register(
            stored, previous=previous, last_bill=last.first if last else None,
            replaced=replacement is not None, period=period,
            sanctioned_load_kw=Decimal(prop.sanctioned_load_kw), rollover_wh=REGISTER_ROLLOVER_WH,
            day=daily_snapshot(meter.meter_id, period) if lacks_snapshot(stored) else None)
        if snapshot is not None and not isinstance(snapshot, SnapshotRegister):
            return Verdict(snapshot.status.value, snapshot.reason, snapshot.detail)
        current = snapshot or current
        check: ReadingCheck = validate_reading(
            current, previous, now=service.clock(), initial_register_wh=initial,
            replacement=replacement, rollover_wh=REGISTER_ROLLOVER_WH,
            history_units=history.monthly_actual_units(str(period)),
            months_covered=len(estimates) + 1, spike_policy=spike_policy,
            period_end=period.end_utc if review else None)
        if check.status is not ReadingStatus.ACCEPTED:
            reason = check.reason.value if check.reason else None
            return Verdict(check.status.value, reason, check.detail)

        measured = int(check.units or 0)
        units_to_bill, credit = trued_up(measured, estimates)
        consumption = Consumption(
            units=units_to_bill, actual_units=measured, estimated=False,
            current=current, reading_key=stored.reading_key,
            trued_up=tuple(estimates), credit=credit, installation=installed,
            previous=previous or RegisterReading(initial, _installed_at(meter)),
            replaced=_replaced_meter(meter, replacement),
            meter_day=current.meter_day if isinstance(current, SnapshotRegister) else None,
            prepaid_lines=part.lines if part is not None else ())
        try:
            bills = service.issue(prop, meter, period, reading.run_id, consumption, self.users,
                                  self.tenancies.get(prop.property_id), history=history)
        except TariffNotFound as error:
            return Verdict(HELD, REASON_NO_TARIFF, error.message)
        if bills is None:  # a concurrent handler billed the period first
            existing = service.billed(prop.property_id, period)
            if existing is None:
                raise RuntimeError(f"{prop.property_id} {period}: bill write refused "
                                   "but no bill found")
            return self._already_billed(existing, stored, prop)
        # A later reading of this property in the same batch must see this bill.
        self.histories = {key: value for key, value in self.histories.items()
                          if key[0] != prop.property_id}
        self._notify(bills)
        return Verdict(ACCEPTED, None, _billed_detail(bills), bills)

    def _already_billed(self, billed: PeriodBill, stored: RawReadingRecord,
                        prop: PropertyRecord) -> Verdict:
        if billed.first.reading_key == stored.reading_key:
            # Our own bill: an earlier attempt wrote it but did not finish. Make sure
            # the payer heard of it, then record the verdict.
            shares = self.service.shares_of(billed)
            self._notify(shares)
            return Verdict(ACCEPTED, None, _billed_detail(shares), shares)
        kind = "an estimated" if billed.estimated else "an actual"
        return Verdict(REJECTED, REASON_ALREADY_BILLED,
                       f"{billed.first.bill_id} is already {kind} bill for {billed.period}; "
                       "the next reading is billed against the last actual one")

    def _decide(self, stored: RawReadingRecord, verdict: Verdict, *,
                answered: bool = False) -> Verdict:
        """Record the verdict and its counts, both written in `finish`. `answered`: a
        reading judged for the first time. The reading endpoint does not count answers;
        they are counted here with the verdict, so a crash before `finish` loses both
        and the redelivered reading counts them once (the progress bar lags a batch)."""
        was = stored.status
        stored.status = verdict.status
        stored.validation_reason = verdict.reason
        stored.validation_detail = (verdict.detail or "")[:500] or None
        deltas: dict[str, int] = {"answered": 1} if answered else {}
        if was == HELD and verdict.status != HELD:
            deltas["held"] = -1  # an admin's decision: the reading leaves review
        if verdict.status == REJECTED:
            deltas["rejected"] = 1
        elif verdict.status == HELD and was != HELD:
            deltas["held"] = 1
        elif verdict.status == ACCEPTED:
            deltas["bills_issued"] = len(verdict.bills)
        with self._lock:
            self.decided[(stored.meter_id, stored.reading_key)] = _Decision(stored, was, deltas)
        return verdict


@dataclass
class _Decision:
    """A verdict to write: the reading, the status the verdict replaces, its counts."""

    record: RawReadingRecord
    was: str
    deltas: dict[str, int]

    def unchanged(self) -> Any:
        """Nobody decided the reading since it was read (another delivery, an admin)."""
        return RawReadingRecord.status == self.was


def _newest_accepted(decisions: list[_Decision]) -> list[RawReadingRecord]:
    """The meter's last register moves only with accepted readings: the newest of each."""
    newest: dict[str, RawReadingRecord] = {}
    for decision in decisions:
        record = decision.record
        if record.status == ACCEPTED and (record.meter_id not in newest
                                          or newest[record.meter_id].read_at < record.read_at):
            newest[record.meter_id] = record
    return list(newest.values())


def _register_actions(reading: RawReadingRecord) -> list[Any]:
    return [MeterRecord.last_register_wh.set(int(reading.register_wh)),
            MeterRecord.last_read_at.set(reading.read_at)]


def _register_moves(reading: RawReadingRecord) -> Any:
    """The meter exists and has no later accepted reading on record."""
    return MeterRecord.meter_id.exists() & (MeterRecord.last_read_at.does_not_exist()
                                            | (MeterRecord.last_read_at <= reading.read_at))


def _readings_connection() -> Connection:
    # The model's own connection: one botocore client per container.
    return RawReadingRecord._get_connection().connection


def _starting_point(last: PeriodBill | None, meter: MeterRecord
                    ) -> tuple[RegisterReading | None, MeterReplacement | None, int]:
    """(previous accepted reading, replacement since, initial register) for
    validate_reading, from the property's last actual bill and the meter."""
    initial = int(meter.initial_register_wh or 0)
    if last is None or last.first.current_register_wh is None \
            or last.first.current_read_at is None:
        return None, None, initial
    previous = RegisterReading(int(last.first.current_register_wh), last.first.current_read_at)
    if last.first.meter_id == meter.meter_id:
        return previous, None, initial
    if meter.replaces == last.first.meter_id:
        replacement = MeterReplacement(
            old_final_register_wh=int(meter.replaced_meter_final_register_wh or 0),
            new_initial_register_wh=initial)
        return previous, replacement, initial
    # Another meter with no recorded replacement: count from this meter's install.
    return None, None, initial


def trued_up(measured: int, estimates: list[PeriodBill]) -> tuple[int, Decimal]:
    """The units to bill for a measured read after estimated months, and the credit for
    units those estimates billed beyond what the meter measured (the true-up rule)."""
    adjustment = true_up(measured, [p.units for p in estimates])
    credit = ZERO
    if adjustment.credit_units:
        credit = credit_amount(adjustment.credit_units, sum(p.units for p in estimates),
                               sum((p.energy_total for p in estimates), ZERO))
    return adjustment.units_to_bill, credit


def opening_register(meter_id: str, opening_day: date) -> RegisterReading | None:
    """The register a month left prepaid is billed from: the meter-day that closed
    `opening_day` (latched at 00:00 IST the next day), None if it was not read."""
    try:
        item = MeterDayRecord.get(meter_id, opening_day.isoformat(), consistent_read=True)
    except MeterDayRecord.DoesNotExist:
        return None
    return RegisterReading(int(item.import_wh),
                           ist_midnight_utc(opening_day + timedelta(days=1)))


def _installed_at(meter: MeterRecord) -> datetime:
    """When the meter was fitted (its installation register is from then)."""
    return meter.replacement_at or meter.activated_at or meter.assigned_at \
        or meter.registered_at


def _replaced_meter(meter: MeterRecord, replacement: MeterReplacement | None
                    ) -> ReplacedMeter | None:
    if replacement is None or not meter.replaces:
        return None
    return ReplacedMeter(meter_id=meter.replaces,
                         final_register_wh=replacement.old_final_register_wh,
                         replaced_at=meter.replacement_at,
                         new_first_register_wh=replacement.new_initial_register_wh)


def _replacement_fields(replaced: ReplacedMeter | None) -> dict[str, Any]:
    if replaced is None:
        return {}
    return dict(replaced_meter_id=replaced.meter_id,
                replaced_meter_final_register_wh=replaced.final_register_wh,
                replaced_at=replaced.replaced_at,
                meter_first_register_wh=replaced.new_first_register_wh)


def _billed_detail(bills: list[BillRecord]) -> str:
    first = bills[0]
    detail = f"billed {int(first.units)} kWh on {first.bill_id}"
    if len(bills) > 1:
        detail += f" (split in {len(bills)} shares)"
    return detail


__all__ = ["BillingService", "ReadingBatch", "bill_email", "month_label"]
