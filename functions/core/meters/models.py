"""Meters, read requests and raw readings in DynamoDB.

meters          one item per meter (meter_id "mtr-..."), plus guard items "serial#<serial>"
                and "pubkey#<key id>" that keep serials and public keys unique (conditional
                puts in the transaction that writes the meter).
read_requests   one item per read request sent to a meter, keyed by its nonce; answered
                once (a conditional update outstanding -> answered).
readings        raw readings as received ("reading#<read_at>#<counter>") and rejected
                messages ("rejected#<received_at>#<id>"), both per meter.

Ids are limited to the protocol's id alphabet ([A-Za-z0-9._:-], docs/meter-protocol.md):
a meter id is the sender id of the meter's messages.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from functions.core.db import gsi_meta, registered, table_meta
from functions.core.shards import sharded

# Meter lifecycle: registered -(assign)-> registered with a property -(activate)-> active
# <-> inactive; active|inactive -(replace)-> replaced (final). Only "active" meters are read.
METER_REGISTERED = "registered"
METER_ACTIVE = "active"
METER_INACTIVE = "inactive"
METER_REPLACED = "replaced"
METER_STATUSES = (METER_REGISTERED, METER_ACTIVE, METER_INACTIVE, METER_REPLACED)

# Read request lifecycle: outstanding -> answered | undeliverable | failed (meter error).
REQUEST_OUTSTANDING = "outstanding"
REQUEST_ANSWERED = "answered"
REQUEST_UNDELIVERABLE = "undeliverable"
REQUEST_FAILED = "failed"

# Raw reading status: the API stores "received"; billing moves it on
# (accepted | rejected | held) as it validates.
READING_RECEIVED = "received"

READING_PREFIX = "reading#"
REJECTED_PREFIX = "rejected#"
METER_ERROR_PREFIX = "meter_error#"
SERIAL_GUARD_PREFIX = "serial#"
PUBKEY_GUARD_PREFIX = "pubkey#"
UNKNOWN_METER = "unknown"
LIST_KEY = "meter"  # the by_serial index's partition value (before its shard)
# The admin list's indexes take only registrations and status changes (an admin's pace, a
# rollout's at most): 4 shards take 4,000 writes/s, and a page reads 4 partitions a status.
LIST_SHARDS = 4


class MetersByProperty(GlobalSecondaryIndex["MeterRecord"]):
    Meta = gsi_meta("by_property")
    property_id = UnicodeAttribute(hash_key=True)


class MetersByStatus(GlobalSecondaryIndex["MeterRecord"]):
    """"<status>#<shard>" -> meters by id: a run lists the active meters shard by shard."""

    Meta = gsi_meta("by_status")
    status_shard = UnicodeAttribute(hash_key=True)
    meter_id = UnicodeAttribute(range_key=True)


def _keys_only(name: str) -> Any:
    class Meta:
        index_name = name
        projection = KeysOnlyProjection()

    return Meta


class MetersByRecent(GlobalSecondaryIndex["MeterRecord"]):
    """"<status>#<shard>" -> that status's meters by "<registered_at>#<meter_id>"."""

    Meta = _keys_only("by_recent")
    status_list = UnicodeAttribute(hash_key=True)
    list_sort = UnicodeAttribute(range_key=True)


class MetersBySerial(GlobalSecondaryIndex["MeterRecord"]):
    """"meter#<shard>" -> every meter by "<SERIAL in capitals>#<meter_id>": the admin
    finds a meter by the start of the serial printed on it, in any case."""

    Meta = _keys_only("by_serial")
    list_shard = UnicodeAttribute(hash_key=True)
    serial_key = UnicodeAttribute(range_key=True)


def serial_key(serial: str, meter_id: str = "") -> str:
    return f"{serial.upper()}#{meter_id}" if meter_id else serial.upper()


