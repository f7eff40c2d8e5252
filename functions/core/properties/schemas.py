"""What comes in (request bodies, validated) and goes out (views) for
properties and tenancies. Views are built per viewer: an owner, a tenant and
an admin see different things of the same property."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from functions.core.money import ExactDecimal

MAX_SANCTIONED_LOAD_KW = Decimal(1000)

Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Place = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
# Indian PIN codes: six digits, never starting with 0. [0-9], not \d (which
# also matches other scripts' digits).
Pincode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[1-9][0-9]{5}$")]
# A category is data (functions/core/tariffs/categories.py): the service checks it exists.
Category = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]


class NewProperty(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line1: Line
    line2: Line | None = None
    city: Place
    state: Place
    pincode: Pincode
    category: Category
    sanctioned_load_kw: ExactDecimal = Field(
        description='kW as a string or integer, e.g. "7.5"; more than 0, at most 1000',
        # the validator below checks; this says it in /openapi.json
        json_schema_extra={"exclusiveMinimum": 0, "maximum": int(MAX_SANCTIONED_LOAD_KW)})

    @field_validator("sanctioned_load_kw")
    @classmethod
    def _load_in_range(cls, value: Decimal) -> Decimal:
        if value <= 0 or value > MAX_SANCTIONED_LOAD_KW:
            raise ValueError(f"must be more than 0 and at most {MAX_SANCTIONED_LOAD_KW} kW")
        if value.as_tuple().exponent < -3:  # type: ignore[operator]
            raise ValueError("at most three decimals")
        return value


class TenantInvite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    move_in: date | None = Field(
        default=None, description="The IST day the tenant moves in (they pay from that "
        "day): not in a month already billed for the property, at most 90 days ahead. "
        "Default: the day they accept.")


class MoveOutQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    move_out: date | None = Field(
        default=None, description="The IST day the tenant moved out (the owner pays from "
        "that day): not before they moved in, not after today, not in a month already "
        "billed. Default: today.")


class TenancyDates(BaseModel):
    """The owner states (or corrects) when a tenant moved in and out."""

    model_config = ConfigDict(extra="forbid")

    move_in: date | None = None
    move_out: date | None = None


class Address(BaseModel):
    line1: str
    line2: str | None
    city: str
    state: str
    pincode: str


class TenantSummary(BaseModel):
    """The current tenant as the owner sees it."""

    tenancy_id: str
    name: str
    since: datetime


class InvitationSummary(BaseModel):
    tenancy_id: str
    email: str
    invited_at: datetime


class PropertyBasics(BaseModel):
    property_id: str
    consumer_number: str  # ten digits with a check digit: quick pay, payment reference
    address: Address
    category: str
    sanctioned_load_kw: str
    status: str
    meter_id: str | None
    meter_status: str  # "not_assigned" until an admin attaches a meter
    relationship: Literal["owner", "tenant", "admin"]
    latest_bill: dict[str, Any] | None = None  # filled by a latest_bill_lookup hook


class OwnerPropertyView(PropertyBasics):
    created_at: datetime
    tenant: TenantSummary | None
    pending_invitation: InvitationSummary | None


class TenancyView(BaseModel):
    tenancy_id: str
    property_id: str
    status: str
    invite_email: str
    invited_at: datetime
    tenant_name: str | None
    start_date: datetime | None
    end_date: datetime | None
    ended_reason: str | None
    move_in_date: date | None = Field(
        default=None, description="The move-in day stated by the owner (IST)")
    move_in_display: str | None = None  # the IST day the tenancy starts covering
    move_out_display: str | None = None  # the IST day the owner pays again


class TenantPropertyView(PropertyBasics):
    """What a tenant sees: the property's basics and their own tenancy only."""

    tenancy: TenancyView


class AdminPropertyView(OwnerPropertyView):
    owner_id: str


class AdminPropertyList(BaseModel):
    """A page of the admin search: newest first within each of the index's shards; a
    page may hold fewer than `limit` (filters apply to what was read) and still go on."""

    properties: list[AdminPropertyView]
    cursor: str | None = Field(default=None, description="the next page (null: the last)")


class InvitationView(BaseModel):
    """A pending invitation, as the invited person sees it."""

    tenancy_id: str
    property_id: str
    address: Address
    category: str
    invited_at: datetime


class AdminPropertyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    category: Category | None = None
    city: Place | None = None
    pincode: Pincode | None = None
    owner_id: Annotated[str, StringConstraints(max_length=100)] | None = None
    has_meter: bool | None = None
    # Exact consumer number (spaces allowed); when given, the other filters are ignored.
    consumer_number: Annotated[str, StringConstraints(strip_whitespace=True,
                                                      max_length=20)] | None = None
    # Every property a page at a time (the next page: the cursor of the last one).
    cursor: str | None = Field(default=None, min_length=1, max_length=2000)
    limit: int = Field(default=100, ge=1, le=500)
