"""What the bill API shows: amounts as rupee strings with two decimals (and a
display form with ₹ and Indian digit grouping), instants in UTC with their IST
display, dates as IST calendar dates."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.core.billing_rules.periods import (
    PeriodText,
    format_ist,
    format_ist_date,
    parse_period,
)
from functions.core.billing_rules.readings import kwh
from functions.core.bills.daily_read import read_from_display
from functions.core.bills.models import BillRecord
from functions.core.bills.service import bill_link, month_label
from functions.core.bills.smart_meter import SmartMeterView, smart_meter_view, zone_history_fields
from functions.core.bills.tariff_view import TariffRulesView, tariff_rules_view
from functions.core.money import format_inr, from_paise, to_paise

BillStatus = Literal["issued", "paid", "overdue"]


def _day(text: str) -> date:
    return date.fromisoformat(text)


class LineItemView(BaseModel):
    kind: str
    label: str
    quantity: str | None
    unit: str | None
    rate: str | None
    amount: str
    property_amount: str | None  # on a split share: the whole property's line


class ReadingView(BaseModel):
    register_wh: int
    read_at: datetime
    read_at_display: str


class RegisterView(BaseModel):
    register_wh: int
    read_at: datetime | None
    read_at_display: str | None
    note: str | None = None  # "installation register", "final register", "first register"


class RegisterRow(BaseModel):
    """One meter's registers on the bill: previous, current, whole kWh between."""

    meter_id: str
    role: Literal["meter", "replaced_meter", "new_meter"]
    previous: RegisterView | None
    current: RegisterView | None
    units: int | None


def register_rows(bill: BillRecord) -> list[RegisterRow]:
    """The rows a clerk expects: the previous register (the installation register on
    a first bill) and the current one; across a meter replacement, the old meter
    from its previous to its final register and the new one from its first."""
    previous = _register(bill.previous_register_wh, bill.previous_read_at,
                         "installation register" if bill.previous_is_installation else None)
    current = _register(bill.current_register_wh, bill.current_read_at)
    if bill.estimated:
        return []
    if bill.replaced_meter_id and bill.replaced_meter_final_register_wh is not None:
        final = _register(bill.replaced_meter_final_register_wh, bill.replaced_at,
                          "final register (meter replaced)")
        first = _register(bill.meter_first_register_wh or 0, bill.replaced_at,
                          "first register (meter fitted)")
        return [RegisterRow(meter_id=bill.replaced_meter_id, role="replaced_meter",
                            previous=previous, current=final, units=_units(previous, final)),
                RegisterRow(meter_id=bill.meter_id, role="new_meter", previous=first,
                            current=current, units=_units(first, current))]
    return [RegisterRow(meter_id=bill.meter_id, role="meter", previous=previous,
                        current=current, units=_units(previous, current))]


def _register(register_wh: float | None, read_at: datetime | None,
              note: str | None = None) -> RegisterView | None:
    if register_wh is None:
        return None
    return RegisterView(register_wh=int(register_wh), read_at=read_at,
                        read_at_display=format_ist(read_at) if read_at else None, note=note)


def _units(previous: RegisterView | None, current: RegisterView | None) -> int | None:
    if previous is None or current is None or current.register_wh < previous.register_wh:
        return None  # a rollover: the bill's units say what was billed
    return kwh(current.register_wh) - kwh(previous.register_wh)


def _rupees(paise: float | None) -> str:
    return f"{from_paise(int(paise or 0)):.2f}"


