"""Read requests for a batch of meters: build, store, seal, deliver (iot_fanout's rules).

For each meter of a ``FanoutBatch``: a read request with a fresh 256-bit nonce, the run id,
the meter id, the period, issued_at (the server's clock: the meter's time reference) and
expires_at (the run's window) and reply_to (the reading endpoint); a meter that speaks
protocol v2 gets a v2 request naming the billing date (``billing_at``, 00:00 IST after the
period) whose snapshot it answers with, a v1 meter a v1 request: a mixed fleet bills in one
run. Stored as *outstanding* BEFORE it is sent (docs/meter-protocol.md section 9),
encrypted to the meter's key on record and signed with the server key, then POSTed to the
meter's endpoint. Deliveries run on a bounded thread pool with connect/read timeouts and
retries with exponential backoff on connection errors, 429 and 5xx.

A meter that cannot be reached is not an error of the batch: its request is marked
undeliverable and counted (``delivery_failures``). Infrastructure errors (DynamoDB, Secrets
Manager) propagate, so SQS delivers the batch again.

AWS calls per batch of up to 100 meters: one BatchGetItem (meters), one GetItem (the run's
window), one BatchWriteItem per 25 requests, plus one UpdateItem per undeliverable meter;
iot_fanout adds one GetItem and one TransactWriteItems (its marker and the run counters).
The server key comes from the in-memory cache.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import urllib3

from functions.core.billing_rules.periods import parse_period
from functions.core.clock import epoch, utcnow
from functions.core.crypto import (
    MAX_REQUEST_TTL,
    PROTOCOL_V2,
    SERVER_SENDER_ID,
    STATEMENTS_HEADER,
    InvalidKey,
    PublicKey,
    envelope_to_bytes,
    load_public_key_b64,
    new_read_request,
    parse_timestamp,
    seal,
)
from functions.core.daily.cycle import is_daily, latch_of
from functions.core.logs import logger
from functions.core.messages import FanoutBatch
from functions.core.meters.models import METER_ACTIVE, MeterRecord, ReadRequestRecord
from functions.core.meters.repositories import MeterRepository, ReadRequestRepository
from functions.core.meters.server_key import ServerKeys, server_keys
from functions.core.meters.service import protocol_version_of, reading_url
from functions.core.observability import subsegment
from functions.core.runs.models import BillingRunRecord

ENDORSEMENT_HEADER = STATEMENTS_HEADER  # root-signed endorsements and revocations
REQUEST_RETENTION = timedelta(days=400)  # TTL of request records: past any dispute window
MIN_TTL = timedelta(minutes=1)


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class DeliveryPolicy:
    """How requests are delivered. Environment variables override the defaults."""

    request_ttl: timedelta = field(default_factory=lambda: timedelta(
        seconds=_env_float("FANOUT_REQUEST_TTL_SECONDS", 900)))
    concurrency: int = field(default_factory=lambda: int(_env_float("FANOUT_CONCURRENCY", 16)))
    connect_timeout: float = field(default_factory=lambda: _env_float(
        "FANOUT_CONNECT_TIMEOUT", 2.0))
    read_timeout: float = field(default_factory=lambda: _env_float("FANOUT_READ_TIMEOUT", 5.0))
    attempts: int = field(default_factory=lambda: int(_env_float("FANOUT_ATTEMPTS", 3)))
    backoff_base: float = field(default_factory=lambda: _env_float("FANOUT_BACKOFF", 0.5))


@dataclass(frozen=True)
class Delivery:
    request: ReadRequestRecord
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class DeliveryOutcome:
    delivered: bool
    attempts: int
    error: str | None = None


@dataclass
class FanoutResult:
    run_id: str
    sent: int = 0
    failed: int = 0
    skipped: list[str] = field(default_factory=list)  # unknown or not active meters
    unusable: list[str] = field(default_factory=list)  # active, but the stored key is invalid

    def counts(self) -> dict[str, int]:
        """The run counters this batch adds (iot_fanout writes them with its marker). A
        skipped meter counts as a delivery failure: sent + failures = meters asked, so the
        run's progress completes even if a meter was deactivated after the run began."""
        return {"requests_sent": self.sent,
                "delivery_failures": self.failed + len(self.skipped) + len(self.unusable)}


