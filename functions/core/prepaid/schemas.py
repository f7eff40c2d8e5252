"""Request and response bodies of the prepaid routes (functions/api/prepaid.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from functions.core.payments.provider import OnlineMethod


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SetMode(_Request):
    mode: Literal["postpaid", "prepaid"]
    from_date: date = Field(description="The 1st of the month (IST) the mode applies from")
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
    explanation: str
    charge_to_date: Decimal | None = None
    units_to_date: str | None = None


class DailyPoint(BaseModel):
    day: str
    debit: Decimal


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


class MeterDayView(BaseModel):
    day: str
    units: int | None
    import_wh: int
    export_wh: int
    source: str


class MeterDays(BaseModel):
    meter_id: str
    days: list[MeterDayView]


class DaysQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: int = Field(default=30, ge=1, le=400)


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
