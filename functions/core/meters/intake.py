"""The reading endpoint's rules: authenticate, decrypt, match, consume, store, enqueue.

Order (docs/meter-protocol.md sections 9 and 12): size; envelope structure; the meter named
in the clear by ``sender`` must be known and active; signature with the meter's key ON
RECORD and MAC with the server key named by ``rcpt``; decryption and payload schema; then
ONE DynamoDB transaction whose conditions are the replay rules: it consumes the request
(answerable -> answered, only for this meter and run, before expiry, issued before the
reading), advances the meter's counter (only upwards, only while the meter is active and
its key unchanged) and stores the raw reading. Only then is the reading put on the readings
queue. A refused transaction reads the request back to name the precise reason.

Every refusal raises ``ReadingRejected`` carrying the precise reason, and is recorded in the
readings table; the HTTP layer answers all of them with the same generic 400.

AWS calls per accepted reading: the meter's GetItem (cached for a minute), one
TransactWriteItems, one SQS SendMessage. The run's `answered` counter is not touched here:
the billing function adds it with its once-per-batch counter update (docs/billing.md), so
the progress bar may lag by one SQS batch; closing a run recounts. The server keys and
each run's period are cached in memory; the transaction's conditions keep a stale cache
from ever accepting a reading from a deactivated meter or with a rotated-out key."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError
from pynamodb.exceptions import TransactWriteError

from functions.core.aws import client
from functions.core.clock import iso, utcnow
from functions.core.crypto import (
    CLOCK_SKEW,
    MAX_ENVELOPE_BYTES,
    METER_MESSAGE_TYPES,
    PROTOCOL_V2,
    CryptoError,
    Envelope,
    OpenedMessage,
    PublicKey,
    ReplayRejected,
    check_reading,
    load_public_key_b64,
    open_envelope,
    parse_envelope,
    parse_timestamp,
)
from functions.core.logs import logger
from functions.core.messages import VerifiedReading
from functions.core.meters.models import (
    METER_ACTIVE,
    READING_PREFIX,
    REJECTED_PREFIX,
    REQUEST_ANSWERED,
    REQUEST_FAILED,
    REQUEST_OUTSTANDING,
    REQUEST_UNDELIVERABLE,
    UNKNOWN_METER,
    MeterRecord,
    RawReadingRecord,
    ReadRequestRecord,
    RejectionRecord,
)
from functions.core.meters.repositories import (
    MeterRepository,
    ReadingRepository,
    ReadRequestRepository,
    _transaction,
)
from functions.core.meters.schemas import RejectionPage, RejectionView
from functions.core.meters.server_key import ServerKeys, server_keys
from functions.core.observability import (
    bind_keys,
    correlation_attributes,
    current_correlation_id,
    emit,
    set_correlation_id,
)
from functions.core.resources import queue
from functions.core.runs.models import BillingRunRecord

# A delivery that timed out may still have reached the meter: its answer is accepted.
ANSWERABLE = (REQUEST_OUTSTANDING, REQUEST_UNDELIVERABLE)
METER_CACHE_SECONDS = 60
RUN_INFO_SECONDS = 60
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


class ReadingRejected(Exception):
    """A refused message: ``reason`` is recorded, never shown to the sender."""

    def __init__(self, reason: str, detail: str = "", *, status: int = 400) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.status = status


class WireEnvelope(BaseModel):
    """The envelope as it arrives (docs/meter-protocol.md section 5). The crypto module
    parses the bytes strictly first; this model documents the shape and re-checks types."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: StrictInt
    type: StrictStr
    sender: StrictStr
    rcpt: StrictStr
    epk: StrictStr
    iv: StrictStr
    ct: StrictStr
    mac: StrictStr
    sig: StrictStr


@dataclass(frozen=True)
class Received:
    """Where the message came from, for the rejection record."""

    body: bytes
    source_ip: str | None
    at: datetime
    content_type: str | None = "application/json"  # the request's Content-Type header


