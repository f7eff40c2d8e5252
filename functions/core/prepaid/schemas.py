"""Request and response bodies of the prepaid routes (functions/api/prepaid.py)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from functions.core.errors import InvalidInput
from functions.core.payments.provider import OnlineMethod


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SetMode(_Request):
    mode: Literal["postpaid", "prepaid"]
    from_date: date = Field(description="The IST day the mode applies from: from the 1st of "
                            "last month on; a day other than the 1st needs the daily read "
                            "latched at 00:00 IST that day")
    emergency_credit_paise: StrictInt | None = Field(default=None, ge=0, le=10_000_000)
    monthly_reference_paise: StrictInt | None = Field(
        default=None, ge=0, le=100_000_000,
        description="The average monthly charge the low-balance thresholds are shares of")


class Adjustment(_Request):
    key: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,40}$",
                     description="Your reference: the same key twice is one adjustment")
    amount_paise: StrictInt = Field(ge=-100_000_000, le=100_000_000)
    reason: str = Field(min_length=1, max_length=200)


class Disputed(_Request):
    disputed: bool


class DailySms(_Request):
    enabled: bool = Field(description="Send the payer an SMS with the balance and the "
                                      "day's charge after each daily debit")


class DailySmsView(BaseModel):
    connection_id: str
    daily_sms: bool


class Recharge(_Request):
    amount_paise: StrictInt = Field(gt=0, le=10_000_000, description="From the configured "
                                    "minimum (Rs 100 unless set otherwise)")
    method: OnlineMethod = "upi"


class LedgerEntryView(BaseModel):
    entry_key: str
    kind: str
    day: str
    amount: Decimal
    amount_paise: int
    explanation: str = Field(description="In English, for integrators and the office; the "
                                         "fields below let a page word it in its language")
    charge_to_date: Decimal | None = None
    units_to_date: str | None = None
    posted_before: Decimal | None = Field(
        default=None, description="A debit: what the month's earlier debits had taken "
                                  "(charge_to_date less this debit)")
    payment_id: str | None = Field(default=None, description="A recharge: its payment")
    carried_balance: Decimal | None = Field(
        default=None, description="A change to postpaid: the balance carried to the postpaid "
                                  "account from `day`")


class DailyPoint(BaseModel):
    day: str
    debit: Decimal


class ModeChange(BaseModel):
    """One change of the payment mode and what settled the mode it left."""

    mode: str
    from_day: str
    by: str
    at: str
    final_bill_id: str | None = Field(default=None, description="To prepaid inside a month: "
                                      "the postpaid bill of the days before")
    settled_paise: int | None = None
    debits_paise: int | None = Field(default=None, description="To postpaid: the month's "
                                     "prepaid debits the postpaid bill takes off")
    carried_paise: int | None = Field(default=None, description="To postpaid: the balance "
                                      "carried to the postpaid account")


class PrepaidView(BaseModel):
    connection_id: str
    mode: str
    mode_from: str | None
    balance: Decimal
    balance_paise: int
    emergency_credit: Decimal
    relay: str
    disputed: bool
    average_daily_debit: Decimal
    days_left: int | None = Field(description="At the last 7 days' rate; null without debits")
    min_recharge: Decimal
    ledger: list[LedgerEntryView]
    next_cursor: str | None = None
    daily: list[DailyPoint]
    daily_sms: bool = Field(default=False, description="The daily balance SMS is on")
    mode_history: list[ModeChange] = Field(default_factory=list,
                                           description="Each change, oldest first")


class AdjustmentResult(BaseModel):
    applied: bool
    balance_paise: int


class LedgerQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cursor: str | None = Field(default=None, max_length=2000)
    limit: int = Field(default=50, ge=1, le=200)


class DailyCycleStart(_Request):
    day: date = Field(description="The IST day whose 00:00 IST closing registers to read")


class DailyRateView(BaseModel):
    day: str
    run_id: str
    meters_total: int
    read: int
    share_read_percent: Decimal = Field(description="Meters read / meters asked, 0-100")
    read_by_target: int = Field(description="Meters read by 06:00 IST after the day's latch")
    share_by_target_percent: Decimal = Field(
        description="Meters read by 06:00 IST / meters asked, 0-100")
    target_percent: int = Field(description="The target share by 06:00 IST (99)")
    target_met: bool


class MeterDayView(BaseModel):
    day: str
    units: int | None
    import_wh: int = Field(description="The import register at the day's close (00:00 IST)")
    export_wh: int
    import_kwh: Decimal | None = Field(
        default=None, description="Energy imported that day; null when unknown")
    export_kwh: Decimal | None = Field(
        default=None, description="Energy exported that day (rooftop solar); null when "
                                  "unknown")
    source: str


class MeterDays(BaseModel):
    meter_id: str
    from_day: str = Field(description="The first IST day asked for")
    to_day: str = Field(description="The last IST day asked for")
    days: list[MeterDayView] = Field(description="The days read in the range, oldest first")


MAX_DAYS_RANGE = 400  # the meter-day retention: 'same month last year' fits


class DaysQuery(BaseModel):
    """A range of IST days: from/to (at most 400 days), or the last `days` days to `to`
    (today in IST when left out)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    days: int = Field(default=30, ge=1, le=MAX_DAYS_RANGE,
                      description="Without from: this many days up to `to`")
    start: date | None = Field(default=None, alias="from",
                               description="The first IST day (YYYY-MM-DD)")
    end: date | None = Field(default=None, alias="to",
                             description="The last IST day (YYYY-MM-DD); today if left out")

    @model_validator(mode="after")
    def _bounded(self) -> DaysQuery:
        if self.start is not None and self.end is not None:
            if self.end < self.start:
                raise ValueError("`to` is before `from`")
            if (self.end - self.start).days >= MAX_DAYS_RANGE:
                raise ValueError(f"at most {MAX_DAYS_RANGE} days at a time")
        return self

    def range(self, today: date) -> tuple[date, date]:
        last = self.end or today
        first = self.start or last - timedelta(days=self.days - 1)
        if (last - first).days >= MAX_DAYS_RANGE or last < first:  # `from` alone
            raise InvalidInput(f"From `from` to `to` is at most {MAX_DAYS_RANGE} days.")
        return first, last


class CommandView(BaseModel):
    command_id: str
    operation: str
    status: str
    issued_at: str
    attempts: int
    relay: str | None
    last_error: str | None


class CommandLog(BaseModel):
    meter_id: str
    commands: list[CommandView]


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cursor: str | None = Field(default=None, max_length=2000)
    limit: int = Field(default=50, ge=1, le=200)


class NegativeBalanceView(BaseModel):
    connection_id: str
    meter_id: str | None
    balance: Decimal
    balance_paise: int
    emergency_credit: Decimal
    relay: str = Field(description="As the meter last acknowledged: connected | disconnected")
    pending_command: str | None = Field(description="A relay command awaiting its ack")
    disputed: bool


class NegativeBalances(BaseModel):
    connections: list[NegativeBalanceView]
    cursor: str | None = Field(description="The next page's cursor; null on the last page")


class CommandsQuery(ListQuery):
    state: Literal["pending", "acked", "failed"] = "pending"


class CommandListItem(CommandView):
    meter_id: str
    connection_id: str | None
    state_at: str = Field(description="Pending: when the next attempt is due; acked or "
                                      "failed: when it was acknowledged or given up (UTC)")


class CommandList(BaseModel):
    state: str
    commands: list[CommandListItem]
    cursor: str | None = Field(description="The next page's cursor; null on the last page")
