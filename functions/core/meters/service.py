"""The meter registry: register, assign, activate, deactivate, replace, rotate a key.

Also the read-only functions other parts call (billing, properties, the admin screens):
``get_meter``, ``find_meter``, ``active_meters``, ``meter_of_property``,
``replacement_into``, ``replacements_of_property``, ``last_received_register``,
``last_accepted_reading``, ``set_reading_verdict`` and ``requests_of_run``.
"""

from __future__ import annotations

import binascii
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.core.accounts.service import require_verified_customer
from functions.core.billing_rules.snapshots import TOD_ZONE_STARTS
from functions.core.clock import utcnow
from functions.core.crypto import (
    PROTOCOL_VERSION,
    SERVER_SENDER_ID,
    InvalidKey,
    key_id,
    load_public_key,
    load_public_key_b64,
    public_key_b64,
)
from functions.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from functions.core.meters.models import (
    METER_ACTIVE,
    METER_INACTIVE,
    METER_REGISTERED,
    METER_REPLACED,
    READING_PREFIX,
    MeterRecord,
    RawReadingRecord,
    ReadRequestRecord,
)
from functions.core.meters.repositories import (
    MeterRepository,
    ReadingRepository,
    ReadRequestRepository,
)
from functions.core.meters.schemas import (
    AssignedMeter,
    MeterCapabilities,
    MeterQuery,
    MeterView,
    NewMeter,
    ProvisioningConfig,
    ReplacedMeter,
    ReplacementView,
    ReplaceMeter,
    RootPublicKey,
    ServerPublicKey,
)
from functions.core.meters.server_key import MAX_KEY_OVERLAP, ServerKeyStore, key_store
from functions.core.paging import Page
from functions.core.properties.service import PropertyService
from functions.core.settings import get_settings

READING_PATH = "/device/readings"


def reading_url() -> str:
    return get_settings().api_base_url.rstrip("/") + READING_PATH


def new_meter_id() -> str:
    # The protocol's id alphabet has no "_": ids are "mtr-" + 16 hex digits.
    return f"mtr-{secrets.token_hex(8)}"


def parse_public_key(text: str) -> str:
    """The canonical form (unpadded base64url of the compressed point) of a meter's public
    key given as base64url, standard base64 or hex. InvalidInput if it is not a point of
    secp256k1 (validated by the crypto module)."""
    text = text.strip()
    try:
        if len(text) == 66 and all(c in "0123456789abcdefABCDEF" for c in text):
            key = load_public_key(binascii.unhexlify(text))
        else:
            key = load_public_key_b64(text.translate(str.maketrans("+/", "-_")).rstrip("="))
    except InvalidKey as error:
        raise InvalidInput(
            "public_key is not a valid secp256k1 public key (33-byte compressed point).",
            details=[{"field": "public_key", "message": error.reason}]) from error
    return public_key_b64(key)


def meter_view(meter: MeterRecord) -> MeterView:
    return MeterView(
        meter_id=meter.meter_id, serial=meter.serial, public_key=meter.public_key,
        public_key_id=meter.public_key_id, model=meter.model, firmware=meter.firmware,
        endpoint_url=meter.endpoint_url, status=meter.status, property_id=meter.property_id,
        owner_id=meter.owner_id, initial_register_wh=int(meter.initial_register_wh),
        last_counter=_int_or_none(meter.last_counter),
        last_register_wh=_int_or_none(meter.last_register_wh), last_read_at=meter.last_read_at,
        registered_at=meter.registered_at, assigned_at=meter.assigned_at,
        activated_at=meter.activated_at, deactivated_at=meter.deactivated_at,
        key_rotated_at=meter.key_rotated_at, key_version=int(meter.key_version),
        replaced_by=meter.replaced_by, final_register_wh=_int_or_none(meter.final_register_wh),
        replaced_at=meter.replaced_at, replaces=meter.replaces,
        capabilities=capabilities_of(meter),
    )


def protocol_version_of(meter: MeterRecord) -> int:
    return int(meter.protocol_version or PROTOCOL_VERSION)


def capabilities_of(meter: MeterRecord) -> MeterCapabilities:
    if protocol_version_of(meter) == 1:
        return MeterCapabilities()
    return MeterCapabilities(protocol_version=2, tod_zones=_int_or_none(meter.tod_zones),
                             export=bool(meter.has_export), demand=bool(meter.has_demand))





def _int_or_none(value: float | int | None) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class Replacement:
    """A recorded meter replacement, for billing's validation across the swap."""

    old_meter_id: str
    final_register_wh: int
    new_meter_id: str
    first_register_wh: int
    replaced_at: datetime
    property_id: str | None

    def view(self) -> ReplacementView:
        return ReplacementView(**self.__dict__)