def is_json_content_type(value: str | None) -> bool:
    """application/json, optionally with parameters (charset=utf-8)."""
    return (value or "").split(";", 1)[0].strip().lower() == "application/json"


@dataclass(frozen=True)
class Accepted:
    msg_type: str
    meter_id: str
    reading_key: str | None
    run_id: str | None


# ---------------------------------------------------------------- meter key cache


@dataclass(frozen=True)
class _CachedMeter:
    meter: MeterRecord
    key: PublicKey
    loaded_at: float


class MeterKeyCache:
    """meter_id -> (record, parsed public key), for METER_CACHE_SECONDS."""

    def __init__(self, meters: MeterRepository | None = None) -> None:
        self.meters = meters or MeterRepository()
        self._lock = threading.Lock()
        self._entries: dict[str, _CachedMeter] = {}

    def get(self, meter_id: str, *, fresh: bool = False) -> _CachedMeter | None:
        with self._lock:
            entry = self._entries.get(meter_id)
        if entry and not fresh and time.monotonic() - entry.loaded_at < METER_CACHE_SECONDS:
            return entry
        meter = self.meters.get(meter_id)
        if meter is None:
            self.forget(meter_id)
            return None
        entry = _CachedMeter(meter, load_public_key_b64(meter.public_key), time.monotonic())
        with self._lock:
            self._entries[meter_id] = entry
        return entry

    def remember_counter(self, meter_id: str, counter: int) -> None:
        """Keep the cached record's counter current after an accepted reading."""
        with self._lock:
            entry = self._entries.get(meter_id)
            if entry is not None:
                entry.meter.last_counter = counter

    def forget(self, meter_id: str | None = None) -> None:
        with self._lock:
            if meter_id is None:
                self._entries.clear()
            else:
                self._entries.pop(meter_id, None)


meter_cache = MeterKeyCache()


class RunPeriods:
    """run_id -> period and correlation id, from the billing run records. A run's period
    never changes; its correlation id changes with each start, so it is re-read after
    RUN_INFO_SECONDS (one GetItem per run a minute)."""

    def __init__(self) -> None:
        self._runs: dict[str, tuple[str, str | None, float]] = {}

    def _entry(self, run_id: str) -> tuple[str, str | None, float] | None:
        entry = self._runs.get(run_id)
        if entry is None or time.monotonic() - entry[2] > RUN_INFO_SECONDS:
            try:
                run = BillingRunRecord.get(run_id)
            except BillingRunRecord.DoesNotExist:
                return None
            if len(self._runs) > 1000:
                self._runs.clear()
            entry = self._runs[run_id] = (str(run.period), run.correlation_id,
                                          time.monotonic())
        return entry

    def get(self, run_id: str) -> str | None:
        entry = self._entry(run_id)
        return entry[0] if entry else None

    def correlation_id(self, run_id: str) -> str | None:
        entry = self._entry(run_id)
        return entry[1] if entry else None


run_periods = RunPeriods()
UNKNOWN_PERIOD = "unknown"


# ---------------------------------------------------------------- the service


