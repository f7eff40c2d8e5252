"""Remote disconnect/reconnect commands over the meter channel (issue 24).

A command (docs/meter-protocol.md section 8.5) is sealed and signed like a read request
and POSTed to the meter's endpoint; the meter answers with its signed, encrypted
acknowledgement carrying its relay state. The platform accepts the acknowledgement only
if it opens with the meter's key on record (a forged one fails the signature), echoes
the command id, nonce and meter id of the outstanding attempt, and moves the command
from pending to acked with one conditional write. A command that was not acknowledged
stays pending and is retried (`retry`) with a fresh nonce and the same command id; the
meter refuses a nonce it has seen (a replay) and a command older than the last it obeyed.

The sparse, sharded `by_state` index lists commands by state ("pending#07", "acked#07",
"failed#07"; the shard is the command id's): a pending command sorts by `state_at`, the
moment it is due for another attempt (its attempt's expiry, or sooner after a delivery
that got no acknowledgement: RETRY_BACKOFF), so the retry sweep (`due`) reads only the
commands due, a page per shard; a finished one sorts by when it was acknowledged or given
up. After MAX_ATTEMPTS unacknowledged attempts a command is failed (the admin's list).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import urllib3
from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from functions.core.clock import utcnow
from functions.core.crypto import (
    PROTOCOL_V2,
    SERVER_SENDER_ID,
    CryptoError,
    envelope_to_bytes,
    format_timestamp,
    load_public_key_b64,
    new_nonce,
    open_envelope,
    seal,
)
from functions.core.db import gsi_meta, registered, table_meta
from functions.core.logs import logger
from functions.core.meters.repositories import MeterRepository
from functions.core.meters.server_key import ServerKeys, server_keys
from functions.core.paging import Page, merged_page
from functions.core.shards import RUN_SHARDS, shard_key, sharded

COMMAND_TTL = timedelta(minutes=15)
PENDING, ACKED, FAILED = "pending", "acked", "failed"
STATES = (PENDING, ACKED, FAILED)
MERGED_PAGE = 30  # commands a page of the admin's lists (32 shards x 30 read at most)
# After the n-th unacknowledged attempt the next one is due this much later (the last
# value repeats): a meter briefly out of reach is reconnected within minutes.
RETRY_BACKOFF = (timedelta(minutes=2), timedelta(minutes=5), timedelta(minutes=10),
                 timedelta(minutes=15))


def max_attempts() -> int:
    """Attempts before a command is failed (configuration; 6 unless COMMAND_MAX_ATTEMPTS):
    the first and five retries, over about 45 minutes."""
    return max(1, int(os.environ.get("COMMAND_MAX_ATTEMPTS", "6")))
_http = urllib3.PoolManager(num_pools=16, retries=False)


class CommandsByMeter(GlobalSecondaryIndex["MeterCommandRecord"]):
    Meta = gsi_meta("by_meter")
    meter_id = UnicodeAttribute(hash_key=True)
    issued_at = UnicodeAttribute(range_key=True)


class CommandsByState(GlobalSecondaryIndex["MeterCommandRecord"]):
    Meta = gsi_meta("by_state")
    state_shard = UnicodeAttribute(hash_key=True)
    state_at = UnicodeAttribute(range_key=True)


@registered
class MeterCommandRecord(Model):
    Meta = table_meta("meter_commands")

    command_id = UnicodeAttribute(hash_key=True)
    meter_id = UnicodeAttribute()
    connection_id = UnicodeAttribute(null=True)
    operation = UnicodeAttribute()  # disconnect | reconnect
    issued_at = UnicodeAttribute()  # the first attempt (UTC, ...Z): the command log's order
    nonce = UnicodeAttribute()  # the current attempt's
    attempt_issued_at = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    status = UnicodeAttribute(default=PENDING)
    attempts = NumberAttribute(default=0)
    relay = UnicodeAttribute(null=True)  # what the meter's acknowledgement said
    acked_at = UTCDateTimeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)  # why it was sent (the policy's words)
    # by_state: "<status>#<shard>"; state_at "<UTC time>#<command id>": for a pending
    # command when its next attempt is due, else when it was acknowledged or given up.
    state_shard = UnicodeAttribute(null=True)
    state_at = UnicodeAttribute(null=True)

    by_meter = CommandsByMeter()
    by_state = CommandsByState()


def state_key(status: str, command_id: str) -> str:
    return sharded(status, command_id)


def state_sort(moment: datetime | str, command_id: str) -> str:
    """The index's sort key, unique per command (a list across shards can merge on it)."""
    text = moment if isinstance(moment, str) else format_timestamp(moment)
    return f"{text}#{command_id}"


class AckRejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Ack:
    command_id: str
    relay: str
    acted_at: str


def new_command_id() -> str:
    return f"cmd-{uuid.uuid4().hex[:20]}"


def command_payload(record: MeterCommandRecord) -> dict[str, Any]:
    return {"v": PROTOCOL_V2, "command_id": record.command_id, "nonce": record.nonce,
            "meter_id": record.meter_id, "operation": record.operation,
            "issued_at": record.attempt_issued_at, "expires_at": record.expires_at}


def check_ack(body: bytes, record: MeterCommandRecord, meter_public_key: str,
              keys: ServerKeys) -> Ack:
    """The meter's answer, verified: its key on record, this attempt, this meter."""
    try:
        opened = open_envelope(body, recipient_priv=keys.private_keys(),
                               sender_pub=load_public_key_b64(meter_public_key),
                               expect_type="command_ack")
    except CryptoError as error:
        raise AckRejected(error.reason) from error
    ack = opened.payload
    if (opened.sender != record.meter_id or ack["command_id"] != record.command_id
            or ack["nonce"] != record.nonce):
        raise AckRejected("ack_mismatch")
    expected = "disconnected" if record.operation == "disconnect" else "connected"
    if ack["relay"] != expected:
        raise AckRejected("relay_not_switched")
    return Ack(ack["command_id"], ack["relay"], ack["acted_at"])