def _replacement_of(new_meter: MeterRecord) -> Replacement | None:
    if not new_meter.replaces or new_meter.replacement_at is None:
        return None
    return Replacement(
        old_meter_id=new_meter.replaces,
        final_register_wh=int(new_meter.replaced_meter_final_register_wh or 0),
        new_meter_id=new_meter.meter_id,
        first_register_wh=int(new_meter.initial_register_wh),
        replaced_at=new_meter.replacement_at, property_id=new_meter.property_id)


class MeterService:
    def __init__(self, meters: MeterRepository | None = None,
                 properties: PropertyService | None = None,
                 keys: ServerKeyStore | None = None) -> None:
        self.meters = meters or MeterRepository()
        self.properties = properties or PropertyService()
        self._keys = keys

    @property
    def keys(self) -> ServerKeyStore:
        return self._keys or key_store()

    # ---- lookups -------------------------------------------------------------

    def get(self, meter_id: str) -> MeterRecord:
        meter = self.meters.get(meter_id)
        if meter is None:
            raise NotFound("No such meter.")
        return meter

    def search(self, query: MeterQuery) -> Page[MeterRecord]:
        return self.meters.search(status=query.status, property_id=query.property_id,
                                  serial=query.serial, cursor=query.cursor,
                                  limit=query.limit)

    def provisioning(self, meter: MeterRecord) -> ProvisioningConfig:
        if meter.property_id is None:
            raise Conflict("The meter is not assigned to a property yet.")
        keys = self.keys.keys()
        version = protocol_version_of(meter)
        return ProvisioningConfig(
            meter_id=meter.meter_id, serial=meter.serial, property_id=meter.property_id,
            protocol_version=version, server_sender_id=SERVER_SENDER_ID,
            server_public_keys=[ServerPublicKey(**k) for k in keys.public_view()],
            root_public_keys=[RootPublicKey(**k) for k in keys.root_view()],
            max_key_overlap_seconds=int(MAX_KEY_OVERLAP.total_seconds()),
            reading_url=reading_url(),
            tod_zone_starts=TOD_ZONE_STARTS[int(meter.tod_zones or 4)] if version == 2
            else None)

    # ---- registry ------------------------------------------------------------

    def register(self, data: NewMeter, admin_id: str | None = None) -> MeterRecord:
        public_key = parse_public_key(data.public_key)
        meter = MeterRecord(
            meter_id=new_meter_id(), serial=data.serial, public_key=public_key,
            public_key_id=key_id(load_public_key_b64(public_key)), model=data.model,
            firmware=data.firmware, endpoint_url=data.endpoint_url, status=METER_REGISTERED,
            initial_register_wh=data.initial_register_wh, registered_at=utcnow(),
            registered_by=admin_id, key_version=1)
        capabilities = data.capabilities
        if capabilities.protocol_version == 2:
            meter.protocol_version = 2
            meter.tod_zones = capabilities.tod_zones
            meter.has_export = capabilities.export
            meter.has_demand = capabilities.demand
        self.meters.create(meter)  # Conflict on a duplicate serial or key
        return meter

    def assign(self, meter_id: str, property_id: str) -> AssignedMeter:
        """Fit a registered meter to a verified customer's property."""
        meter = self.get(meter_id)
        if meter.status != METER_REGISTERED:
            raise Conflict(f"Only a newly registered meter can be assigned (it is {meter.status}).")
        if meter.property_id is not None and meter.property_id != property_id:
            raise Conflict("The meter is already assigned to another property.")
        record = self.properties.get_property(property_id)  # NotFound
        try:
            require_verified_customer(record.owner_id)
        except Forbidden as error:
            raise Conflict("The property's owner is not a verified customer.") from error
        if record.meter_id and record.meter_id != meter_id:
            raise Conflict("The property already has a meter; replace it instead.")
        now = utcnow()
        # Meter first, under a condition that it is still unassigned (or assigned here):
        # two admins assigning it at once cannot both win.
        assigned = self.meters.update(
            meter,
            actions=[MeterRecord.property_id.set(property_id),
                     MeterRecord.owner_id.set(record.owner_id),
                     MeterRecord.assigned_at.set(now)],
            condition=(MeterRecord.status == METER_REGISTERED)
            & (MeterRecord.property_id.does_not_exist()
               | (MeterRecord.property_id == property_id)))
        if not assigned:
            raise Conflict("The meter changed meanwhile; reload and try again.")
        try:
            self.properties.attach_meter(property_id, meter_id)  # Conflict if another meter
        except Exception:
            self.meters.update(meter, actions=[MeterRecord.property_id.remove(),
                                               MeterRecord.owner_id.remove(),
                                               MeterRecord.assigned_at.remove()],
                               condition=MeterRecord.status == METER_REGISTERED)
            raise
        meter.refresh(consistent_read=True)
        return AssignedMeter(meter=meter_view(meter), provisioning=self.provisioning(meter))

    def activate(self, meter_id: str) -> MeterRecord:
        meter = self.get(meter_id)
        if meter.status == METER_ACTIVE:
            return meter
        if meter.status not in (METER_REGISTERED, METER_INACTIVE):
            raise Conflict(f"A {meter.status} meter cannot be activated.")
        if meter.property_id is None:
            raise Conflict("Assign the meter to a property before activating it.")
        ok = self.meters.update(
            meter, actions=[*meter.status_actions(METER_ACTIVE),
                            MeterRecord.activated_at.set(utcnow())],
            condition=MeterRecord.status.is_in(METER_REGISTERED, METER_INACTIVE)
            & MeterRecord.property_id.exists())
        if not ok:
            raise Conflict("The meter changed meanwhile; reload and try again.")
        meter.refresh(consistent_read=True)
        return meter

    def deactivate(self, meter_id: str) -> MeterRecord:
        """Stop reading the meter: it gets no requests and its readings are refused."""
        meter = self.get(meter_id)
        if meter.status == METER_INACTIVE:
            return meter
        if meter.status != METER_ACTIVE:
            raise Conflict(f"A {meter.status} meter cannot be deactivated.")
        ok = self.meters.update(
            meter, actions=[*meter.status_actions(METER_INACTIVE),
                            MeterRecord.deactivated_at.set(utcnow())],
            condition=MeterRecord.status == METER_ACTIVE)
        if not ok:
            raise Conflict("The meter changed meanwhile; reload and try again.")
        meter.refresh(consistent_read=True)
        return meter

    def replace(self, old_meter_id: str, data: ReplaceMeter) -> ReplacedMeter:
        """Swap a fitted meter for a newly registered one at the same property.

        Records the old meter's final register and the new meter's first register on both
        meters in one transaction; billing uses them to count consumption across the swap.
        The new meter is assigned and activated; the old one is retired (status replaced).
        """
        old = self.get(old_meter_id)
        new = self.get(data.new_meter_id)
        if old.meter_id == new.meter_id:
            raise InvalidInput("A meter cannot replace itself.")
        if old.status not in (METER_ACTIVE, METER_INACTIVE) or old.property_id is None:
            raise Conflict("Only an assigned, active or inactive meter can be replaced.")
        if new.status != METER_REGISTERED or (new.property_id not in (None, old.property_id)):
            raise Conflict("The new meter must be registered and not assigned elsewhere.")
        if old.last_register_wh is not None and data.final_register_wh < old.last_register_wh:
            raise InvalidInput(
                f"final_register_wh is below the old meter's last reading "
                f"({int(old.last_register_wh)} Wh).")
        property_id = old.property_id
        now = utcnow()
        self.meters.replace(old, new, property_id=property_id, owner_id=old.owner_id,
                            final_register_wh=data.final_register_wh,
                            first_register_wh=data.first_register_wh, at=now)
        # The property now points at the new meter.
        self.properties.detach_meter(property_id)
        self.properties.attach_meter(property_id, new.meter_id)
        old.refresh(consistent_read=True)
        new.refresh(consistent_read=True)
        replacement = _replacement_of(new)
        assert replacement is not None
        return ReplacedMeter(old_meter=meter_view(old), new_meter=meter_view(new),
                             replacement=replacement.view(), provisioning=self.provisioning(new))

    def rotate_key(self, meter_id: str, public_key_text: str) -> MeterRecord:
        """Give the meter a new public key. The old key is refused from now on (no grace:
        a meter key is rotated when it is suspected compromised). The message counter
        starts over with the new key, which only the meter holds."""
        meter = self.get(meter_id)
        if meter.status == METER_REPLACED:
            raise Conflict("A replaced meter's key cannot be rotated.")
        public_key = parse_public_key(public_key_text)
        new_key_id = key_id(load_public_key_b64(public_key))
        if new_key_id == meter.public_key_id:
            raise InvalidInput("The new public key is the meter's current key.")
        self.meters.change_key(meter, public_key, new_key_id, actions=[
            MeterRecord.key_rotated_at.set(utcnow()),
            MeterRecord.key_version.add(1),
            MeterRecord.last_counter.remove(),
        ])
        meter.refresh(consistent_read=True)
        return meter

    def update_endpoint(self, meter_id: str, endpoint_url: str) -> MeterRecord:
        meter = self.get(meter_id)
        self.meters.update(meter, actions=[MeterRecord.endpoint_url.set(endpoint_url)])
        meter.refresh(consistent_read=True)
        return meter


