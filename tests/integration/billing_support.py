"""Helpers shared by the tariff, billing, run and end-to-end tests.

Records that are not about billing (users, properties, tenancies, meters,
stored readings) are written through their own models and repositories;
everything billing does is observed through the HTTP API and the emulator.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from functions.core.accounts.models import UserRecord
from functions.core.aws import client
from functions.core.billing_rules.fixtures import (
    DERC_DOMESTIC_2019_20_JSON,
    EXAMPLE_COMMERCIAL_JSON,
)
from functions.core.clock import iso, utcnow
from functions.core.crypto import generate_private_key, key_id, public_key_b64
from functions.core.messages import VerifiedReading
from functions.core.meters.models import METER_ACTIVE, MeterRecord, RawReadingRecord
from functions.core.meters.repositories import MeterRepository
from functions.core.properties.models import PropertyRecord, TenancyRecord
from functions.core.properties.repositories import PropertyRepository, TenancyRepository
from functions.core.resources import queue
from tests.fixtures.stack import create_user

PAISA = Decimal("0.01")


def ensure_reference_tariffs(as_admin: Any) -> None:
    """The DERC domestic tariff and the example commercial one, through the API
    (created once per test session; 409 means an earlier test created it)."""
    for body in (DERC_DOMESTIC_2019_20_JSON, EXAMPLE_COMMERCIAL_JSON):
        response = as_admin.post("/admin/tariffs", json=body)
        assert response.status_code in (201, 409), response.text


# ---- independent pricing (NOT billing_rules.price): the tests' own arithmetic ----

def r2(value: Decimal) -> Decimal:
    return value.quantize(PAISA, rounding=ROUND_HALF_UP)


def derc_total(units: int, load_kw: Decimal) -> Decimal:
    """DERC domestic FY2019-20 as the issue states it, computed by hand."""
    slabs = [(200, Decimal("3.00")), (200, Decimal("4.50")), (400, Decimal("6.50")),
             (400, Decimal("7.00")), (None, Decimal("8.00"))]
    energy, left = Decimal(0), units
    for width, rate in slabs:
        take = left if width is None else min(left, width)
        energy += r2(take * rate)
        left -= take
        if left <= 0:
            break
    rate_per_kw = next(rate for upto, rate in [(2, 20), (5, 50), (15, 100), (25, 200),
                                               (None, 250)] if upto is None or load_kw <= upto)
    fixed = r2(load_kw * rate_per_kw)
    base = energy + fixed
    return base + r2(base * 7 / 100) + r2(base * 8 / 100)


def commercial_total(units: int, load_kw: Decimal) -> Decimal:
    """The example commercial tariff: 8.50/kWh, 250/kW, 8% RAS, 5% tax on the
    subtotal, meter rent 25."""
    energy = r2(units * Decimal("8.50"))
    fixed = r2(load_kw * 250)
    ras = r2((energy + fixed) * 8 / 100)
    tax = r2((energy + fixed + ras) * 5 / 100)
    return energy + fixed + ras + tax + 25


# ---- records of other parts, written through their repositories ----

def a_customer(**fields: Any) -> UserRecord:
    return create_user("customer", **fields)


def a_property(owner: UserRecord, category: str = "residential",
               load_kw: str = "3", created_at: datetime | None = None) -> PropertyRecord:
    record = PropertyRecord(
        property_id=f"prp_{secrets.token_hex(8)}", owner_id=owner.user_id,
        line1="12 Test Lane", city="New Delhi", state="Delhi", pincode="110001",
        category=category, sanctioned_load_kw=load_kw, created_at=created_at or utcnow())
    PropertyRepository().create(record)
    return record


def a_meter(prop: PropertyRecord | None, initial_register_wh: int = 0,
            meter_id: str | None = None, **fields: Any) -> MeterRecord:
    """An active meter fitted at `prop`; with prop=None a registered spare
    (for a replacement)."""
    meter_id = meter_id or f"mtr-{secrets.token_hex(6)}"
    fitted: dict[str, Any] = dict(
        status=METER_ACTIVE, property_id=prop.property_id, owner_id=prop.owner_id,
        assigned_at=utcnow(), activated_at=utcnow()) if prop else dict(status="registered")
    public_key = generate_private_key().public_key  # a real key nobody holds
    meter = MeterRecord(
        meter_id=meter_id, serial=f"SN-{meter_id}", public_key=public_key_b64(public_key),
        public_key_id=key_id(public_key), model="TestMeter", firmware="1.0",
        endpoint_url="http://127.0.0.1:9/none", initial_register_wh=initial_register_wh,
        registered_at=utcnow(), **fitted, **fields)
    MeterRepository().create(meter)
    if prop is not None:
        PropertyRepository().set_meter(prop.property_id, meter_id, utcnow())
    return meter


def a_tenancy(prop: PropertyRecord, tenant: UserRecord, start: datetime,
              end: datetime | None = None) -> TenancyRecord:
    tenancy = TenancyRecord(
        property_id=prop.property_id, tenancy_id=f"tny_{secrets.token_hex(6)}",
        owner_id=prop.owner_id, invite_email=tenant.email,
        status="ended" if end else "active", invited_at=start, tenant_id=tenant.user_id,
        tenant_name=tenant.name, start_date=start, end_date=end)
    TenancyRepository().create(tenancy)
    return tenancy


def stored_reading(meter: MeterRecord, run_id: str, register_wh: int,
                   read_at: datetime, period: str | None = None) -> VerifiedReading:
    """A reading as the reading endpoint stores it, and the message it enqueues."""
    nonce = secrets.token_urlsafe(32)
    counter = int(time.time() * 1000) % 10**9
    key = f"reading#{iso(read_at)}#{counter:012d}"
    RawReadingRecord(
        meter.meter_id, key, run_id=run_id, period=period or run_id, nonce=nonce,
        counter=counter, register_wh=register_wh, read_at=read_at, received_at=utcnow(),
        property_id=meter.property_id, envelope="{}", payload="{}",
        server_key_id="test").save()
    return VerifiedReading(reading_key=key, meter_id=meter.meter_id, run_id=run_id,
                           period=period or run_id, nonce=nonce, counter=counter,
                           register_wh=register_wh, read_at=read_at, received_at=utcnow())


def send_readings(readings: Iterable[VerifiedReading]) -> None:
    """Put messages on the readings queue, as the reading endpoint does."""
    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=queue("readings").physical())["QueueUrl"]
    items = list(readings)
    for start in range(0, len(items), 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": r.model_dump_json()}
            for i, r in enumerate(items[start:start + 10])])


def verdict_of(reading: VerifiedReading) -> RawReadingRecord:
    return RawReadingRecord.get(reading.meter_id, reading.reading_key, consistent_read=True)


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, step: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(step)


def decided(reading: VerifiedReading, timeout: float = 90.0) -> RawReadingRecord:
    """Wait until billing recorded its verdict on the reading."""
    record = wait_for(lambda: (r := verdict_of(reading)).status != "received" and r,
                      timeout=timeout)
    assert record, f"billing did not decide on {reading.reading_key} in {timeout}s"
    return record


def retire(meters: Iterable[MeterRecord]) -> None:
    """Deactivate test meters, so later runs in the session do not ask them."""
    for meter in meters:
        MeterRepository().update(meter, actions=meter.status_actions("inactive"))


def wait_run(as_admin: Any, run_id: str, condition: Callable[[dict[str, Any]], bool],
             timeout: float = 120.0) -> dict[str, Any]:
    """Poll the run's progress until `condition(view)` holds."""
    view: dict[str, Any] = {}

    def check() -> bool:
        nonlocal view
        view = as_admin.get(f"/admin/runs/{run_id}").json()
        return condition(view)

    assert wait_for(check, timeout=timeout, step=0.5), view
    return view