class BillSummary(BaseModel):
    bill_id: str
    property_id: str
    consumer_number: str | None = Field(
        default=None, description="The connection's ten-digit consumer number (null on "
                                  "bills issued before consumer numbers existed)")
    period: str
    period_label: str
    payer_id: str
    status: str
    estimated: bool
    units: int
    total: str
    total_display: str
    amount_due: str
    amount_due_display: str
    issued_at: datetime
    issued_on_display: str
    due_date: str
    due_date_display: str
    share: int
    share_count: int
    link: str
    arrears: str = Field(description="Unpaid earlier bills of this payer at the property "
                                     "(with late-payment surcharge) when it was issued")
    total_payable: str = Field(description="total + arrears: what the payer owes with it")
    total_payable_display: str
    tod_units: list[int] | None = Field(
        default=None, description="v2 meters: whole kWh per time-of-day zone this period")
    tod_zone_hours: list[str] | None = Field(default=None, description="the zones' IST hours")

    @classmethod
    def fields_of(cls, bill: BillRecord) -> dict[str, object]:
        return dict(
            bill_id=bill.bill_id, property_id=bill.property_id, period=bill.period,
            consumer_number=bill.consumer_number, **zone_history_fields(bill),
            period_label=month_label(bill.period), payer_id=bill.payer_id, status=bill.status,
            estimated=bool(bill.estimated), units=int(bill.units), total=f"{bill.amount:.2f}",
            total_display=format_inr(bill.amount), amount_due=f"{bill.amount_due:.2f}",
            amount_due_display=format_inr(bill.amount_due), issued_at=bill.issued_at,
            issued_on_display=format_ist(bill.issued_at), due_date=bill.due_date,
            due_date_display=format_ist_date(_day(bill.due_date)), share=int(bill.share),
            share_count=int(bill.share_count), link=bill_link(bill.bill_id),
            arrears=_rupees(bill.arrears_paise), total_payable=_rupees(_payable(bill)),
            total_payable_display=format_inr(from_paise(_payable(bill))))

    @classmethod
    def of(cls, bill: BillRecord) -> BillSummary:
        return cls.model_validate(cls.fields_of(bill))


class BillDetail(BillSummary):
    owner_id: str
    meter_id: str
    run_id: str
    category: str
    tariff_name: str
    tariff_version: str
    sanctioned_load_kw: str
    previous_reading: ReadingView | None
    current_reading: ReadingView | None
    actual_units: int | None
    trued_up_periods: list[str]
    estimated_units_trued_up: int | None
    share_first_day: str
    share_last_day: str
    share_days_display: str
    days_fraction: str | None
    share_units: str | None
    property_total: str | None
    line_items: list[LineItemView]
    late_payment_surcharge_percent: str
    late_surcharge: str
    paid_at: datetime | None
    payment_id: str | None
    registers: list[RegisterRow]
    smart_meter: SmartMeterView | None = Field(
        default=None, description="v2 meters: consumption per ToD zone, export, max demand")
    read_from: str | None = Field(
        default=None, description="Where the registers came from when the billing run had "
                                  "no usable reading: the daily snapshot of the billing date")
    read_from_at: datetime | None = Field(
        default=None, description="With read_from: the instant the daily snapshot billed was "
                                  "latched (00:00 IST of the billing date)")
    tariff_rules: TariffRulesView | None = Field(
        default=None, description="Subsidy (gross, net), net metering's bank, billing demand")
    charges: str = Field(description="This period's charges (negative: a credit from an "
                                     "over-estimate's true-up)")
    credit_brought_forward: str
    credit_to_open_bills: str = Field(description="Credit netted against unpaid earlier bills")
    credit_carried_forward: str = Field(description="Credit left for the next bill")
    credit_applied: str = Field(description="Credit from a later bill netted against this one")
    credit_applied_from: list[str]
    arrears_surcharge: str
    arrears_bill_ids: list[str]

    @classmethod
    def of(cls, bill: BillRecord) -> BillDetail:
        first, last = _day(bill.share_first_day), _day(bill.share_last_day)
        return cls.model_validate(dict(
            BillSummary.fields_of(bill), owner_id=bill.owner_id, meter_id=bill.meter_id,
            run_id=bill.run_id, category=bill.category, tariff_name=bill.tariff_name,
            tariff_version=bill.tariff_version, sanctioned_load_kw=bill.sanctioned_load_kw,
            smart_meter=smart_meter_view(bill), read_from=read_from_display(bill),
            read_from_at=parse_period(bill.period).end_utc if bill.meter_day else None,
            tariff_rules=tariff_rules_view(bill),
            previous_reading=_reading(bill.previous_register_wh, bill.previous_read_at),
            current_reading=_reading(bill.current_register_wh, bill.current_read_at),
            actual_units=None if bill.actual_units is None else int(bill.actual_units),
            trued_up_periods=list(bill.trued_up_periods or []),
            estimated_units_trued_up=None if bill.estimated_units_trued_up is None
            else int(bill.estimated_units_trued_up),
            share_first_day=bill.share_first_day, share_last_day=bill.share_last_day,
            share_days_display=f"{format_ist_date(first)} to {format_ist_date(last)}",
            days_fraction=bill.days_fraction, share_units=bill.share_units,
            property_total=bill.property_total,
            line_items=[LineItemView(kind=i.kind, label=i.label, quantity=i.quantity,
                                     unit=i.unit, rate=i.rate, amount=i.amount,
                                     property_amount=i.property_amount)
                        for i in bill.line_items],
            late_payment_surcharge_percent=bill.late_payment_surcharge_percent,
            late_surcharge=f"{bill.late_surcharge:.2f}", paid_at=bill.paid_at,
            payment_id=bill.payment_id, registers=register_rows(bill),
            charges=_rupees(bill.total_paise if bill.charges_paise is None
                            else bill.charges_paise),
            credit_brought_forward=_rupees(bill.credit_brought_forward_paise),
            credit_to_open_bills=_rupees(bill.credit_to_open_bills_paise),
            credit_carried_forward=_rupees(bill.credit_carried_paise),
            credit_applied=_rupees(bill.credit_applied_paise),
            credit_applied_from=list(bill.credit_applied_from or []),
            arrears_surcharge=_rupees(bill.arrears_surcharge_paise),
            arrears_bill_ids=list(bill.arrears_bill_ids or [])))


