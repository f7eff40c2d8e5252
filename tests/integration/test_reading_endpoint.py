"""POST /device/readings: a reading built by the meter-side implementation is verified,
decrypted, matched to its outstanding request once, stored and queued; every negative case
of issue 4 is refused with the same generic answer and recorded with its reason."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from device_client import crypto as meter_crypto
from functions.api.device import REFUSALS
from functions.core.aws import client
from functions.core.clock import utcnow
from functions.core.meters.models import RawReadingRecord, ReadRequestRecord
from functions.core.meters.service import find_meter
from functions.core.resources import queue
from tests.integration.meters_support import (
    current_server_key,
    fitted_meter,
    flip,
    issue_request,
    new_run,
    resign,
    run_counters,
    seal_reading,
    wait_for,
    wire,
)
from tests.integration.paging_support import every_page

pytestmark = pytest.mark.usefixtures("meters_retired_after_each_test")

REJECTED = REFUSALS[400]


@pytest.fixture
def fitted(admin, customer):
    _, as_admin = admin
    _, as_customer = customer
    meter, key, _ = fitted_meter(as_admin, as_customer)
    return meter["meter_id"], key, current_server_key(as_admin)


def post(stack, body: bytes | str, **headers: str):
    return stack.api.post("/device/readings", data=body,
                          headers={"Content-Type": "application/json", **headers})


def rejections(as_admin, **filters: str) -> list[dict[str, Any]]:
    """Every page of the list, newest first."""
    return every_page(as_admin, "/admin/meter-rejections", "rejections", limit=100,
                      **filters)[0]


def stored_readings(meter_id: str) -> list[RawReadingRecord]:
    return list(RawReadingRecord.query(meter_id, RawReadingRecord.reading_key.startswith(
        "reading#")))


def request_status(nonce: str) -> str:
    return str(ReadRequestRecord.get(nonce, consistent_read=True).status)


def assert_rejected(stack, as_admin, body: bytes | str, reason: str, *, meter_id: str,
                    nonce: str | None = None) -> None:
    """Generic 400; the precise reason is recorded; nothing stored, nothing consumed."""
    stored_before = len(stored_readings(meter_id))
    response = post(stack, body)
    assert response.status_code == 400, response.text
    assert response.json() == REJECTED
    recorded = rejections(as_admin, meter_id=meter_id)
    assert recorded, "the rejection was not recorded"
    assert recorded[0]["reason"] == reason, recorded[0]
    assert len(stored_readings(meter_id)) == stored_before
    if nonce is not None:
        assert request_status(nonce) == "outstanding"


def queued_reading(reading_key: str) -> dict[str, Any] | None:
    """Find our message on the readings queue, if no consumer took it already."""
    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=queue("readings").physical())["QueueUrl"]
    for _ in range(5):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       VisibilityTimeout=0, WaitTimeSeconds=1).get("Messages", [])
        for message in messages:
            body = json.loads(message["Body"])
            if body.get("reading_key") == reading_key:
                return dict(body)
    return None


def test_a_valid_reading_is_stored_queued_and_counted(stack, fitted):
    meter_id, key, server_key = fitted
    run_id = new_run()
    request = issue_request(meter_id, run_id)
    envelope = seal_reading(key, meter_id, request, server_key, counter=1,
                            register_wh=1_234_567)
    body = wire(envelope)
    response = post(stack, body)
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "accepted", "type": "reading"}

    [stored] = stored_readings(meter_id)
    assert stored.register_wh == 1_234_567 and stored.counter == 1
    assert stored.run_id == run_id and stored.period == "2001-01"
    assert stored.nonce == request["nonce"] and stored.status == "received"
    assert stored.envelope == body.decode()  # the raw message, exactly as received
    assert json.loads(stored.payload)["register_wh"] == 1_234_567
    assert request_status(request["nonce"]) == "answered"
    meter = find_meter(meter_id)
    assert meter is not None and meter.last_counter == 1
    # Only a reading billing accepted moves the meter's register (issue 18); this one is not.
    assert meter.last_register_wh is None

    readings_consumer = any(p.mapping.queue_name == queue("readings").physical()
                            for p in stack.runner.pollers)
    if readings_consumer:
        # "answered" is counted by billing with its once-per-batch counter update
        # (the endpoint makes no counter write of its own).
        wait_for(lambda: run_counters(run_id)["answered"] == 1)
    else:  # until billing consumes the queue, the message waits there, not counted yet
        assert run_counters(run_id)["answered"] == 0
        message = queued_reading(stored.reading_key)
        assert message is not None
        assert message["meter_id"] == meter_id and message["register_wh"] == 1_234_567
        assert message["run_id"] == run_id and message["counter"] == 1


def test_a_replayed_reading_is_refused(stack, admin, fitted):
    _, as_admin = admin
    meter_id, key, server_key = fitted
    run_id = new_run()
    request = issue_request(meter_id, run_id)
    body = wire(seal_reading(key, meter_id, request, server_key, counter=1, register_wh=10))
    assert post(stack, body).status_code == 202
    response = post(stack, body)
    assert response.status_code == 400 and response.json() == REJECTED
    assert rejections(as_admin, meter_id=meter_id)[0]["reason"] == "duplicate_reading"
    assert len(stored_readings(meter_id)) == 1
    # billing counts the one stored reading (once per batch); the replay adds nothing
    wait_for(lambda: run_counters(run_id)["answered"] == 1)


def test_a_reused_counter_is_refused_even_for_a_new_request(stack, admin, fitted):
    _, as_admin = admin
    meter_id, key, server_key = fitted
    run_id = new_run()
    first = issue_request(meter_id, run_id)
    assert post(stack, wire(seal_reading(key, meter_id, first, server_key, counter=5,
                                         register_wh=10))).status_code == 202
    second = issue_request(meter_id, run_id)
    response = post(stack, wire(seal_reading(key, meter_id, second, server_key, counter=5,
                                             register_wh=20)))
    assert response.status_code == 400 and response.json() == REJECTED
    assert rejections(as_admin, meter_id=meter_id)[0]["reason"] == "counter_replay"
    assert request_status(second["nonce"]) == "outstanding"
    assert [r.register_wh for r in stored_readings(meter_id)] == [10]


@pytest.mark.parametrize("tamper, reason", [
    # a ciphertext byte flipped after signing: the signature no longer matches
    (lambda env, key: {**env, "ct": flip(env["ct"])}, "bad_signature"),
    # ... and flipped then signed again by the meter: the MAC catches it
    (lambda env, key: resign({**env, "ct": flip(env["ct"])}, key), "bad_mac"),
    # the MAC itself altered (re-signed so only the MAC check can see it)
    (lambda env, key: resign({**env, "mac": flip(env["mac"])}, key), "bad_mac"),
    # the signature altered
    (lambda env, key: {**env, "sig": flip(env["sig"], 5)}, "bad_signature"),
    # the IV altered (re-signed): covered by the MAC
    (lambda env, key: resign({**env, "iv": flip(env["iv"])}, key), "bad_mac"),
    # the ephemeral key swapped for a point that is not on the curve (x = 5)
    (lambda env, key: resign({**env, "epk": "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAF"},
                             key), "pubkey_not_on_curve"),
    # malformed base64 in a field
    (lambda env, key: {**env, "iv": env["iv"] + "="}, "bad_base64"),
    (lambda env, key: {**env, "ct": env["ct"][:-1] + "*"}, "bad_base64"),
    # an unknown field, an unknown version
    (lambda env, key: {**env, "extra": "x"}, "unknown_field"),
    (lambda env, key: {**env, "v": 3}, "unsupported_version"),
])
def test_tampered_messages_are_refused(stack, admin, fitted, tamper, reason):
    _, as_admin = admin
    meter_id, key, server_key = fitted
    request = issue_request(meter_id, new_run())
    envelope = seal_reading(key, meter_id, request, server_key, counter=1, register_wh=99)
    assert_rejected(stack, as_admin, wire(tamper(envelope, key)), reason, meter_id=meter_id,
                    nonce=request["nonce"])
    # the untouched message is still accepted afterwards: nothing was consumed
    assert post(stack, wire(envelope)).status_code == 202


def test_a_reading_signed_with_another_key_is_refused(stack, admin, fitted):
    _, as_admin = admin
    meter_id, key, server_key = fitted
    request = issue_request(meter_id, new_run())
    impostor = meter_crypto.generate_private_key()
    envelope = seal_reading(key, meter_id, request, server_key, counter=1, register_wh=1,
                            signer=impostor)
    assert_rejected(stack, as_admin, wire(envelope), "bad_signature", meter_id=meter_id,
                    nonce=request["nonce"])


def test_a_reading_for_an_expired_request_is_refused(stack, admin, fitted):
    _, as_admin = admin
    meter_id, key, server_key = fitted
    issued = utcnow() - timedelta(hours=2)
    request = issue_request(meter_id, new_run(), issued_at=issued, ttl=timedelta(hours=1))
    envelope = seal_reading(key, meter_id, request, server_key, counter=1, register_wh=1,
                            read_at=issued + timedelta(minutes=5))
    assert_rejected(stack, as_admin, wire(envelope), "request_expired", meter_id=meter_id,
                    nonce=request["nonce"])


def test_a_stale_timestamp_is_refused(stack, admin, fitted):
    _, as_admin = admin
    meter_id, key, server_key = fitted
    request = issue_request(meter_id, new_run())
    envelope = seal_reading(key, meter_id, request, server_key, counter=1, register_wh=1,
                            read_at=utcnow() - timedelta(days=2))
    assert_rejected(stack, as_admin, wire(envelope), "read_before_request", meter_id=meter_id,
                    nonce=request["nonce"])


def test_a_reading_for_an_unknown_or_foreign_request_is_refused(stack, admin, customer, fitted):
    _, as_admin = admin
    _, as_customer = customer
    meter_id, key, server_key = fitted
    other, _, _ = fitted_meter(as_admin, as_customer)
    foreign = issue_request(other["meter_id"], new_run())
    # a request of another meter, answered by this one
    forged = {**foreign, "meter_id": meter_id}
    assert_rejected(stack, as_admin, wire(seal_reading(key, meter_id, forged, server_key,
                                                       counter=1, register_wh=1)),
                    "unknown_request", meter_id=meter_id, nonce=foreign["nonce"])
    # a nonce the server never issued
    invented = {**forged, "nonce": meter_crypto.b64u_encode(b"\x07" * 32)}
    assert_rejected(stack, as_admin, wire(seal_reading(key, meter_id, invented, server_key,
                                                       counter=1, register_wh=1)),
                    "unknown_request", meter_id=meter_id)


def test_unknown_and_deactivated_meters_are_refused(stack, admin, fitted):
    _, as_admin = admin
    meter_id, key, server_key = fitted
    request = issue_request(meter_id, new_run())
    # a sender id nobody registered
    stranger = meter_crypto.generate_private_key()
    envelope = seal_reading(stranger, "mtr-ffffffffffffffff",
                            {**request, "meter_id": "mtr-ffffffffffffffff"}, server_key,
                            counter=1, register_wh=1)
    response = post(stack, wire(envelope))
    assert response.status_code == 400 and response.json() == REJECTED
    recorded = rejections(as_admin, meter_id="unknown")
    assert any(r["reason"] == "unknown_meter" and r["claimed_sender"] == "mtr-ffffffffffffffff"
               for r in recorded)

    assert as_admin.post(f"/admin/meters/{meter_id}/deactivate").status_code == 200
    envelope = seal_reading(key, meter_id, request, server_key, counter=1, register_wh=1)
    assert_rejected(stack, as_admin, wire(envelope), "meter_inactive", meter_id=meter_id,
                    nonce=request["nonce"])


def test_a_rotated_out_meter_key_is_refused(stack, admin, fitted):
    _, as_admin = admin
    meter_id, old_key, server_key = fitted
    new_key = meter_crypto.generate_private_key()
    assert as_admin.post(f"/admin/meters/{meter_id}/rotate-key", json={
        "public_key": meter_crypto.public_key_b64(new_key)}).status_code == 200
    request = issue_request(meter_id, new_run())
    assert_rejected(stack, as_admin, wire(seal_reading(old_key, meter_id, request, server_key,
                                                       counter=1, register_wh=1)),
                    "bad_signature", meter_id=meter_id, nonce=request["nonce"])
    accepted = post(stack, wire(seal_reading(new_key, meter_id, request, server_key,
                                             counter=1, register_wh=1)))
    assert accepted.status_code == 202, accepted.text


def test_malformed_json_and_oversized_bodies(stack, admin, fitted):
    _, as_admin = admin
    meter_id, key, server_key = fitted
    for body, reason in [(b'{"v":1,', "bad_json"), (b"[1,2]", "bad_json"),
                         (b"\xff\xfe", "bad_json"),
                         (b'{"v":1,"v":1,"type":"reading"}', "bad_json")]:
        response = post(stack, body)
        assert response.status_code == 400 and response.json() == REJECTED
        assert any(r["reason"] == reason for r in rejections(as_admin, meter_id="unknown"))

    request = issue_request(meter_id, new_run())
    envelope = seal_reading(key, meter_id, request, server_key, counter=1, register_wh=1)
    oversized = wire({**envelope, "ct": envelope["ct"] + "A" * 9000})
    response = post(stack, oversized)
    assert response.status_code == 413, response.text
    recorded = [r for r in rejections(as_admin, reason="too_large")
                if r["body_bytes"] == len(oversized)]
    assert recorded
    assert request_status(request["nonce"]) == "outstanding"


def test_readings_encrypted_to_the_previous_server_key_are_accepted_during_grace(
        stack, admin, fitted):
    _, as_admin = admin
    meter_id, key, old_server_key = fitted
    rotated = as_admin.post("/admin/server-keys/rotate", json={"grace_days": 7})
    assert rotated.status_code == 200
    new_server_key = current_server_key(as_admin)
    assert new_server_key != old_server_key
    run_id = new_run()
    first = issue_request(meter_id, run_id)
    assert post(stack, wire(seal_reading(key, meter_id, first, old_server_key, counter=1,
                                         register_wh=5))).status_code == 202
    second = issue_request(meter_id, run_id)
    assert post(stack, wire(seal_reading(key, meter_id, second, new_server_key, counter=2,
                                         register_wh=6))).status_code == 202
    # a key the server never had
    third = issue_request(meter_id, run_id)
    unknown = meter_crypto.public_key_b64(meter_crypto.generate_private_key())
    assert_rejected(stack, as_admin, wire(seal_reading(key, meter_id, third, unknown,
                                                       counter=3, register_wh=7)),
                    "unknown_recipient", meter_id=meter_id, nonce=third["nonce"])


def test_meter_error_answers_consume_the_request(stack, fitted):
    meter_id, key, server_key = fitted
    request = issue_request(meter_id, new_run())
    payload = meter_crypto.make_error(request["nonce"], meter_id=meter_id,
                                      code="register_unavailable", message="metrology down")
    envelope = meter_crypto.seal(payload, msg_type="error",
                                 recipient_pub=meter_crypto.load_public_key_b64(server_key),
                                 sender_priv=key, sender_id=meter_id)
    response = post(stack, wire(envelope))
    assert response.status_code == 202 and response.json()["type"] == "error"
    record = ReadRequestRecord.get(request["nonce"], consistent_read=True)
    assert record.status == "failed" and record.error_code == "register_unavailable"
    assert post(stack, wire(envelope)).status_code == 400  # once only


def test_rejections_can_be_filtered_by_reason_and_run(stack, admin, fitted):
    _, as_admin = admin
    meter_id, key, server_key = fitted
    run_id = new_run()
    request = issue_request(meter_id, run_id)
    envelope = seal_reading(key, meter_id, request, server_key, counter=1, register_wh=1,
                            signer=meter_crypto.generate_private_key())
    assert post(stack, wire(envelope)).status_code == 400
    # decrypted far enough to know the run? no: a bad signature stops before decryption
    by_reason = rejections(as_admin, reason="bad_signature", meter_id=meter_id)
    assert len(by_reason) == 1 and by_reason[0]["source_ip"]
    stale = seal_reading(key, meter_id, request, server_key, counter=1, register_wh=1,
                         read_at=utcnow() - timedelta(days=3))
    assert post(stack, wire(stale)).status_code == 400
    by_run = rejections(as_admin, run_id=run_id)
    assert [r["reason"] for r in by_run] == ["read_before_request"]
    assert by_run[0]["nonce"] == request["nonce"]