@registered
class MeterRecord(Model):
    Meta = table_meta("meters")

    meter_id = UnicodeAttribute(hash_key=True)
    serial = UnicodeAttribute()
    public_key = UnicodeAttribute()  # 33-byte compressed secp256k1 point, unpadded base64url
    public_key_id = UnicodeAttribute()  # key_id(public_key): rcpt of requests to this meter
    model = UnicodeAttribute()
    firmware = UnicodeAttribute()
    endpoint_url = UnicodeAttribute()  # where the meter listens for read requests
    status = UnicodeAttribute(default=METER_REGISTERED)
    status_shard = UnicodeAttribute(null=True)  # "<status>#<shard>": set from status
    property_id = UnicodeAttribute(null=True)
    owner_id = UnicodeAttribute(null=True)  # the property's owner when assigned
    initial_register_wh = NumberAttribute(default=0)  # register when installed
    # The last message accepted from this meter: its counter and register.
    last_counter = NumberAttribute(null=True)
    last_register_wh = NumberAttribute(null=True)
    last_read_at = UTCDateTimeAttribute(null=True)
    registered_at = UTCDateTimeAttribute()
    registered_by = UnicodeAttribute(null=True)
    assigned_at = UTCDateTimeAttribute(null=True)
    activated_at = UTCDateTimeAttribute(null=True)
    deactivated_at = UTCDateTimeAttribute(null=True)
    key_rotated_at = UTCDateTimeAttribute(null=True)
    key_version = NumberAttribute(default=1)
    # Capabilities recorded at registration (docs/meter-protocol.md section 17.3): the
    # protocol version it speaks (2: billing snapshots), its time-of-day zones, whether it
    # has an export register (rooftop solar) and records maximum demand.
    protocol_version = NumberAttribute(null=True)  # None: 1
    tod_zones = NumberAttribute(null=True)
    has_export = BooleanAttribute(null=True)
    has_demand = BooleanAttribute(null=True)
    # Replacement: on the old meter ...
    replaced_by = UnicodeAttribute(null=True)
    final_register_wh = NumberAttribute(null=True)
    replaced_at = UTCDateTimeAttribute(null=True)
    # ... and on the new meter (its first register is initial_register_wh).
    replaces = UnicodeAttribute(null=True)
    replaced_meter_final_register_wh = NumberAttribute(null=True)
    replacement_at = UTCDateTimeAttribute(null=True)

    # The admin list's keys (set on save; registration time, id and serial never change).
    list_shard = UnicodeAttribute(null=True)  # "meter#<shard of LIST_SHARDS>"
    status_list = UnicodeAttribute(null=True)  # "<status>#<shard of LIST_SHARDS>"
    list_sort = UnicodeAttribute(null=True)  # "<registered_at, fixed width>#<meter_id>"
    serial_key = UnicodeAttribute(null=True)  # "<SERIAL>#<meter_id>"

    by_property = MetersByProperty()
    by_status = MetersByStatus()
    by_recent = MetersByRecent()
    by_serial = MetersBySerial()

    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        self.status_shard = sharded(self.status, self.meter_id)
        self.list_shard = sharded(LIST_KEY, self.meter_id, LIST_SHARDS)
        self.status_list = sharded(self.status, self.meter_id, LIST_SHARDS)
        registered = self.registered_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.list_sort = f"{registered}#{self.meter_id}"
        self.serial_key = serial_key(self.serial, self.meter_id)
        return super().serialize(null_check)

    def status_actions(self, status: str) -> list[Any]:
        """The update actions that move the meter to `status` (and its index shard)."""
        return [MeterRecord.status.set(status),
                MeterRecord.status_shard.set(sharded(status, self.meter_id)),
                MeterRecord.status_list.set(sharded(status, self.meter_id, LIST_SHARDS))]


@registered
class GuardRecord(Model):
    """A uniqueness guard in the meters table: "serial#<serial>" or "pubkey#<key id>"
    exists while a meter holds that serial or public key (claimed by a conditional put)."""

    Meta = table_meta("meters")

    meter_id = UnicodeAttribute(hash_key=True)  # "serial#<serial>" | "pubkey#<key id>"
    owner_meter_id = UnicodeAttribute()


class RequestsByRun(GlobalSecondaryIndex["ReadRequestRecord"]):
    """"<run_id>#<shard of the meter>" -> the run's requests by meter id."""

    Meta = gsi_meta("by_run")
    run_shard = UnicodeAttribute(hash_key=True)
    meter_id = UnicodeAttribute(range_key=True)


@registered
class ReadRequestRecord(Model):
    Meta = table_meta("read_requests")

    nonce = UnicodeAttribute(hash_key=True)  # 256-bit, unpadded base64url
    run_id = UnicodeAttribute()
    meter_id = UnicodeAttribute()
    period = UnicodeAttribute()
    status = UnicodeAttribute(default=REQUEST_OUTSTANDING)
    issued_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    reply_to = UnicodeAttribute()
    meter_key_id = UnicodeAttribute()  # the meter key the request was encrypted to
    server_key_id = UnicodeAttribute()  # the server key that signed it
    delivered_at = UTCDateTimeAttribute(null=True)
    delivery_attempts = NumberAttribute(default=0)
    delivery_error = UnicodeAttribute(null=True)
    answered_at = UTCDateTimeAttribute(null=True)
    reading_key = UnicodeAttribute(null=True)
    error_code = UnicodeAttribute(null=True)  # a meter's "error" message
    purge_at_epoch = NumberAttribute(null=True)  # TTL: request records are kept ~400 days
    protocol_version = NumberAttribute(null=True)  # None: 1
    billing_at = UTCDateTimeAttribute(null=True)  # v2: the billing date's snapshot asked for
    run_shard = UnicodeAttribute(null=True)  # "<run_id>#<shard>": set from run and meter

    by_run = RequestsByRun()

    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        self.run_shard = sharded(self.run_id, self.meter_id)
        return super().serialize(null_check)


