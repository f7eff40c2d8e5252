"""Request and response models of the payment routes (pydantic v2).

Money goes out as Decimal rupees with two decimals (JSON strings, "1380.00"),
plus integer paise where a client needs to compare amounts exactly."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from functions.core.billing_rules.periods import PeriodText
from functions.core.money import ExactDecimal
from functions.core.payments.provider import OfflineMethod, OnlineMethod


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PayBill(_Request):
    method: OnlineMethod = Field(description="How the payer wants to pay: upi, card or "
                                            "netbanking (they can still change it at checkout)")


# A receipt-book or cheque number: printable, no control characters.
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                             pattern=r"^[A-Za-z0-9][A-Za-z0-9 /#._\-]*$")]


class OfflinePayment(_Request):
    method: OfflineMethod
    reference: Reference = Field(description="Receipt or cheque number")


class DefaulterQuery(_Request):
    """One page of payers who owe on overdue bills (their arrears items, by amount within
    each of the 32 shards). Filters that an index can serve or that apply within the page
    only; a period or category filter is on the payer's own page (GET
    /admin/defaulters/{payer_id}), since a payer's arrears span periods and properties."""

    cursor: str | None = Field(default=None, min_length=1, max_length=2000,
                               description="The next page: the cursor the last page gave")
    limit: int = Field(default=50, ge=1, le=200)
    min_amount: Annotated[ExactDecimal, Field(ge=0, max_digits=14, decimal_places=2)] | None = (
        Field(default=None, description="Only payers who owe at least this much (rupees) on "
                                        "overdue bills (a key condition of the index)"))
    min_days_overdue: Annotated[int, Field(ge=0, le=36500)] | None = Field(
        default=None, description="Only payers whose oldest overdue bill is at least this "
                                  "many days past its due date (applied within the page: a "
                                  "page can then hold fewer than `limit` payers)")


class AdminRefund(_Request):
    amount: Annotated[ExactDecimal, Field(gt=0, max_digits=12, decimal_places=2)] | None = (
        Field(default=None, description="Rupees to refund; the whole amount left if omitted. "
                                        "Zero or negative is refused."))
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3,
                                             max_length=200)] = Field(
        description="Why: shown to the payer and sent to the gateway")
    request_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{8,64}$")] | None = (
        Field(default=None, description="The same id twice is one refund (a double click)"))


# A day the gateway can have payments for (and that a datetime can hold in any zone).
ReconDay = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2199, 12, 31))]


class ReconcileDay(_Request):
    day: ReconDay | None = Field(default=None, description="IST day; yesterday if omitted")


class ReconciliationQuery(_Request):
    day: ReconDay | None = Field(default=None, description="IST day; yesterday if omitted")


class OrderView(BaseModel):
    order_id: str
    bill_id: str
    amount: Decimal
    amount_paise: int
    currency: str
    method: str
    provider: str
    checkout_url: str = Field(description="The page that opens the gateway's checkout")
    expires_at: datetime
    status: str


class OrderStatusView(BaseModel):
    order_id: str
    bill_id: str
    status: str
    amount: Decimal
    bill_status: str
    last_payment_id: str | None


class RefundView(BaseModel):
    refund_id: str | None = Field(description="The gateway's refund id, once it has one")
    refund_key: str
    payment_id: str
    bill_id: str
    amount: Decimal
    currency: str
    status: str = Field(description="requested | pending | processed | failed")
    kind: str = Field(description="automatic | admin | gateway")
    reason: str
    requested_at: datetime
    processed_at: datetime | None


class PaymentView(BaseModel):
    payment_id: str
    bill_id: str
    order_id: str | None
    provider: str
    method: str
    amount: Decimal
    currency: str
    status: str
    applied: bool
    not_applied_reason: str | None
    paid_at: datetime
    reference: str | None
    refunded: Decimal = Field(description="Refunds processed so far")
    refunds: list[RefundView]


class WebhookResult(BaseModel):
    result: Literal["paid", "recorded", "duplicate", "ignored", "not_applied",
                    "refund_updated"]
    payment_id: str | None = None
    bill_status: str | None = None
    event: str | None = None


class UpiView(BaseModel):
    bill_id: str
    amount: Decimal
    vpa: str
    link: str = Field(description="upi://pay link with the exact amount and the bill id")
    qr_svg: str = Field(description="The link's QR code, an SVG data: URI")


class ReconciliationItem(BaseModel):
    kind: str
    status: str
    payment_id: str | None
    bill_id: str | None
    order_id: str | None
    gateway_amount: Decimal | None
    our_amount: Decimal | None
    gateway_status: str | None
    our_status: str | None
    detail: str | None


class ReconciliationTotals(BaseModel):
    gateway_captured_count: int
    gateway_captured: Decimal
    our_captured_count: int
    our_captured: Decimal
    matched_count: int
    matched: Decimal
    refunds_count: int
    refunded: Decimal
    settlements_count: int
    settled: Decimal
    settlement_fees: Decimal
    settlement_tax: Decimal
    open_mismatches: int
    repaired: int


class ReconciliationView(BaseModel):
    day: date
    run_at: datetime | None = Field(description="None: not run for this day yet")
    totals: ReconciliationTotals | None
    items: list[ReconciliationItem]


class DueBill(BaseModel):
    bill_id: str
    property_id: str
    period: str
    status: str
    total: Decimal
    late_surcharge: Decimal
    amount_due: Decimal
    due_date: date


class BalanceView(BaseModel):
    currency: str
    outstanding: Decimal
    outstanding_paise: int
    overdue: Decimal
    bills: list[DueBill]


class OverdueRunView(BaseModel):
    """The sweep was queued: bills become overdue over the next minutes, one page per shard
    at a time (issued bills due before `as_of`)."""

    sweep_id: str = Field(description="In the steps' log lines and done-markers")
    as_of: date = Field(description="The IST date the sweep uses: bills due before it")
    shards_queued: int = Field(description="Steps queued, one per shard of the bills index")
    status: Literal["queued"] = "queued"


class DefaulterBill(BaseModel):
    bill_id: str
    property_id: str
    address: str | None
    category: str
    period: str
    status: str
    total: Decimal
    late_surcharge: Decimal
    amount_due: Decimal
    due_date: date
    days_overdue: int


class Defaulter(BaseModel):
    """A payer who owes on overdue bills: their arrears item (no bill is read for it)."""

    payer_id: str
    name: str | None
    email: str | None
    mobile: str | None
    total_due: Decimal
    bill_count: int
    oldest_due_date: date | None
    max_days_overdue: int


class DefaulterDetail(Defaulter):
    """One defaulter with each overdue bill (GET /admin/defaulters/{payer_id})."""

    bills: list[DefaulterBill]


class DefaulterList(BaseModel):
    """One page of defaulters; `count` and `total_due` are of this page."""

    as_of: date
    count: int
    total_due: Decimal
    defaulters: list[Defaulter]
    cursor: str | None = Field(default=None, description="the next page (null: the last)")


class DefaulterBillsQuery(_Request):
    period: PeriodText | None = Field(default=None, description="Only bills of this period")
    category: Literal["residential", "commercial"] | None = None


class QuickPayView(BaseModel):
    """What quick pay shows for a consumer number: nothing more."""

    consumer_number: str
    name: str = Field(description="The payer's name, masked (\"A*** R**\")")
    amount_due: Decimal
    amount_due_display: str
    due_date: str = Field(description="IST date YYYY-MM-DD")
    due_date_display: str
    overdue: bool
