"""The daily read cycle (issue 24) on the local stack: the admin starts a day's cycle, its
slices go through run_steps and iot_fanout to a simulated v2 meter, the meter's answer
becomes one meter-day item (kept for the configured retention), the admin sees the share
of meters read, and a prepaid connection is debited for the day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from device_client import crypto as meter_crypto
from device_client.meter import Meter, MeterConfig
from device_client.sender import Sender
from device_client.server import MeterHost
from device_client.state import StateStore
from functions.core.clock import IST, utcnow
from functions.core.daily.cycle import retention_days
from functions.core.daily.models import MeterDayRecord
from functions.core.meters.models import MeterRecord
from functions.core.meters.repositories import MeterRepository
from functions.core.prepaid.service import PrepaidService
from tests.integration.meters_support import fitted_meter, new_serial
from tests.integration.payments_support import wait_for


@pytest.fixture
def v2_meter(stack, admin, customer, tmp_path: Path,
             meters_retired_after_each_test) -> Iterator[dict[str, Any]]:
    key = meter_crypto.generate_private_key()
    serial = new_serial()
    # Installed three days ago, so yesterday's 00:00 IST latch is in its memory.
    meter = Meter(MeterConfig(serial=serial, private_key=key, daily_kwh=10.0,
                              protocol_version=2, start_at=utcnow() - timedelta(days=3)),
                  StateStore(tmp_path), Sender(workers=1))
    host = MeterHost([meter]).start()
    view, _, provisioning = fitted_meter(admin[1], customer[1], key=key, serial=serial,
                                         endpoint_url=host.url(serial))
    meter.provision(view["meter_id"], provisioning["server_public_keys"],
                    provisioning.get("reading_url"))
    record = MeterRepository().get(view["meter_id"])
    assert record is not None  # a v2 meter: four ToD zones, demand, no export
    MeterRepository().update(record, actions=[MeterRecord.protocol_version.set(2),
                                              MeterRecord.tod_zones.set(4),
                                              MeterRecord.has_demand.set(True)])
    yield {"meter": meter, "meter_id": view["meter_id"], "connection": view["property_id"]}
    host.stop()


def test_a_days_cycle_reads_the_meter_once_and_debits_a_prepaid_connection(
        stack, admin, customer, v2_meter):
    day = (utcnow().astimezone(IST) - timedelta(days=1)).date()
    connection, meter_id = v2_meter["connection"], v2_meter["meter_id"]
    service = PrepaidService()
    service.set_mode("usr_admin", connection, "prepaid", day.replace(day=1))
    # The month's opening register (the read that closed the previous month).
    opening_day = (day.replace(day=1) - timedelta(days=1)).isoformat()
    MeterDayRecord(meter_id, opening_day, import_wh=0, tod_wh=[0, 0, 0, 0],
                   read_at=utcnow(), received_at=utcnow()).save()

    started = admin[1].post("/admin/daily-reads", json={"day": day.isoformat()})
    assert started.status_code == 202, started.text

    def read() -> MeterDayRecord | None:
        try:
            return MeterDayRecord.get(meter_id, day.isoformat(), consistent_read=True)
        except MeterDayRecord.DoesNotExist:
            return None

    item = wait_for(read, timeout=90)
    assert item is not None, "the meter's day was not read"
    assert item.source == "snapshot" and int(item.import_wh) > 0
    assert int(item.purge_at_epoch) > int((utcnow() + timedelta(
        days=retention_days() - 1)).timestamp())

    rate = wait_for(lambda: (r := admin[1].get(f"/admin/daily-reads/{day}").json())["read"]
                    and r, timeout=30)
    assert rate["read"] >= 1 and rate["meters_total"] >= 1
    assert rate["target_percent"] == 99 and isinstance(rate["target_met"], bool)
    assert 0 <= float(rate["share_by_target_percent"]) <= float(rate["share_read_percent"])

    debit = wait_for(lambda: service.ledger.get(connection, f"debit#{day}"), timeout=30)
    assert debit is not None and int(debit.amount_paise) < 0
    assert "charge to date" in debit.explanation

    # A second start asks nobody already read: the meter-day stays the one item.
    admin[1].post("/admin/daily-reads", json={"day": day.isoformat()})
    days = customer[1].get(f"/meters/{meter_id}/days?days=30").json()["days"]
    assert [d["day"] for d in days].count(day.isoformat()) == 1