# ---- module-level entry points (what other parts import) ---------------------------


def get_meter(meter_id: str) -> MeterRecord:
    """The meter; NotFound (404) if there is none."""
    return MeterService().get(meter_id)


def find_meter(meter_id: str) -> MeterRecord | None:
    return MeterRepository().get(meter_id)


def get_meters(meter_ids: list[str]) -> dict[str, MeterRecord]:
    """Many meters in BatchGetItem calls (unknown ids are left out)."""
    return MeterRepository().get_many(meter_ids)


def active_meters() -> list[MeterRecord]:
    """Every meter in status active (the ones a billing run asks), in a stable order."""
    return sorted(MeterRepository().iter_active(), key=lambda m: m.meter_id)


def active_meter_ids() -> list[str]:
    return [m.meter_id for m in active_meters()]


def meter_of_property(property_id: str) -> MeterRecord | None:
    """The meter fitted at the property now (not a replaced one), or None."""
    fitted = [m for m in MeterRepository().for_property(property_id)
              if m.status != METER_REPLACED]
    fitted.sort(key=lambda m: m.assigned_at or m.registered_at, reverse=True)
    return fitted[0] if fitted else None


def meters_of_property(property_id: str) -> list[MeterRecord]:
    """Every meter ever fitted at the property, replaced ones included, oldest first."""
    meters = MeterRepository().for_property(property_id)
    return sorted(meters, key=lambda m: m.assigned_at or m.registered_at)