# ---------------------------------------------------------------- HTTP delivery

_pool_lock = threading.Lock()
_http: urllib3.PoolManager | None = None
_executor: ThreadPoolExecutor | None = None


def _http_pool(policy: DeliveryPolicy) -> urllib3.PoolManager:
    global _http
    with _pool_lock:
        if _http is None:
            # Reused across invocations of a warm Lambda: keep-alive to meters' gateways.
            _http = urllib3.PoolManager(num_pools=64, maxsize=policy.concurrency,
                                        retries=False)
        return _http


def _thread_pool(policy: DeliveryPolicy) -> ThreadPoolExecutor:
    global _executor
    with _pool_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=policy.concurrency,
                                           thread_name_prefix="fanout-delivery")
        return _executor


def deliver(delivery: Delivery, policy: DeliveryPolicy,
            sleep: Callable[[float], None] = time.sleep) -> DeliveryOutcome:
    """POST one sealed request; retry connection errors, timeouts, 429 and 5xx with
    exponential backoff and jitter. Any other answer than 2xx is final."""
    http = _http_pool(policy)
    timeout = urllib3.Timeout(connect=policy.connect_timeout, read=policy.read_timeout)
    error = "not attempted"
    for attempt in range(1, policy.attempts + 1):
        try:
            response = http.request("POST", delivery.url, body=delivery.body,
                                    headers=delivery.headers, timeout=timeout,
                                    redirect=False, preload_content=True)
        except urllib3.exceptions.HTTPError as exc:
            error = f"{type(exc).__name__}"
        else:
            if 200 <= response.status < 300:
                return DeliveryOutcome(True, attempt)
            error = f"http_{response.status}"
            if response.status != 429 and response.status < 500:
                return DeliveryOutcome(False, attempt, error)
        if attempt < policy.attempts:
            sleep(policy.backoff_base * 2 ** (attempt - 1) * (0.5 + random.random()))
    return DeliveryOutcome(False, policy.attempts, error)


# ---------------------------------------------------------------- the service