class ReadingsByRun(GlobalSecondaryIndex["RawReadingRecord"]):
    """"<run_id>#<shard of the meter>" -> the run's readings by meter id."""

    Meta = gsi_meta("by_run")
    run_shard = UnicodeAttribute(hash_key=True)
    meter_id = UnicodeAttribute(range_key=True)


@registered
class RawReadingRecord(Model):
    """A reading whose envelope the API verified, exactly as received plus its payload.

    Rejected messages live in the same table (RejectionRecord) without a run_id, so the
    by_run index holds only verified readings.
    """

    Meta = table_meta("readings")

    meter_id = UnicodeAttribute(hash_key=True)
    reading_key = UnicodeAttribute(range_key=True)  # "reading#<read_at>#<counter:012d>"
    kind = UnicodeAttribute(default="reading")
    run_id = UnicodeAttribute()
    period = UnicodeAttribute()
    nonce = UnicodeAttribute()
    counter = NumberAttribute()
    register_wh = NumberAttribute()  # v2: import_wh
    read_at = UTCDateTimeAttribute()
    received_at = UTCDateTimeAttribute()
    # Protocol v2 (null on v1 readings): the billing snapshot, or live registers.
    protocol_version = NumberAttribute(null=True)
    source = UnicodeAttribute(null=True)  # "snapshot" | "live"
    snapshot_at = UTCDateTimeAttribute(null=True)  # when the registers were latched
    export_wh = NumberAttribute(null=True)
    tod_wh = ListAttribute[int](of=NumberAttribute, null=True)  # type: ignore[arg-type]  # Wh per ToD zone
    md_w = NumberAttribute(null=True)
    md_at = UTCDateTimeAttribute(null=True)
    property_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default=READING_RECEIVED)
    envelope = UnicodeAttribute()  # the request body as received (canonical JSON)
    payload = UnicodeAttribute()  # the decrypted reading (canonical JSON)
    server_key_id = UnicodeAttribute()  # which server key it was encrypted to
    # Billing's verdict (it owns these): accepted | rejected | held, with a reason.
    validation_reason = UnicodeAttribute(null=True)
    validation_detail = UnicodeAttribute(null=True)
    run_shard = UnicodeAttribute(null=True)  # "<run_id>#<shard>": set from run and meter

    by_run = ReadingsByRun()

    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        self.run_shard = sharded(self.run_id, self.meter_id)
        return super().serialize(null_check)


class RejectionsByShard(GlobalSecondaryIndex["RejectionRecord"]):
    """"rejected#<shard>" -> rejections by time received."""

    Meta = gsi_meta("by_rejections")
    rejection_shard = UnicodeAttribute(hash_key=True)
    received_at = UTCDateTimeAttribute(range_key=True)


@registered
class RejectionRecord(Model):
    """A message the reading endpoint refused, with the precise reason (never told to the
    sender). meter_id is the claimed sender if it names a known meter, else "unknown"."""

    Meta = table_meta("readings")

    meter_id = UnicodeAttribute(hash_key=True)
    reading_key = UnicodeAttribute(range_key=True)  # "rejected#<received_at>#<id>"
    kind = UnicodeAttribute(default="rejection")
    reason = UnicodeAttribute()  # a reason code (docs/meter-protocol.md)
    detail = UnicodeAttribute(null=True)
    claimed_sender = UnicodeAttribute(null=True)  # as written in the envelope, truncated
    claimed_run_id = UnicodeAttribute(null=True)  # not "run_id": stays out of by_run
    nonce = UnicodeAttribute(null=True)
    source_ip = UnicodeAttribute(null=True)
    body_bytes = NumberAttribute(default=0)
    body_sha256 = UnicodeAttribute(null=True)
    body_excerpt = UnicodeAttribute(null=True)  # first bytes of the body, for forensics
    received_at = UTCDateTimeAttribute()
    # "rejected#<shard>": the by_rejections index lists every meter's rejections, newest
    # first, without scanning the readings table (set from the reading key).
    rejection_shard = UnicodeAttribute(null=True)

    by_rejections = RejectionsByShard()

    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        self.rejection_shard = sharded("rejected", self.reading_key)
        return super().serialize(null_check)