def replacement_into(meter_id: str) -> Replacement | None:
    """The replacement that fitted ``meter_id`` (None if it replaced no meter)."""
    meter = MeterRepository().get(meter_id)
    return _replacement_of(meter) if meter is not None else None


def replacements_of_property(property_id: str, since: datetime | None = None
                             ) -> list[Replacement]:
    """Replacements at the property (after ``since`` if given), oldest first."""
    found = [r for m in MeterRepository().for_property(property_id)
             if (r := _replacement_of(m)) is not None
             and (since is None or r.replaced_at > since)]
    return sorted(found, key=lambda r: r.replaced_at)


def last_received_register(meter_id: str) -> tuple[int, datetime] | None:
    """(register_wh, read_at) of the last reading the API accepted from the meter
    (verified, not yet validated by billing), or None."""
    meter = MeterRepository().get(meter_id)
    if meter is None or meter.last_register_wh is None or meter.last_read_at is None:
        return None
    return int(meter.last_register_wh), meter.last_read_at


def last_accepted_reading(meter_id: str, before_key: str | None = None
                          ) -> RawReadingRecord | None:
    """The newest stored reading of the meter that billing marked "accepted" (optionally
    older than the reading ``before_key``), or None."""
    for reading in ReadingRepository().readings_of(meter_id, newest_first=True):
        if before_key is not None and reading.reading_key >= before_key:
            continue
        if reading.status == "accepted":
            return reading
    return None


def readings_of_meter(meter_id: str, limit: int | None = None) -> list[RawReadingRecord]:
    """Stored raw readings of the meter, newest first."""
    return ReadingRepository().readings_of(meter_id, newest_first=True, limit=limit)


def get_reading(meter_id: str, reading_key: str) -> RawReadingRecord | None:
    return ReadingRepository().get_reading(meter_id, reading_key)


def set_reading_verdict(meter_id: str, reading_key: str, status: str,
                        reason: str | None = None, detail: str | None = None) -> None:
    """Billing records its validation outcome (accepted | rejected | held) on the raw
    reading, so the admin sees it next to what the meter sent."""
    if not reading_key.startswith(READING_PREFIX):
        raise ValueError("not a reading key")
    actions: list[Any] = [RawReadingRecord.status.set(status)]
    actions.append(RawReadingRecord.validation_reason.set(reason) if reason
                   else RawReadingRecord.validation_reason.remove())
    actions.append(RawReadingRecord.validation_detail.set(detail) if detail
                   else RawReadingRecord.validation_detail.remove())
    RawReadingRecord(meter_id, reading_key).update(
        actions=actions, condition=RawReadingRecord.reading_key.exists())


def reading_payload(reading: RawReadingRecord) -> dict[str, object]:
    payload: dict[str, object] = json.loads(reading.payload)
    return payload


def requests_of_run(run_id: str, meter_id: str | None = None) -> list[ReadRequestRecord]:
    """Read requests sent in a run (status outstanding | answered | undeliverable |
    failed), e.g. to list the meters that did not answer."""
    return ReadRequestRepository().for_run(run_id, meter_id)
