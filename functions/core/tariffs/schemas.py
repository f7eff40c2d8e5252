"""Request and response bodies of the tariff API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from functions.core.billing_rules.periods import PeriodText
from functions.core.billing_rules.tariff import Category, Kilowatts, PricedBill, TariffVersion
from functions.core.tariffs.models import TariffRecord


class TariffView(BaseModel):
    version_id: str
    category: str
    effective_from: str
    name: str
    revision: int
    locked: bool = Field(description="True once it priced a bill: then it can only be "
                                     "superseded by a later version")
    locked_at: datetime | None
    last_priced_period: str | None
    created_at: datetime
    created_by: str | None
    updated_at: datetime | None
    tariff: TariffVersion

    @classmethod
    def of(cls, record: TariffRecord) -> TariffView:
        return cls(
            version_id=record.version_id, category=record.category,
            effective_from=record.effective_from, name=record.name,
            revision=int(record.revision), locked=record.locked_at is not None,
            locked_at=record.locked_at, last_priced_period=record.last_priced_period,
            created_at=record.created_at, created_by=record.created_by,
            updated_at=record.updated_at, tariff=record.version(),
        )


class TariffListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: Category | None = None


class PreviewRequest(BaseModel):
    """Price `units` for a load and category: with the version in force in
    `period` (default: the current one), or with a draft `tariff` (admins)."""

    model_config = ConfigDict(extra="forbid")

    category: Category
    units: StrictInt = Field(ge=0, le=10_000_000, description="kWh imported in the period")
    sanctioned_load_kw: Kilowatts = Field(gt=0)
    period: PeriodText | None = None
    tariff: TariffVersion | None = None
    export_units: StrictInt | None = Field(
        default=None, ge=0, le=10_000_000, description="kWh exported (net/gross metering)")
    tod_units: list[StrictInt] | None = Field(
        default=None, min_length=1, max_length=8,
        description="kWh per time-of-day zone, zone 1 first (the meter's zone registers)")
    max_demand_kw: Kilowatts | None = Field(default=None,
                                            description="recorded maximum demand")
    banked_units: StrictInt = Field(default=0, ge=0, le=10_000_000,
                                    description="net-metering units banked before the period")

    @field_validator("tod_units")
    @classmethod
    def _zones_not_negative(cls, zones: list[int] | None) -> list[int] | None:
        if zones is not None and any(z < 0 for z in zones):
            raise ValueError("zone units cannot be negative")
        return zones


class PreviewResponse(BaseModel):
    tariff_version: str  # "<category>@<effective_from>", or "draft"
    tariff_name: str
    period: str
    total: str  # rupees, two decimals
    total_display: str  # "₹1,380.00"
    priced: PricedBill
