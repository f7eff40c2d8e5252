"""iot_fanout end to end: a FanoutBatch on the fanout queue makes the event runner run
iot_fanout, which sends signed, encrypted read requests to meters served by a real
`python -m device_client simulate` process; the meters answer through POST /device/readings.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from device_client.fleet import create_fleet
from device_client.profiles import register_at
from devstack.event_runner import LambdaContextStub, lambda_sqs_event
from devstack.provision import provision
from functions.core.aws import client
from functions.core.clock import utcnow
from functions.core.crypto import parse_timestamp
from functions.core.messages import FanoutBatch
from functions.core.meters.models import MeterRecord, RawReadingRecord
from functions.core.meters.service import requests_of_run
from functions.core.resources import queue, table
from functions.iot_fanout.handler import iot_fanout
from tests.integration.billing_support import a_meter, a_property
from tests.integration.meters_support import (
    FITTED,
    new_property,
    new_run,
    run_counters,
    wait_for,
)
from tests.simulator import Simulator

pytestmark = pytest.mark.usefixtures("meters_retired_after_each_test")


BEHAVIOURS = {  # serial suffix -> fleet entry changes
    "0001": {"behaviour": "normal"},
    "0002": {"behaviour": "normal", "register_wh": 4_567_890},
    "0003": {"behaviour": "offline"},
    "0004": {"behaviour": "silent"},
    "0005": {"behaviour": "tamper"},
}


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[tuple[Simulator, dict[str, dict[str, Any]]]]:
    fleet_file = tmp_path / "fleet.json"
    prefix = f"F{os.getpid()}{int(time.time() * 1000) % 10**7}"
    create_fleet(fleet_file, len(BEHAVIOURS), prefix=prefix,
                 start_at=utcnow() - timedelta(days=10), start_register_wh=100_000)
    fleet = json.loads(fleet_file.read_text())
    entries = {}
    for entry in fleet["meters"]:
        entry.update(BEHAVIOURS[entry["serial"][-4:]])
        entries[entry["serial"][-4:]] = entry
    fleet_file.write_text(json.dumps(fleet))
    sim = Simulator(tmp_path, fleet_file)
    yield sim, entries
    sim.stop()


def fit_simulated_meters(sim: Simulator, entries: dict[str, dict[str, Any]], as_admin: Any,
                         as_customer: Any) -> dict[str, str]:
    """Register, assign and activate every simulated meter; provision it like an
    installer would. Returns serial suffix -> meter id."""
    meter_ids = {}
    for suffix, entry in entries.items():
        served = sim.meter(entry["serial"])
        registered = as_admin.post("/admin/meters", json={
            "serial": entry["serial"], "public_key": served["public_key"], "model": "SIM",
            "firmware": "sim-1", "endpoint_url": served["endpoint_url"],
            "initial_register_wh": entry["start_register_wh"]})
        assert registered.status_code == 201, registered.text
        meter_id = registered.json()["meter_id"]
        FITTED.append(meter_id)
        assigned = as_admin.post(f"/admin/meters/{meter_id}/assign",
                                 json={"property_id": new_property(as_customer)})
        assert assigned.status_code == 200, assigned.text
        assert as_admin.post(f"/admin/meters/{meter_id}/activate").status_code == 200
        sim.provision(entry["serial"], assigned.json()["provisioning"])
        meter_ids[suffix] = meter_id
    return meter_ids


def enqueue(batch: FanoutBatch) -> None:
    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=queue("fanout").physical())["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=batch.model_dump_json())


def readings_of(meter_id: str, run_id: str) -> list[RawReadingRecord]:
    return [r for r in RawReadingRecord.query(
        meter_id, RawReadingRecord.reading_key.startswith("reading#")) if r.run_id == run_id]


def test_a_batch_reaches_the_simulated_meters_and_their_readings_arrive(
        stack, admin, customer, simulator):
    _, as_admin = admin
    _, as_customer = customer
    sim, entries = simulator
    ids = fit_simulated_meters(sim, entries, as_admin, as_customer)
    run_id = new_run(period="2001-02")
    enqueue(FanoutBatch(run_id=run_id, period="2001-02", meter_ids=list(ids.values())))

    # normal meters answer; the offline one is undeliverable; silent and tampering ones
    # got their request (delivered) but produce no accepted reading
    wait_for(lambda: run_counters(run_id)["answered"] >= 2
             and run_counters(run_id)["delivery_failures"] >= 1, timeout=60)
    counters = run_counters(run_id)
    assert counters == {"requests_sent": 4, "delivery_failures": 1, "answered": 2}

    [profile_reading] = readings_of(ids["0001"], run_id)
    entry = entries["0001"]
    start_at = parse_timestamp(entry["start_at"])
    read_at = profile_reading.read_at
    expected_low = register_at(entry["seed"], entry["profile"], read_at, start_at=start_at,
                               start_register_wh=100_000)
    expected_high = register_at(entry["seed"], entry["profile"], read_at + timedelta(seconds=1),
                                start_at=start_at, start_register_wh=100_000)
    assert expected_low <= profile_reading.register_wh <= expected_high
    assert profile_reading.register_wh > 100_000 + 10 * 1000  # ten days of a household
    [fixed_reading] = readings_of(ids["0002"], run_id)
    assert fixed_reading.register_wh == 4_567_890 and fixed_reading.period == "2001-02"

    statuses = {r.meter_id: r.status for r in requests_of_run(run_id)}
    assert statuses[ids["0001"]] == "answered" and statuses[ids["0002"]] == "answered"
    assert statuses[ids["0003"]] == "undeliverable"
    assert statuses[ids["0004"]] == "outstanding"
    assert statuses[ids["0005"]] == "outstanding"
    # the tampered reading was refused and recorded for the admin
    recorded = wait_for(lambda: as_admin.get("/admin/meter-rejections", params={
        "meter_id": ids["0005"]}).json()["rejections"])
    assert recorded[0]["reason"] == "bad_signature"
    # the meters saw the same story
    assert sim.status(entries["0001"]["serial"])["readings_sent"] == 1
    assert sim.status(entries["0001"]["serial"])["counter"] == 1
    assert sim.status(entries["0005"]["serial"])["readings_refused"] == 1


def test_meters_follow_a_server_key_rotation(stack, admin, customer, simulator):
    _, as_admin = admin
    _, as_customer = customer
    sim, entries = simulator
    ids = fit_simulated_meters(sim, {"0002": entries["0002"]}, as_admin, as_customer)
    serial = entries["0002"]["serial"]
    before = sim.status(serial)["server_key_ids"]  # current first, then any in grace
    assert before == [k["key_id"] for k in as_admin.get("/admin/server-keys").json()["keys"]]

    rotated = as_admin.post("/admin/server-keys/rotate", json={"grace_days": 7}).json()
    new_key_id = rotated["keys"][0]["key_id"]
    assert new_key_id != before[0]
    run_id = new_run(period="2001-03")
    enqueue(FanoutBatch(run_id=run_id, period="2001-03", meter_ids=[ids["0002"]]))
    wait_for(lambda: run_counters(run_id)["answered"] == 1, timeout=60)
    # signed with the new key: the meter learnt it from the endorsement by the old one
    assert sim.status(serial)["server_key_ids"] == [new_key_id, *before]
    [reading] = readings_of(ids["0002"], run_id)
    assert reading.server_key_id == new_key_id  # and encrypted its answer to it


def test_an_unknown_or_inactive_meter_is_skipped_not_an_error(stack):
    run_id = new_run(period="2001-04")
    event = lambda_sqs_event([{
        "MessageId": "m-1", "ReceiptHandle": "r-1",
        "Body": FanoutBatch(run_id=run_id, period="2001-04",
                            meter_ids=["mtr-0000000000000000"]).model_dump_json()}],
        "arn:aws:sqs:ap-south-1:000000000000:fanout")
    result = iot_fanout(event, LambdaContextStub("iot_fanout"))
    assert result == {"batchItemFailures": []}
    assert requests_of_run(run_id) == []
    # counted, so the run's progress (sent + failures = meters asked) completes
    assert run_counters(run_id) == {"requests_sent": 0, "delivery_failures": 1, "answered": 0}


def test_a_meter_with_a_corrupt_key_on_record_does_not_hold_up_the_others(
        stack, customer):
    owner, _ = customer
    corrupt = a_meter(a_property(owner))
    corrupt.update(actions=[MeterRecord.public_key.set("AA")])  # damaged on record
    healthy = a_meter(a_property(owner))
    run_id = new_run(period="2001-05")
    event = lambda_sqs_event([{
        "MessageId": "m-1", "ReceiptHandle": "r-1",
        "Body": FanoutBatch(run_id=run_id, period="2001-05",
                            meter_ids=[corrupt.meter_id, healthy.meter_id]).model_dump_json()}],
        "arn:aws:sqs:ap-south-1:000000000000:fanout")
    try:
        result = iot_fanout(event, LambdaContextStub("iot_fanout"))
    finally:
        for meter in (corrupt, healthy):
            meter.update(actions=meter.status_actions("inactive"))
    assert result == {"batchItemFailures": []}
    # the healthy meter was asked (its endpoint does not answer: undeliverable), the
    # corrupt one was not, and both count, so the run's progress still completes
    assert [r.meter_id for r in requests_of_run(run_id)] == [healthy.meter_id]
    assert run_counters(run_id) == {"requests_sent": 0, "delivery_failures": 2, "answered": 0}


def test_an_infrastructure_error_fails_the_message_for_redelivery(stack, admin, customer,
                                                                  simulator):
    _, as_admin = admin
    _, as_customer = customer
    sim, entries = simulator
    ids = fit_simulated_meters(sim, {"0001": entries["0001"]}, as_admin, as_customer)
    run_id = new_run(period="2001-05")
    event = lambda_sqs_event([
        {"MessageId": "bad", "ReceiptHandle": "r-1", "Body": '{"run_id": 1}'},
        {"MessageId": "good", "ReceiptHandle": "r-2",
         "Body": FanoutBatch(run_id=run_id, period="2001-05",
                             meter_ids=[ids["0001"]]).model_dump_json()}],
        "arn:aws:sqs:ap-south-1:000000000000:fanout")
    client("dynamodb").delete_table(TableName=table("read_requests").physical())
    try:
        # every message failed: Powertools fails the invocation, so SQS redelivers the batch
        with pytest.raises(BatchProcessingError) as failure:
            iot_fanout(event, LambdaContextStub("iot_fanout"))
    finally:
        provision()
    assert "ResourceNotFoundException" in str(failure.value)  # the table, not the meter
    # no request was sent without its record
    assert sim.status(entries["0001"]["serial"])["requests_received"] == 0
    # the redelivery (here: the same event again) works; only the malformed message
    # fails again (to the DLQ after its retries)
    assert iot_fanout(event, LambdaContextStub("iot_fanout"))["batchItemFailures"] == [
        {"itemIdentifier": "bad"}]
    wait_for(lambda: run_counters(run_id)["answered"] == 1, timeout=60)