def _payable(bill: BillRecord) -> int:
    """This bill's amount due now plus the arrears brought forward when it was issued."""
    return to_paise(bill.amount_due) + int(bill.arrears_paise or 0)


def _reading(register_wh: float | None, read_at: datetime | None) -> ReadingView | None:
    if register_wh is None or read_at is None:
        return None
    return ReadingView(register_wh=int(register_wh), read_at=read_at,
                       read_at_display=format_ist(read_at))


class MyBillsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: PeriodText | None = None
    status: BillStatus | None = None
    # Newest period first, a page at a time (the next page: the cursor of the last one).
    cursor: str | None = Field(default=None, min_length=1, max_length=2000)
    limit: int = Field(default=24, ge=1, le=100)


class MyBillList(BaseModel):
    """A page of the caller's bills, newest period first."""

    bills: list[BillSummary]
    cursor: str | None = Field(default=None, description="the next page (null: the last)")


class AdminBillsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: PeriodText | None = None
    status: BillStatus | None = None
    property_id: str | None = Field(default=None, min_length=1, max_length=100)
    payer_id: str | None = Field(default=None, min_length=1, max_length=100)
    # A period's or a status's bills come a page at a time (a property's or payer's whole).
    cursor: str | None = Field(default=None, min_length=1, max_length=2000)
    limit: int = Field(default=100, ge=1, le=500)


class BillTotals(BaseModel):
    """Sums over a list of bills (admin): over this page when the list is paged."""

    bills: int
    total: str
    total_display: str

    @classmethod
    def of(cls, bills: list[BillRecord]) -> BillTotals:
        total = sum((b.amount for b in bills), Decimal("0.00"))
        return cls(bills=len(bills), total=f"{total:.2f}", total_display=format_inr(total))


class AdminBillList(BaseModel):
    totals: BillTotals
    bills: list[BillSummary]
    cursor: str | None = Field(default=None, description="the next page (null: the last)")