class ReadingIntake:
    def __init__(self, requests: ReadRequestRepository | None = None,
                 readings: ReadingRepository | None = None,
                 cache: MeterKeyCache | None = None) -> None:
        self.requests = requests or ReadRequestRepository()
        self.readings = readings or ReadingRepository()
        self.cache = cache or meter_cache

    def receive(self, received: Received) -> Accepted:
        """Accept one message or raise ReadingRejected (already recorded)."""
        claimed: dict[str, Any] = {}
        try:
            return self._receive(received, claimed)
        except ReadingRejected as rejection:
            self._record(received, rejection, claimed)
            raise

    def _receive(self, received: Received, claimed: dict[str, Any]) -> Accepted:
        if not is_json_content_type(received.content_type):
            claimed["sender"] = _claimed_sender(received.body[:MAX_ENVELOPE_BYTES])
            raise ReadingRejected("unsupported_media_type",
                                  f"Content-Type {str(received.content_type)[:60]!r}",
                                  status=415)
        if len(received.body) > MAX_ENVELOPE_BYTES:
            raise ReadingRejected("too_large", f"{len(received.body)} bytes", status=413)
        envelope = self._parse(received.body, claimed)
        entry = self.cache.get(envelope.sender)
        if entry is None:
            raise ReadingRejected("unknown_meter", f"no meter {envelope.sender!r}")
        claimed["meter_id"] = entry.meter.meter_id
        if entry.meter.status != METER_ACTIVE:
            entry = self.cache.get(envelope.sender, fresh=True) or entry
            if entry.meter.status != METER_ACTIVE:
                raise ReadingRejected("meter_inactive", f"meter is {entry.meter.status}")
        keys = server_keys()
        if envelope.rcpt not in keys.key_ids():
            keys = server_keys(refresh=True)  # rotated by another function meanwhile?
        opened, entry = self._open(envelope, entry, keys)
        claimed["nonce"] = opened.payload.get("nonce")
        claimed["run_id"] = opened.payload.get("run_id")
        if opened.msg_type == "error":
            return self._meter_error(opened, entry.meter, received)
        return self._reading(opened, entry.meter, received)

    # ---- steps ---------------------------------------------------------------

    def _parse(self, body: bytes, claimed: dict[str, Any]) -> Envelope:
        try:
            envelope = parse_envelope(body)
            WireEnvelope.model_validate(envelope.wire)
        except CryptoError as error:
            claimed["sender"] = _claimed_sender(body)
            raise ReadingRejected(error.reason, error.detail) from error
        except ValidationError as error:
            raise ReadingRejected("bad_field", str(error.errors()[0]["loc"])) from error
        claimed["sender"] = envelope.sender
        return envelope

    def _open(self, envelope: Envelope, entry: _CachedMeter, keys: ServerKeys
              ) -> tuple[OpenedMessage, _CachedMeter]:
        try:
            return self._open_with(envelope, entry, keys), entry
        except CryptoError as error:
            # The cached key may be stale (rotated by an admin in another function):
            # re-read the meter once and retry if its key changed.
            fresh = self.cache.get(entry.meter.meter_id, fresh=True)
            if fresh is None or fresh.meter.public_key_id == entry.meter.public_key_id:
                raise ReadingRejected(error.reason, error.detail) from error
            try:
                return self._open_with(envelope, fresh, keys), fresh
            except CryptoError as second:
                raise ReadingRejected(second.reason, second.detail) from second

    @staticmethod
    def _open_with(envelope: Envelope, entry: _CachedMeter, keys: ServerKeys
                   ) -> OpenedMessage:
        return open_envelope(envelope, recipient_priv=keys.private_keys(),
                             sender_pub=entry.key, expect_type=METER_MESSAGE_TYPES)

    def _reading(self, opened: OpenedMessage, meter: MeterRecord, received: Received
                 ) -> Accepted:
        """Consume the request and store the reading in ONE transaction whose conditions
        are the replay rules (docs/meter-protocol.md section 9): the request exists for
        this meter and run, is still answerable, has not expired and was issued before the
        reading was taken; the counter is above the last accepted one; the meter is still
        active with the key that verified the signature. Only a refused transaction reads
        the request back, to record the precise reason."""
        payload = opened.payload
        read_at = parse_timestamp(payload["read_at"])
        counter = int(payload["counter"])
        if read_at > received.at + CLOCK_SKEW:
            raise ReadingRejected("read_in_future", "read_at is in the future")
        run_id = str(payload["run_id"])
        period = self._period_of(run_id, payload["nonce"])
        # From here on this request's lines carry the run's correlation id (the request
        # that started the run), as do the reading's message and billing's lines.
        set_correlation_id(run_periods.correlation_id(run_id) or current_correlation_id())
        bind_keys(run_id=run_id, meter_id=meter.meter_id, property_id=meter.property_id)
        reading_key = f"{READING_PREFIX}{iso(read_at)}#{counter:012d}"
        v2 = payload["v"] == PROTOCOL_V2
        reading = RawReadingRecord(
            meter.meter_id, reading_key, run_id=run_id, period=period, nonce=payload["nonce"],
            counter=counter, register_wh=int(payload["import_wh" if v2 else "register_wh"]),
            read_at=read_at, received_at=received.at, property_id=meter.property_id,
            envelope=received.body.decode("utf-8"),
            payload=json.dumps(payload, sort_keys=True, separators=(",", ":")),
            server_key_id=opened.recipient_key_id)
        if v2:  # the billing snapshot (or live registers), validated by billing
            reading.protocol_version = PROTOCOL_V2
            reading.source = payload["source"]
            reading.snapshot_at = parse_timestamp(payload["snapshot_at"])
            reading.export_wh = int(payload["export_wh"])
            reading.tod_wh = [int(zone) for zone in payload["tod_wh"]]
            reading.md_w = int(payload["md_w"])
            reading.md_at = parse_timestamp(payload["md_at"])
        request = ReadRequestRecord(payload["nonce"])
        try:
            with _transaction() as transaction:
                transaction.update(
                    request,
                    actions=[ReadRequestRecord.status.set(REQUEST_ANSWERED),
                             ReadRequestRecord.answered_at.set(received.at),
                             ReadRequestRecord.reading_key.set(reading_key)],
                    condition=ReadRequestRecord.status.is_in(*ANSWERABLE)
                    & (ReadRequestRecord.meter_id == meter.meter_id)
                    & (ReadRequestRecord.run_id == run_id)
                    & (ReadRequestRecord.expires_at >= received.at)
                    & (ReadRequestRecord.issued_at <= read_at + CLOCK_SKEW))
                transaction.update(
                    meter,
                    # The register is not recorded on the meter here: only billing's
                    # validation moves last_register_wh / last_read_at (issue 18).
                    actions=[MeterRecord.last_counter.set(counter)],
                    condition=(MeterRecord.status == METER_ACTIVE)
                    & (MeterRecord.public_key_id == meter.public_key_id)
                    & (MeterRecord.last_counter.does_not_exist()
                       | (MeterRecord.last_counter < counter)))
                transaction.save(reading, condition=RawReadingRecord.reading_key.does_not_exist())
        except TransactWriteError as error:
            raise self._why_not_consumed(error, payload, meter, received) from error
        self.cache.remember_counter(meter.meter_id, counter)
        send_verified_reading(reading)  # billing counts it as answered (once per batch)
        logger.info("reading accepted", extra={"reading_key": reading_key})
        return Accepted("reading", meter.meter_id, reading_key, run_id)

    def _period_of(self, run_id: str, nonce: str) -> str:
        """The billing period of the run (cached: one run serves thousands of readings);
        for a run without a record, the period stored on the request."""
        period = run_periods.get(run_id)
        if period is None:
            request = self.requests.get(nonce)
            period = request.period if request is not None else UNKNOWN_PERIOD
        return period

    def _meter_error(self, opened: OpenedMessage, meter: MeterRecord, received: Received
                     ) -> Accepted:
        """An authentic "cannot read" answer: it consumes the request (status failed)."""
        nonce = opened.payload["nonce"]
        try:
            ReadRequestRecord(nonce).update(
                actions=[ReadRequestRecord.status.set(REQUEST_FAILED),
                         ReadRequestRecord.answered_at.set(received.at),
                         ReadRequestRecord.error_code.set(opened.payload["code"])],
                condition=ReadRequestRecord.status.is_in(*ANSWERABLE)
                & (ReadRequestRecord.meter_id == meter.meter_id)
                & (ReadRequestRecord.expires_at >= received.at))
        except Exception as error:
            if getattr(error, "cause_response_code", "") == "ConditionalCheckFailedException":
                raise self._request_refusal(opened.payload, meter, received) from error
            raise
        logger.warning("meter reported an error", extra={
            "meter_id": meter.meter_id, "code": opened.payload["code"],
            "detail": opened.payload["message"][:256]})
        return Accepted("error", meter.meter_id, None, None)

    def _request_refusal(self, payload: dict[str, Any], meter: MeterRecord,
                         received: Received) -> ReadingRejected:
        """Why the request could not be consumed: read it back and apply the rules."""
        request = self.requests.get(payload["nonce"])
        if request is None or request.meter_id != meter.meter_id:
            return ReadingRejected("unknown_request", "no request with this nonce for the meter")
        if request.status not in ANSWERABLE:
            return ReadingRejected("duplicate_reading", f"request is already {request.status}")
        if "run_id" not in payload:  # an error answer: only expiry is left
            return ReadingRejected("request_expired", "answer after the request expired")
        try:
            check_reading(payload, request=_request_mapping(request), now=received.at,
                          last_counter=None)
        except ReplayRejected as error:
            return ReadingRejected(error.reason, error.detail)
        return ReadingRejected("request_changed", "request changed while being answered")

    def _why_not_consumed(self, error: TransactWriteError, payload: dict[str, Any],
                          meter: MeterRecord, received: Received) -> Exception:
        """The precise reason a refused transaction was refused, found by reading the items
        back (emulators do not all report per-item cancellation reasons)."""
        if getattr(error, "cause_response_code", "") != "TransactionCanceledException":
            return error  # infrastructure trouble: a 500, the meter retries
        refusal = self._request_refusal(payload, meter, received)
        if refusal.reason != "request_changed":
            return refusal
        fresh = self.cache.get(meter.meter_id, fresh=True)
        if fresh is None or fresh.meter.status != METER_ACTIVE:
            return ReadingRejected("meter_inactive", "meter deactivated meanwhile")
        if fresh.meter.public_key_id != meter.public_key_id:
            return ReadingRejected("bad_signature", "meter key rotated meanwhile")
        last = fresh.meter.last_counter
        if last is not None and int(payload["counter"]) <= int(last):
            return ReadingRejected("counter_replay", f"counter {payload['counter']} is not "
                                   f"above {int(last)}")
        return ReadingRejected("duplicate_reading", "the same reading is stored already")

    def _record(self, received: Received, rejection: ReadingRejected,
                claimed: dict[str, Any]) -> None:
        sender = claimed.get("sender")
        meter_id = claimed.get("meter_id") or self._known_sender(sender) or UNKNOWN_METER
        try:
            self.readings.add_rejection(RejectionRecord(
                meter_id, f"{REJECTED_PREFIX}{iso(received.at)}#{uuid.uuid4().hex[:12]}",
                reason=rejection.reason, detail=rejection.detail[:300] or None,
                claimed_sender=sender[:64] if isinstance(sender, str) else None,
                claimed_run_id=_id_or_none(claimed.get("run_id")),
                nonce=claimed.get("nonce") if isinstance(claimed.get("nonce"), str) else None,
                source_ip=received.source_ip, body_bytes=len(received.body),
                body_sha256=hashlib.sha256(received.body).hexdigest(),
                received_at=received.at))
        except Exception:
            # Recording must not turn a 400 into a 500; the log line keeps the reason.
            logger.exception("could not record a rejected reading")
        logger.info("reading rejected", extra={
            "reason": rejection.reason, "meter_id": meter_id, "source_ip": received.source_ip})
        emit({"ReadingsRejected": 1}, dimensions={"stage": "endpoint",
                                                  "reason": rejection.reason}, total=True)


    def _known_sender(self, sender: Any) -> str | None:
        """The claimed sender of a message refused before its meter was looked up, if it
        names a registered meter: the rejection is then listed with that meter."""
        if not isinstance(sender, str) or not _ID.fullmatch(sender):
            return None
        try:
            entry = self.cache.get(sender)
        except Exception:
            return None
        return entry.meter.meter_id if entry else None


