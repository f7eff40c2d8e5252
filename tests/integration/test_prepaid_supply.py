"""Remote disconnect and reconnect over the meter channel (issue 24), with a simulated
meter (device_client, the independent implementation) listening on 127.0.0.1: the
meter obeys signed, encrypted commands and acknowledges with its relay state; replayed,
expired and forged commands are refused by the meter; a forged acknowledgement is
refused by the platform; a recharge after a disconnection reconnects."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from device_client import crypto as meter_crypto
from device_client.meter import Meter, MeterConfig
from device_client.sender import Sender
from device_client.server import MeterHost
from device_client.state import StateStore
from functions.core.clock import utcnow
from functions.core.crypto import (
    SERVER_SENDER_ID,
    envelope_to_bytes,
    generate_private_key,
    load_public_key_b64,
    seal,
)
from functions.core.daily.models import MeterDayRecord
from functions.core.meters.commands import (
    AckRejected,
    MeterCommandRecord,
    MeterCommands,
    check_ack,
    command_payload,
    new_command_id,
)
from functions.core.meters.server_key import server_keys
from functions.core.prepaid.service import PrepaidService
from functions.core.prepaid.supply import MeterSupply
from tests.integration.meters_support import fitted_meter, new_serial
from tests.integration.payments_support import event_body, payment_entity, post_webhook

WEEKDAY_NOON = datetime(2026, 12, 2, 5, 30, tzinfo=UTC)  # a Wednesday, 11:00 IST


@pytest.fixture
def simulated(stack, admin, customer, tmp_path: Path,
              meters_retired_after_each_test) -> Iterator[dict[str, Any]]:
    key = meter_crypto.generate_private_key()
    serial = new_serial()
    meter = Meter(MeterConfig(serial=serial, private_key=key, daily_kwh=12.0,
                              speedup=3600.0, protocol_version=2),
                  StateStore(tmp_path), Sender(workers=1))
    host = MeterHost([meter]).start()
    view, _, provisioning = fitted_meter(admin[1], customer[1], key=key, serial=serial,
                                         endpoint_url=host.url(serial))
    meter.provision(view["meter_id"], provisioning["server_public_keys"])
    yield {"meter": meter, "host": host, "meter_id": view["meter_id"],
           "connection": view["property_id"]}
    host.stop()


def prepaid_connection(simulated: dict[str, Any], admin_client: Any) -> PrepaidService:
    service = PrepaidService.default()
    service.clock = lambda: WEEKDAY_NOON
    service.set_mode("usr_admin", simulated["connection"], "prepaid",
                     WEEKDAY_NOON.date().replace(day=1), meter_id=simulated["meter_id"],
                     emergency_credit_paise=5000)
    return service


def test_disconnect_then_a_recharge_reconnects_confirmed_by_the_meter(simulated, admin,
                                                                       customer, stack):
    meter, connection = simulated["meter"], simulated["connection"]
    service = prepaid_connection(simulated, admin[1])
    service.adjust("usr_admin", connection, "month", -20000, "a month of use")

    account = service.accounts.get(connection)
    assert account is not None and account.relay == "disconnected"
    assert account.pending_command is None  # acknowledged
    assert meter.state.relay == "disconnected"
    # The register stops while the relay is open.
    off = meter_crypto.parse_timestamp(meter.state.relay_off_since)
    assert meter.model_register(off + timedelta(minutes=5)) == meter.model_register(
        off + timedelta(minutes=50))

    order = customer[1].post(f"/prepaid/{connection}/recharge", json={"amount_paise": 30000})
    assert order.status_code == 201, order.text
    body = json.dumps(event_body("payment.captured", payment=payment_entity(order.json())),
                      separators=(",", ":")).encode()
    assert post_webhook(stack.api.base_url, body).json()["result"] == "paid"
    assert post_webhook(stack.api.base_url, body).json()["result"] == "duplicate"

    account = service.accounts.get(connection)
    assert account is not None and account.relay == "connected"
    assert int(account.balance_paise) == 10000
    assert meter.state.relay == "connected"
    log = admin[1].get(f"/admin/meters/{simulated['meter_id']}/commands").json()["commands"]
    assert sorted((c["operation"], c["status"], c["relay"]) for c in log) == [
        ("disconnect", "acked", "disconnected"), ("reconnect", "acked", "connected")]
    # After the reconnection the register runs again.
    later = utcnow() + timedelta(minutes=30)
    assert meter.model_register(later + timedelta(minutes=30)) > meter.model_register(later)


def sealed_command(meter_id: str, meter_public_key: str, *, operation: str = "disconnect",
                   issued_at: datetime | None = None, signer: Any = None) -> bytes:
    now = issued_at or utcnow()
    record = MeterCommandRecord(
        command_id=new_command_id(), meter_id=meter_id, operation=operation,
        issued_at=meter_crypto.format_timestamp(now), nonce=meter_crypto.b64u_encode(
            os.urandom(32)),
        attempt_issued_at=meter_crypto.format_timestamp(now),
        expires_at=meter_crypto.format_timestamp(now + timedelta(minutes=15)))
    envelope = seal(command_payload(record), msg_type="command",
                    recipient_pub=load_public_key_b64(meter_public_key),
                    sender_priv=signer or server_keys().current.private,
                    sender_id=SERVER_SENDER_ID)
    return envelope_to_bytes(envelope)


def post(simulated: dict[str, Any], body: bytes) -> requests.Response:
    return requests.post(simulated["host"].url(simulated["meter"].serial), data=body,
                         timeout=10, headers={"Content-Type": "application/json"})


def test_the_meter_refuses_replayed_expired_and_forged_commands(simulated):
    meter = simulated["meter"]
    public_key = meter.public_key
    command = sealed_command(simulated["meter_id"], public_key)
    assert post(simulated, command).status_code == 200
    assert meter.state.relay == "disconnected"
    replayed = post(simulated, command)
    assert replayed.status_code == 409 and replayed.json()["reason"] == "command_replayed"

    expired = sealed_command(simulated["meter_id"], public_key, operation="reconnect",
                             issued_at=utcnow() - timedelta(hours=2))
    assert post(simulated, expired).json()["reason"] == "request_expired"
    forged = sealed_command(simulated["meter_id"], public_key, operation="reconnect",
                            signer=generate_private_key())
    assert post(simulated, forged).json()["reason"] == "bad_signature"
    assert meter.state.relay == "disconnected" and meter.state.commands_refused == 3


def test_the_platform_refuses_a_forged_acknowledgement(simulated):
    meter = simulated["meter"]
    record = MeterCommandRecord(
        command_id=new_command_id(), meter_id=simulated["meter_id"], operation="disconnect",
        issued_at="2026-12-02T05:30:00Z", nonce=meter_crypto.b64u_encode(b"\x01" * 32),
        attempt_issued_at="2026-12-02T05:30:00Z", expires_at="2026-12-02T05:45:00Z")
    server_public = server_keys().current.public_key
    ack = meter_crypto.make_command_ack(command_payload(record), relay="disconnected",
                                        acted_at=WEEKDAY_NOON)
    impostor = meter_crypto.generate_private_key()  # not the meter's key on record
    forged = meter_crypto.envelope_to_bytes(meter_crypto.seal(
        ack, msg_type="command_ack", recipient_pub=meter_crypto.load_public_key_b64(
            server_public), sender_priv=impostor, sender_id=simulated["meter_id"]))
    with pytest.raises(AckRejected) as refused:
        check_ack(forged, record, meter.public_key, server_keys())
    assert refused.value.reason == "bad_signature"
    genuine = meter_crypto.envelope_to_bytes(meter_crypto.seal(
        ack, msg_type="command_ack", recipient_pub=meter_crypto.load_public_key_b64(
            server_public), sender_priv=meter.config.private_key,
        sender_id=simulated["meter_id"]))
    assert check_ack(genuine, record, meter.public_key, server_keys()).relay == "disconnected"


def test_one_command_at_a_time_per_connection(simulated, admin):
    service = prepaid_connection(simulated, admin[1])
    supply = service.supply
    assert isinstance(supply, MeterSupply)
    simulated["meter"].configure({"behaviour": "offline"})  # the meter does not answer
    service.adjust("usr_admin", simulated["connection"], "use", -20000, "use")
    account = service.accounts.get(simulated["connection"])
    assert account is not None and account.pending_command and account.relay == "connected"
    service.review(simulated["connection"])  # retried, not a second command
    assert len(MeterCommands().log(simulated["meter_id"])) == 1
    simulated["meter"].configure({"behaviour": "normal"})
    service.review(simulated["connection"])  # the retry is acknowledged
    account = service.accounts.get(simulated["connection"])
    assert account is not None and account.relay == "disconnected"
    assert not account.pending_command


def test_turning_postpaid_reconnects_a_meter_the_prepaid_side_disconnected(simulated, admin):
    """Postpaid supply does not hang on the prepaid balance: the change of mode carries the
    debt to the postpaid account and closes the relay again, confirmed by the meter."""
    meter, connection = simulated["meter"], simulated["connection"]
    service = prepaid_connection(simulated, admin[1])
    service.adjust("usr_admin", connection, "month", -20000, "a month of use")
    account = service.accounts.get(connection)
    assert account is not None and account.relay == "disconnected"

    from_day = WEEKDAY_NOON.date()  # the change closes the prepaid days with D-1's read
    MeterDayRecord(simulated["meter_id"], (from_day - timedelta(days=1)).isoformat(),
                   import_wh=1_000_000, read_at=WEEKDAY_NOON, received_at=WEEKDAY_NOON).save()
    service.set_mode("usr_admin", connection, "postpaid", from_day)

    account = service.accounts.get(connection)
    assert account is not None and account.mode == "postpaid"
    assert int(account.balance_paise) == 0  # the debt went to the postpaid account
    assert account.relay == "connected" and not account.pending_command
    assert meter.state.relay == "connected"
    log = admin[1].get(f"/admin/meters/{simulated['meter_id']}/commands").json()["commands"]
    assert sorted((c["operation"], c["status"]) for c in log) == [
        ("disconnect", "acked"), ("reconnect", "acked")]
    # Sent again, the change is applied once and sends nothing more.
    service.set_mode("usr_admin", connection, "postpaid", from_day)
    assert len(MeterCommands().log(simulated["meter_id"])) == 2