class Fanout:
    def __init__(self, meters: MeterRepository | None = None,
                 requests: ReadRequestRepository | None = None,
                 policy: DeliveryPolicy | None = None,
                 keys: Callable[[], ServerKeys] = server_keys) -> None:
        self.meters = meters or MeterRepository()
        self.requests = requests or ReadRequestRepository()
        self.policy = policy or DeliveryPolicy()
        self.keys = keys

    def run(self, batch: FanoutBatch, now: datetime | None = None) -> FanoutResult:
        now = now or utcnow()
        result = FanoutResult(batch.run_id)
        found = self.meters.get_many(batch.meter_ids)
        meters = [found[m] for m in dict.fromkeys(batch.meter_ids)
                  if m in found and found[m].status == METER_ACTIVE]
        result.skipped = [m for m in batch.meter_ids if m not in {x.meter_id for x in meters}]
        if result.skipped:
            logger.warning("meters skipped: unknown or not active",
                           extra={"run_id": batch.run_id, "meter_ids": result.skipped[:20]})
        keys = self.keys()
        expires_at = self._expiry(batch.run_id, now)
        deliveries = []
        for meter in meters:
            try:
                deliveries.append(self._build(batch, meter, keys, now, expires_at))
            except InvalidKey as exc:
                # One corrupt record must not hold up the batch (and the run) for everyone.
                result.unusable.append(meter.meter_id)
                logger.error("meter key on record is unusable; meter not asked", extra={
                    "run_id": batch.run_id, "meter_id": meter.meter_id, "reason": exc.reason})
        if not deliveries:
            return result
        # Stored as outstanding before anything is sent: an answer can never beat its record.
        with subsegment("fanout.put_requests", requests=len(deliveries)):  # BatchWriteItem
            self.requests.put_new([d.request for d in deliveries])
        # One subsegment for the batch's deliveries: they run on pool threads, which have
        # no X-Ray segment of their own.
        with subsegment("fanout.deliver", meters=len(deliveries)):
            outcomes = list(_thread_pool(self.policy).map(
                lambda d: deliver(d, self.policy), deliveries))
        for delivery, outcome in zip(deliveries, outcomes, strict=True):
            if outcome.delivered:
                result.sent += 1
            else:
                result.failed += 1
                self.requests.mark_undeliverable(delivery.request, outcome.error or "failed",
                                                 outcome.attempts)
                logger.info("read request undeliverable", extra={
                    "run_id": batch.run_id, "meter_id": delivery.request.meter_id,
                    "error": outcome.error, "attempts": outcome.attempts})
        return result

    def _expiry(self, run_id: str, now: datetime) -> datetime:
        """The run's window end if it has one ahead, else now + the default TTL; never
        beyond the protocol's 7-day limit."""
        window_end: datetime | None = None
        with contextlib.suppress(BillingRunRecord.DoesNotExist):
            window_end = BillingRunRecord.get(run_id).window_ends_at
        expires = window_end if window_end and window_end > now + MIN_TTL else (
            now + self.policy.request_ttl)
        return min(expires, now + MAX_REQUEST_TTL)

    def _build(self, batch: FanoutBatch, meter: MeterRecord, keys: ServerKeys,
               now: datetime, expires_at: datetime) -> Delivery:
        version = protocol_version_of(meter)
        billing_at = None
        if version == PROTOCOL_V2:  # a daily run asks for its day's latch (core/daily)
            billing_at = (latch_of(batch.run_id) if is_daily(batch.run_id)
                          else parse_period(batch.period).end_utc)
        payload = new_read_request(run_id=batch.run_id, meter_id=meter.meter_id,
                                   period=batch.period, reply_to=reading_url(), now=now,
                                   ttl=expires_at - now, billing_at=billing_at)
        meter_key = _meter_key(meter)
        envelope = seal(payload, msg_type="read_request", recipient_pub=meter_key,
                        sender_priv=keys.current.private, sender_id=SERVER_SENDER_ID)
        record = ReadRequestRecord(
            payload["nonce"], run_id=batch.run_id, meter_id=meter.meter_id,
            period=batch.period, issued_at=parse_timestamp(payload["issued_at"]),
            expires_at=parse_timestamp(payload["expires_at"]), reply_to=payload["reply_to"],
            meter_key_id=meter.public_key_id, server_key_id=keys.current.key_id,
            delivery_attempts=0, purge_at_epoch=epoch(now + REQUEST_RETENTION),
            protocol_version=version if version != 1 else None, billing_at=billing_at)
        headers = {"Content-Type": "application/json"}
        statements = keys.statements_header(now)
        if statements:
            headers[ENDORSEMENT_HEADER] = statements
        return Delivery(record, meter.endpoint_url, envelope_to_bytes(envelope), headers)


_meter_keys: dict[str, PublicKey] = {}


def _meter_key(meter: MeterRecord) -> PublicKey:
    """Parsed meter public keys, cached by their text (a rotated key is a new entry)."""
    key = _meter_keys.get(meter.public_key)
    if key is None:
        if len(_meter_keys) > 100_000:
            _meter_keys.clear()
        key = _meter_keys[meter.public_key] = load_public_key_b64(meter.public_key)
    return key


def fan_out(batch: FanoutBatch, policy: DeliveryPolicy | None = None) -> FanoutResult:
    return Fanout(policy=policy).run(batch)


def describe(result: FanoutResult) -> dict[str, Any]:
    return {"run_id": result.run_id, "sent": result.sent, "failed": result.failed,
            "skipped": len(result.skipped)}