# ---------------------------------------------------------------- helpers


def _request_mapping(request: ReadRequestRecord) -> dict[str, Any]:
    return {"nonce": request.nonce, "run_id": request.run_id, "meter_id": request.meter_id,
            "period": request.period, "issued_at": iso(request.issued_at),
            "expires_at": iso(request.expires_at), "reply_to": request.reply_to}


def _claimed_sender(body: bytes) -> str | None:
    """The sender named by a message that failed to parse, if any (for the record only)."""
    try:
        value = json.loads(body).get("sender")
    except Exception:
        return None
    return value[:64] if isinstance(value, str) else None


def _id_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and _ID.fullmatch(value) else None


def verified_reading(reading: RawReadingRecord) -> VerifiedReading:
    """The readings-queue message of a stored reading (v2 registers when it has them)."""
    v2: dict[str, Any] = {}
    if reading.protocol_version == PROTOCOL_V2:
        v2 = dict(protocol_version=PROTOCOL_V2, source=reading.source,
                  snapshot_at=reading.snapshot_at, export_wh=int(reading.export_wh or 0),
                  tod_wh=[int(zone) for zone in reading.tod_wh or []],
                  md_w=int(reading.md_w or 0), md_at=reading.md_at)
    return VerifiedReading(
        reading_key=reading.reading_key, meter_id=reading.meter_id, run_id=reading.run_id,
        period=reading.period, nonce=reading.nonce, counter=int(reading.counter),
        register_wh=int(reading.register_wh), read_at=reading.read_at,
        received_at=reading.received_at, **v2)


