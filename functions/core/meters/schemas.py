"""Request bodies and views of the meter registry (pydantic, validated at the edge)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

# Serials and ids use the protocol's id alphabet: a serial is also a URL path segment of
# the simulated meters and must never need escaping.
Serial = Annotated[str, StringConstraints(strip_whitespace=True,
                                          pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
PublicKeyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                 max_length=200)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=512,
                                       pattern=r"^https?://[^\s]+$")]
RegisterWh = Annotated[int, Field(ge=0, le=2**53 - 1)]
MeterStatus = Literal["registered", "active", "inactive", "replaced"]


class MeterCapabilities(BaseModel):
    """What the meter can do, recorded at registration: the protocol version it speaks
    (2: billing snapshots with time-of-day zones, export and maximum demand) and its
    registers. A version 1 meter has none of the v2 registers."""

    model_config = ConfigDict(extra="forbid")

    protocol_version: Literal[1, 2] = 1
    tod_zones: int | None = Field(default=None, ge=1, le=8,
                                  description="time-of-day zones (v2; default 4)")
    export: bool = Field(default=False, description="an export register (rooftop solar)")
    demand: bool = Field(default=False, description="records maximum demand (v2)")

    @model_validator(mode="after")
    def _v2_registers_need_v2(self) -> MeterCapabilities:
        if self.protocol_version == 1 and (self.tod_zones or self.export or self.demand):
            raise ValueError("zones, export and demand registers need protocol_version 2")
        if self.protocol_version == 2 and self.tod_zones is None:
            self.tod_zones = 4
        return self


class NewMeter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    serial: Serial
    public_key: PublicKeyText = Field(
        description="33-byte compressed secp256k1 point: unpadded base64url (or hex)")
    model: Text
    firmware: Text
    endpoint_url: Url = Field(description="where the meter listens for read requests")
    initial_register_wh: RegisterWh = 0
    capabilities: MeterCapabilities = Field(default_factory=MeterCapabilities)


class AssignMeter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    property_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                  max_length=64)]


class ReplaceMeter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_meter_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                   max_length=64)]
    final_register_wh: RegisterWh = Field(description="the old meter's register when removed")
    first_register_wh: RegisterWh = Field(description="the new meter's register when fitted")


class RotateMeterKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_key: PublicKeyText


class UpdateEndpoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint_url: Url


class MeterQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: MeterStatus | None = None
    property_id: str | None = Field(default=None, min_length=1, max_length=64,
                                    examples=["prp_0123456789abcdef"])
    # The start of the serial printed on the meter (any case); the whole serial finds one.
    serial: Annotated[str, StringConstraints(
        strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")] | None = Field(
        default=None, description="meters whose serial starts with this (any case)",
        examples=["SIM-0042"])
    cursor: str | None = Field(default=None, min_length=1, max_length=2000,
                               description="the cursor of the previous page")
    limit: int = Field(default=50, ge=1, le=100)


class RejectionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meter_id: str | None = None
    run_id: str | None = None
    reason: str | None = None
    cursor: str | None = Field(default=None, min_length=1, max_length=2000,
                               description="the cursor of the previous page")
    # A page merges up to `limit` of each of the index's 32 shards: kept small.
    limit: int = Field(default=50, ge=1, le=100,
                       description="the most rejections a page holds (it reads up to "
                                   "this many from each shard of the index)")


class RotateServerKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_days: int = Field(default=7, ge=0, le=30,
                            description="how long the replaced key stays usable (meters are "
                                        "provisioned with 30 days as the most they allow)")


class RevokeServerKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]


class MeterView(BaseModel):
    meter_id: str
    serial: str
    public_key: str
    public_key_id: str
    model: str
    firmware: str
    endpoint_url: str
    status: str
    property_id: str | None
    owner_id: str | None
    initial_register_wh: int
    last_counter: int | None
    last_register_wh: int | None
    last_read_at: datetime | None
    registered_at: datetime
    assigned_at: datetime | None
    activated_at: datetime | None
    deactivated_at: datetime | None
    key_rotated_at: datetime | None
    key_version: int
    replaced_by: str | None
    final_register_wh: int | None
    replaced_at: datetime | None
    replaces: str | None
    capabilities: MeterCapabilities


class ServerPublicKey(BaseModel):
    key_id: str
    public_key: str
    status: Literal["current", "previous"]
    accept_until: str | None


class RootPublicKey(BaseModel):
    key_id: str
    public_key: str


class ProvisioningConfig(BaseModel):
    """What the meter is configured with when it is assigned ("assign server and device
    to user"): who it is (meter_id, the platform's id: NOT its serial), whom it trusts
    (server keys, and the offline root keys that alone may endorse or revoke server keys,
    with the longest overlap it allows a replaced key) and where it posts readings."""

    meter_id: str
    serial: str
    property_id: str
    protocol_version: int
    server_sender_id: str
    server_public_keys: list[ServerPublicKey]
    root_public_keys: list[RootPublicKey]
    max_key_overlap_seconds: int
    reading_url: str
    tod_zone_starts: list[int] | None = Field(
        default=None, description="v2: IST hours at which the meter's ToD zones start")
    billing_day: int = Field(default=1, description="v2: snapshots latch at 00:00 IST on "
                                                    "this day of every month")


class AssignedMeter(BaseModel):
    meter: MeterView
    provisioning: ProvisioningConfig


class ReplacementView(BaseModel):
    old_meter_id: str
    final_register_wh: int
    new_meter_id: str
    first_register_wh: int
    replaced_at: datetime
    property_id: str | None


class ReplacedMeter(BaseModel):
    old_meter: MeterView
    new_meter: MeterView
    replacement: ReplacementView
    provisioning: ProvisioningConfig


class RejectionView(BaseModel):
    meter_id: str
    reading_key: str
    reason: str
    detail: str | None
    claimed_sender: str | None
    claimed_run_id: str | None
    nonce: str | None
    source_ip: str | None
    body_bytes: int
    body_sha256: str | None
    received_at: datetime


class RejectionPage(BaseModel):
    """A page of rejections, newest first; filtered by run or reason a page may hold
    fewer than `limit`, even none, and still go on."""

    rejections: list[RejectionView]
    cursor: str | None = Field(default=None, description="the next page (null: the last)")


class ServerKeysView(BaseModel):
    keys: list[ServerPublicKey]
    root_public_keys: list[RootPublicKey]
    endorsements: list[dict[str, Any]]
    revocations: list[dict[str, Any]]


class MeterList(BaseModel):
    """A page of meters: newest registered first, or in serial order when searching by
    serial; a page may hold fewer than `limit` and still go on."""

    meters: list[MeterView]
    cursor: str | None = Field(default=None, description="the next page (null: the last)")