class MeterCommands:
    """Sends relay commands and records their acknowledgements (prepaid's SupplyControl)."""

    def __init__(self, meters: MeterRepository | None = None,
                 keys: Callable[[], ServerKeys] = server_keys,
                 clock: Callable[[], datetime] = utcnow,
                 on_ack: Callable[[MeterCommandRecord, Ack], None] | None = None) -> None:
        self.meters = meters or MeterRepository()
        self.keys = keys
        self.clock = clock
        self.on_ack = on_ack

    def issue(self, meter_id: str, operation: str, connection_id: str | None = None,
              reason: str | None = None, command_id: str | None = None
              ) -> MeterCommandRecord:
        now = self.clock()
        record = MeterCommandRecord(
            command_id=command_id or new_command_id(), meter_id=meter_id,
            connection_id=connection_id, operation=operation,
            issued_at=format_timestamp(now), nonce=new_nonce(),
            attempt_issued_at=format_timestamp(now),
            expires_at=format_timestamp(now + COMMAND_TTL), reason=reason)
        record.state_shard = state_key(PENDING, record.command_id)
        # Due again at its expiry if this process dies mid-delivery.
        record.state_at = state_sort(record.expires_at, record.command_id)
        record.save(condition=MeterCommandRecord.command_id.does_not_exist())
        self.deliver(record)
        return record

    def retry(self, command_id: str, seen_nonce: str | None = None) -> MeterCommandRecord:
        """A pending command again: a fresh nonce and window, the same command id. With
        `seen_nonce` (the sweep's), only if no one else has retried it since it was read."""
        record = MeterCommandRecord.get(command_id, consistent_read=True)
        if record.status != PENDING or (seen_nonce is not None and record.nonce != seen_nonce):
            return record
        if int(record.attempts) >= max_attempts():  # e.g. a review after the last attempt
            self._failed(record, record.last_error or "no_acknowledgement")
            return record
        now = self.clock()
        previous = record.nonce
        record.nonce = new_nonce()
        record.attempt_issued_at = format_timestamp(now)
        record.expires_at = format_timestamp(now + COMMAND_TTL)
        record.state_at = state_sort(record.expires_at, command_id)
        try:
            record.save(condition=(MeterCommandRecord.status == PENDING)
                        & (MeterCommandRecord.nonce == previous))
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            return self.get(command_id) or record  # retried or acknowledged meanwhile
        self.deliver(record)
        return record

    def deliver(self, record: MeterCommandRecord) -> Ack | None:
        """POST the current attempt; on a verified acknowledgement mark it acked."""
        meter = self.meters.get(record.meter_id)
        if meter is None:
            self._failed(record, "unknown_meter")
            return None
        keys = self.keys()
        envelope = seal(command_payload(record), msg_type="command",
                        recipient_pub=load_public_key_b64(meter.public_key),
                        sender_priv=keys.current.private, sender_id=SERVER_SENDER_ID)
        try:
            response = _http.request(
                "POST", meter.endpoint_url, body=envelope_to_bytes(envelope),
                headers={"Content-Type": "application/json"},
                timeout=urllib3.Timeout(connect=3, read=10), redirect=False)
        except urllib3.exceptions.HTTPError as error:
            self._attempted(record, type(error).__name__)
            return None
        if response.status != 200:
            reason = _reason(response.data) or f"http_{response.status}"
            self._attempted(record, reason)
            return None
        try:
            ack = check_ack(response.data, record, meter.public_key, keys)
        except AckRejected as rejected:
            logger.warning("command acknowledgement refused", extra={
                "command_id": record.command_id, "meter_id": record.meter_id,
                "reason": rejected.reason})
            self._attempted(record, f"ack_refused:{rejected.reason}")
            return None
        try:
            acked_at = self.clock()
            record.update(actions=[MeterCommandRecord.status.set(ACKED),
                                   MeterCommandRecord.relay.set(ack.relay),
                                   MeterCommandRecord.acked_at.set(acked_at),
                                   MeterCommandRecord.attempts.add(1),
                                   MeterCommandRecord.state_shard.set(
                                       state_key(ACKED, record.command_id)),
                                   MeterCommandRecord.state_at.set(
                                       state_sort(acked_at, record.command_id))],
                          condition=(MeterCommandRecord.status == PENDING)
                          & (MeterCommandRecord.nonce == record.nonce))
        except UpdateError:
            return None  # acknowledged already (a concurrent retry)
        logger.info("command acknowledged", extra={"command_id": record.command_id,
                                                   "meter_id": record.meter_id,
                                                   "relay": ack.relay})
        if self.on_ack is not None:
            self.on_ack(record, ack)
        return ack

    def log(self, meter_id: str, limit: int = 50) -> list[MeterCommandRecord]:
        """The meter's commands, newest first (the admin's command log)."""
        return list(MeterCommandRecord.by_meter.query(meter_id, scan_index_forward=False,
                                                      limit=max(1, min(limit, 200))))

    def page(self, status: str, cursor: str | None, limit: int
             ) -> Page[MeterCommandRecord]:
        """Commands in one state, a page at a time in one order across the shards: pending
        ones soonest due first, acknowledged and failed ones newest first. A page merges
        up to `limit` of each shard, so it reads at most RUN_SHARDS x MERGED_PAGE items."""
        return merged_page(MeterCommandRecord.by_state,
                           [shard_key(status, shard) for shard in range(RUN_SHARDS)],
                           "state_at", cursor, min(limit, MERGED_PAGE),
                           descending=status != PENDING)

    def due(self, shard: int, now: datetime, limit: int) -> list[MeterCommandRecord]:
        """Up to `limit` pending commands of one shard whose next attempt is due."""
        return list(MeterCommandRecord.by_state.query(
            f"{PENDING}#{shard:02d}",
            MeterCommandRecord.state_at < f"{format_timestamp(now)}$",  # '$' sorts after '#'
            limit=limit))

    def get(self, command_id: str) -> MeterCommandRecord | None:
        try:
            return MeterCommandRecord.get(command_id, consistent_read=True)
        except DoesNotExist:
            return None

    def _attempted(self, record: MeterCommandRecord, error: str) -> None:
        attempts = int(record.attempts) + 1
        backoff = RETRY_BACKOFF[min(attempts, len(RETRY_BACKOFF)) - 1]
        try:
            record.update(actions=[MeterCommandRecord.attempts.add(1),
                                   MeterCommandRecord.last_error.set(error[:200]),
                                   MeterCommandRecord.state_at.set(
                                       state_sort(self.clock() + backoff, record.command_id))],
                          condition=(MeterCommandRecord.status == PENDING)
                          & (MeterCommandRecord.nonce == record.nonce))
        except UpdateError:
            return None  # a newer attempt (or its acknowledgement) got there first
        logger.info("command not acknowledged", extra={"command_id": record.command_id,
                                                       "error": error, "attempts": attempts})
        if int(record.attempts) >= max_attempts():
            self._failed(record, error)
        return None

    def _failed(self, record: MeterCommandRecord, error: str) -> None:
        """Given up: the admin's list of failed commands shows it (and the reason)."""
        try:
            record.update(actions=[MeterCommandRecord.status.set(FAILED),
                                   MeterCommandRecord.last_error.set(error[:200]),
                                   MeterCommandRecord.state_shard.set(
                                       state_key(FAILED, record.command_id)),
                                   MeterCommandRecord.state_at.set(
                                       state_sort(self.clock(), record.command_id))],
                          condition=MeterCommandRecord.status == PENDING)
        except UpdateError:
            return None  # acknowledged meanwhile
        logger.warning("command failed", extra={"command_id": record.command_id,
                                                "meter_id": record.meter_id,
                                                "attempts": int(record.attempts),
                                                "error": error})
        return None


def _reason(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    reason = data.get("reason") if isinstance(data, dict) else None
    return str(reason)[:100] if reason else None