def send_verified_reading(reading: RawReadingRecord) -> None:
    message = verified_reading(reading)
    sqs = client("sqs")
    sqs.send_message(QueueUrl=_queue_url("readings"), MessageBody=message.model_dump_json(),
                     MessageAttributes=correlation_attributes())


_queue_urls: dict[str, str] = {}


def _queue_url(logical: str) -> str:
    name = queue(logical).physical()
    if name not in _queue_urls:
        _queue_urls[name] = client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
    return _queue_urls[name]


def requeue_received_readings(run_id: str) -> int:
    """Put every stored reading of the run that billing has not judged yet (status
    "received") on the readings queue again; billing is idempotent. For the rare case the
    queue was unreachable right after a reading was stored."""
    sent = 0
    for reading in ReadingRepository().readings_for_run(run_id):
        if reading.status == "received":
            send_verified_reading(reading)
            sent += 1
    return sent


def list_rejections(*, meter_id: str | None = None, run_id: str | None = None,
                    reason: str | None = None, cursor: str | None = None,
                    limit: int = 50) -> RejectionPage:
    page = ReadingRepository().rejection_page(meter_id=meter_id, run_id=run_id,
                                              reason=reason, cursor=cursor, limit=limit)
    return RejectionPage(cursor=page.cursor, rejections=[RejectionView(
        meter_id=r.meter_id, reading_key=r.reading_key, reason=r.reason, detail=r.detail,
        claimed_sender=r.claimed_sender, claimed_run_id=r.claimed_run_id, nonce=r.nonce,
        source_ip=r.source_ip, body_bytes=int(r.body_bytes), body_sha256=r.body_sha256,
        received_at=r.received_at)
        for r in page.items])


def receive_reading(body: bytes, source_ip: str | None, now: datetime | None = None,
                    content_type: str | None = "application/json") -> Accepted:
    """Entry point of the reading endpoint. Raises ReadingRejected (recorded)."""
    return ReadingIntake().receive(Received(body, source_ip, now or utcnow(), content_type))
