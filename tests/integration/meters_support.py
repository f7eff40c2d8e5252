"""Helpers for the meter, reading endpoint and fan-out tests.

The meter side of every message is built with device_client.crypto (the independent,
pure-Python implementation), so these tests also check that the two sides interoperate.
Server-side state a test needs before a reading can arrive (a billing run, an outstanding
read request, as iot_fanout would have stored it) is written through the models.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from device_client import crypto as meter_crypto
from functions.core.clock import epoch, utcnow
from functions.core.crypto import new_read_request, parse_timestamp
from functions.core.meters.models import (
    METER_ACTIVE,
    METER_INACTIVE,
    ReadRequestRecord,
)
from functions.core.meters.repositories import MeterRepository, ReadRequestRepository
from functions.core.runs.models import BillingRunRecord
from functions.core.runs.progress import totals

HOME = {"line1": "7 Residency Road", "city": "Bengaluru", "state": "Karnataka",
        "pincode": "560025", "category": "residential", "sanctioned_load_kw": "5"}


def new_property(customer_client: Any, **changes: Any) -> str:
    response = customer_client.post("/properties", json={**HOME, **changes})
    assert response.status_code == 201, response.text
    return str(response.json()["property_id"])


def new_serial() -> str:
    return f"T-{uuid.uuid4().hex[:12].upper()}"


def register_meter(admin_client: Any, *, key: Any = None, serial: str | None = None,
                   endpoint_url: str = "http://127.0.0.1:9/meters/x/read-requests",
                   initial_register_wh: int = 0) -> tuple[dict[str, Any], Any]:
    """Register a meter with a fresh meter-side key; returns (meter view, private key)."""
    key = key or meter_crypto.generate_private_key()
    response = admin_client.post("/admin/meters", json={
        "serial": serial or new_serial(), "public_key": meter_crypto.public_key_b64(key),
        "model": "EM-3000", "firmware": "1.4.2", "endpoint_url": endpoint_url,
        "initial_register_wh": initial_register_wh})
    assert response.status_code == 201, response.text
    return response.json(), key


FITTED: list[str] = []  # meter ids activated by a test, retired after it


def retire_fitted() -> None:
    """Deactivate the meters the test activated, so later billing runs in the session do
    not try to reach them (their endpoints are gone)."""
    repository = MeterRepository()
    while FITTED:
        meter = repository.get(FITTED.pop())
        if meter is not None and meter.status == METER_ACTIVE:
            repository.update(meter, actions=meter.status_actions(METER_INACTIVE))


def fitted_meter(admin_client: Any, customer_client: Any, **options: Any
                 ) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    """A meter registered, assigned to a new property of the customer and activated.
    Returns (meter view, private key, provisioning config)."""
    meter, key = register_meter(admin_client, **options)
    FITTED.append(meter["meter_id"])
    property_id = new_property(customer_client)
    assigned = admin_client.post(f"/admin/meters/{meter['meter_id']}/assign",
                                 json={"property_id": property_id})
    assert assigned.status_code == 200, assigned.text
    activated = admin_client.post(f"/admin/meters/{meter['meter_id']}/activate")
    assert activated.status_code == 200, activated.text
    return activated.json(), key, assigned.json()["provisioning"]


def new_run(period: str = "2001-01", window: timedelta = timedelta(hours=1)) -> str:
    """A billing run record of its own (tests never share counters)."""
    run_id = f"test-run-{secrets.token_hex(6)}"
    BillingRunRecord(run_id=run_id, period=period, status="running", started_at=utcnow(),
                     window_ends_at=utcnow() + window).save()
    return run_id


def issue_request(meter_id: str, run_id: str, *, period: str = "2001-01",
                  reply_to: str = "http://127.0.0.1:9/device/readings",
                  issued_at: datetime | None = None,
                  ttl: timedelta = timedelta(minutes=15)) -> dict[str, Any]:
    """An outstanding read request stored as iot_fanout stores it; returns its payload."""
    now = issued_at or utcnow()
    payload: dict[str, Any] = dict(new_read_request(
        run_id=run_id, meter_id=meter_id, period=period, reply_to=reply_to, now=now, ttl=ttl))
    ReadRequestRepository().put_one(ReadRequestRecord(
        payload["nonce"], run_id=run_id, meter_id=meter_id, period=period,
        issued_at=parse_timestamp(payload["issued_at"]),
        expires_at=parse_timestamp(payload["expires_at"]), reply_to=reply_to,
        meter_key_id="test", server_key_id="test", purge_at_epoch=epoch(now + timedelta(days=1))))
    return payload


def seal_reading(key: Any, meter_id: str, request: dict[str, Any], server_public_key: str, *,
                 counter: int, register_wh: int, read_at: datetime | None = None,
                 signer: Any = None) -> dict[str, Any]:
    """A reading envelope built on the meter side (device_client.crypto)."""
    payload = meter_crypto.make_reading(request, counter=counter, register_wh=register_wh,
                                        read_at=read_at or utcnow())
    return dict(meter_crypto.seal(payload, msg_type="reading",
                                  recipient_pub=meter_crypto.load_public_key_b64(
                                      server_public_key),
                                  sender_priv=signer or key, sender_id=meter_id))


def wire(envelope: dict[str, Any]) -> bytes:
    return bytes(meter_crypto.envelope_to_bytes(envelope))


def resign(envelope: dict[str, Any], key: Any) -> dict[str, Any]:
    unsigned = {k: v for k, v in envelope.items() if k != "sig"}
    signature = meter_crypto.sign_compact(key, meter_crypto.canonical_json(unsigned))
    return {**unsigned, "sig": meter_crypto.b64u_encode(signature)}


def flip(field_b64: str, index: int | None = None) -> str:
    raw = bytearray(meter_crypto.b64u_decode(field_b64, field="x"))
    raw[len(raw) // 2 if index is None else index] ^= 0x01
    return str(meter_crypto.b64u_encode(bytes(raw)))


def current_server_key(admin_client: Any) -> str:
    keys = admin_client.get("/admin/server-keys").json()["keys"]
    return str(next(k["public_key"] for k in keys if k["status"] == "current"))


def run_counters(run_id: str) -> dict[str, int]:
    counts = totals(run_id)  # summed over the run's counter shards
    return {name: counts[name] for name in ("requests_sent", "delivery_failures", "answered")}


def wait_for(check: Callable[[], Any], timeout: float = 30, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {check}")
        time.sleep(interval)
