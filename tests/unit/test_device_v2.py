"""Protocol v2 on the simulated meter, against the SERVER implementation: billing snapshots
latched at 00:00 IST of the billing date, ToD zones, export and maximum demand; trust that
only the offline root key can extend (the online server key cannot capture a meter); root
revocations; the clock rule; the counter rules.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from device_client import crypto as meter_crypto
from device_client.meter import Meter, MeterConfig
from device_client.profiles import registers_between
from device_client.state import StateStore
from functions.core import crypto as server_crypto
from tests.unit.test_device_meter import KeptPosts, posts

READINGS_URL = "https://api.example.in/device/readings"
INSTALLED = datetime(2026, 9, 20, 4, 0, tzinfo=UTC)
BILLING_AT = datetime(2026, 10, 31, 18, 30, tzinfo=UTC)  # 1 November 2026, 00:00 IST
LATE_RUN = BILLING_AT + timedelta(days=3, hours=5)  # the run starts on 4 November


@pytest.fixture
def server_key() -> Any:
    return server_crypto.generate_private_key()


@pytest.fixture
def root_key() -> Any:
    return server_crypto.generate_private_key()


def v2_meter(tmp_path: Path, server_key: Any, root_key: Any | None = None, *,
             behaviour: str = "normal", solar_kwp: float = 0.0,
             installed: datetime = INSTALLED) -> Meter:
    meter = Meter(MeterConfig(serial="V2-1", private_key=meter_crypto.generate_private_key(),
                              behaviour=behaviour, protocol_version=2, seed=7,
                              start_at=installed, start_register_wh=1_000_000,
                              solar_kwp=solar_kwp),
                  StateStore(tmp_path), KeptPosts())
    meter.provision("mtr-v2", [server_crypto.public_key_b64(server_key)],
                    root_public_keys=[server_crypto.public_key_b64(root_key)] if root_key else [],
                    max_key_overlap_seconds=7 * 86400)
    return meter


def v2_request(meter: Meter, signer: Any, *, now: datetime = LATE_RUN,
               billing_at: datetime = BILLING_AT) -> tuple[dict[str, Any], bytes]:
    payload = server_crypto.new_read_request(
        run_id="2026-10", meter_id="mtr-v2", period="2026-10", reply_to=READINGS_URL, now=now,
        ttl=timedelta(hours=1), billing_at=billing_at)
    envelope = server_crypto.seal(payload, msg_type="read_request",
                                  recipient_pub=meter_crypto.public_key_bytes(
                                      meter.config.private_key),
                                  sender_priv=signer, sender_id="server")
    return dict(payload), server_crypto.envelope_to_bytes(envelope)


def opened(meter: Meter, server_key: Any, index: int = -1) -> dict[str, Any]:
    message = server_crypto.open_envelope(
        posts(meter)[index][1], recipient_priv=server_key,
        sender_pub=meter_crypto.public_key_bytes(meter.config.private_key),
        expect_type="reading")
    return message.payload


def test_a_late_run_gets_the_snapshot_latched_at_the_billing_date(tmp_path, server_key):
    meter = v2_meter(tmp_path, server_key)
    _, body = v2_request(meter, server_key)
    assert meter.handle_read_request(body, {}, now=LATE_RUN)[0] == 202
    reading = opened(meter, server_key)
    assert reading["v"] == 2 and reading["source"] == "snapshot"
    assert reading["snapshot_at"] == "2026-10-31T18:30:00Z"
    latched = registers_between(7, "residential", INSTALLED, BILLING_AT)
    assert reading["import_wh"] == 1_000_000 + latched.import_wh
    # the three November days before the run are not in it ...
    live = registers_between(7, "residential", INSTALLED, LATE_RUN)
    assert live.import_wh - latched.import_wh > 10_000
    # ... the zones add up to the import register and the demand is October's
    assert sum(reading["tod_wh"]) == reading["import_wh"] and len(reading["tod_wh"]) == 4
    md_at = server_crypto.parse_timestamp(reading["md_at"])
    assert datetime(2026, 9, 30, 18, 30, tzinfo=UTC) < md_at <= BILLING_AT
    assert 0 < reading["md_w"] < 5_000 and reading["export_wh"] == 0


def test_a_meter_without_the_snapshot_answers_live_registers(tmp_path, server_key):
    installed_after = v2_meter(tmp_path / "a", server_key,
                               installed=BILLING_AT + timedelta(days=1))
    memory_lost = v2_meter(tmp_path / "b", server_key, behaviour="no_snapshot")
    for meter in (installed_after, memory_lost):
        _, body = v2_request(meter, server_key)
        assert meter.handle_read_request(body, {}, now=LATE_RUN)[0] == 202
        reading = opened(meter, server_key)
        assert reading["source"] == "live"
        assert reading["snapshot_at"] == reading["read_at"] == "2026-11-03T23:30:00Z"


def test_a_solar_meter_exports_at_midday_and_imports_in_the_evening(tmp_path, server_key):
    meter = v2_meter(tmp_path, server_key, solar_kwp=3.0)
    _, body = v2_request(meter, server_key)
    meter.handle_read_request(body, {}, now=LATE_RUN)
    reading = opened(meter, server_key)
    _night, _morning, day, evening = reading["tod_wh"]
    assert reading["export_wh"] > 100_000  # a 3 kWp roof over six weeks
    assert evening > day and sum(reading["tod_wh"]) == reading["import_wh"]


def test_a_v1_request_to_a_v2_meter_gets_a_v1_reading(tmp_path, server_key):
    meter = v2_meter(tmp_path, server_key)
    payload = server_crypto.new_read_request(run_id="2026-10", meter_id="mtr-v2",
                                             period="2026-10", reply_to=READINGS_URL,
                                             now=LATE_RUN, ttl=timedelta(hours=1))
    body = server_crypto.envelope_to_bytes(server_crypto.seal(
        payload, msg_type="read_request",
        recipient_pub=meter_crypto.public_key_bytes(meter.config.private_key),
        sender_priv=server_key, sender_id="server"))
    meter.handle_read_request(body, {}, now=LATE_RUN)
    assert opened(meter, server_key)["v"] == 1


# ---------------------------------------------------------------- trust


def header(endorsements: list[Any] = (), revocations: list[Any] = ()) -> dict[str, str]:  # type: ignore[assignment]
    return {"X-Server-Key-Endorsements": server_crypto.encode_statements_header(
        list(endorsements), list(revocations))}


def test_a_root_endorsed_key_is_followed_after_a_rotation(tmp_path, server_key, root_key):
    meter = v2_meter(tmp_path, server_key, root_key)
    new_key = server_crypto.generate_private_key()
    endorsement = server_crypto.make_endorsement(
        root_key, new_key, replaces_key_id=server_crypto.key_id(server_key),
        replaces_until=LATE_RUN + timedelta(days=7), issued_at=LATE_RUN - timedelta(hours=1))
    _, body = v2_request(meter, new_key)
    assert meter.handle_read_request(body, header([endorsement]), now=LATE_RUN)[0] == 202
    assert [k.key_id for k in meter.state.server_keys] == [
        server_crypto.key_id(new_key), server_crypto.key_id(server_key)]
    # readings now go to the new key; the old key keeps working until replaces_until
    assert opened(meter, new_key)["source"] == "snapshot"
    _, old_signed = v2_request(meter, server_key, now=LATE_RUN + timedelta(days=1))
    assert meter.handle_read_request(old_signed, {}, now=LATE_RUN + timedelta(days=1))[0] == 202
    _, too_late = v2_request(meter, server_key, now=LATE_RUN + timedelta(days=8))
    assert meter.handle_read_request(too_late, {}, now=LATE_RUN + timedelta(days=8))[0] == 400


def test_a_key_endorsed_by_a_stolen_server_key_cannot_capture_the_meter(
        tmp_path, server_key, root_key):
    """Whoever holds the online server key signs an endorsement of a key of their own: the
    meter ignores it (not a root signature), keeps encrypting to the real key, and refuses
    the attacker's requests."""
    meter = v2_meter(tmp_path, server_key, root_key)
    attacker = server_crypto.generate_private_key()
    forged = server_crypto.make_endorsement(
        server_key, attacker, replaces_key_id=server_crypto.key_id(server_key),
        replaces_until=LATE_RUN + timedelta(days=30), issued_at=LATE_RUN)
    claiming_root = dict(forged, signer_key_id=server_crypto.key_id(root_key))
    for statement in (forged, claiming_root):
        _, body = v2_request(meter, attacker)
        status, _ = meter.handle_read_request(body, header([statement]), now=LATE_RUN)
        assert status == 400
        assert [k.key_id for k in meter.state.server_keys] == [server_crypto.key_id(server_key)]
    assert posts(meter) == [] and meter.state.counter == 0
    # ... and the real server is still answered, encrypted to the real key
    _, genuine = v2_request(meter, server_key)
    assert meter.handle_read_request(genuine, header([forged]), now=LATE_RUN)[0] == 202
    assert opened(meter, server_key)["source"] == "snapshot"


def test_a_revoked_server_key_is_refused_at_once(tmp_path, server_key, root_key):
    meter = v2_meter(tmp_path, server_key, root_key)
    new_key = server_crypto.generate_private_key()
    endorsement = server_crypto.make_endorsement(
        root_key, new_key, replaces_key_id=server_crypto.key_id(server_key),
        replaces_until=LATE_RUN + timedelta(days=7), issued_at=LATE_RUN - timedelta(hours=2))
    _, body = v2_request(meter, new_key)
    assert meter.handle_read_request(body, header([endorsement]), now=LATE_RUN)[0] == 202
    # the old key leaks: the root revokes it, well inside its grace period
    revocation = server_crypto.make_revocation(root_key, server_crypto.key_id(server_key),
                                               issued_at=LATE_RUN)
    _, by_new = v2_request(meter, new_key)
    assert meter.handle_read_request(by_new, header([endorsement], [revocation]),
                                     now=LATE_RUN)[0] == 202
    assert meter.state.revoked_key_ids == [server_crypto.key_id(server_key)]
    _, by_old = v2_request(meter, server_key)
    assert meter.handle_read_request(by_old, {}, now=LATE_RUN)[0] == 400
    assert meter.state.last_error == "bad_signature"
    # a later endorsement of the revoked key is ignored for good
    again = server_crypto.make_endorsement(
        root_key, server_key, replaces_key_id=server_crypto.key_id(new_key),
        replaces_until=LATE_RUN + timedelta(days=1), issued_at=LATE_RUN + timedelta(minutes=1))
    ignored = meter.apply_statements(header([again])["X-Server-Key-Endorsements"],
                                     LATE_RUN + timedelta(minutes=2))
    assert ignored == [[0, "key_revoked"]]


def test_a_malformed_statement_header_is_refused_and_changes_nothing(
        tmp_path, server_key, root_key):
    meter = v2_meter(tmp_path, server_key, root_key)
    _, body = v2_request(meter, server_key)
    status, answer = meter.handle_read_request(
        body, {"X-Server-Key-Endorsements": "not~base64"}, now=LATE_RUN)
    assert (status, answer) == (400, {"error": "rejected"})
    assert meter.state.last_error == "bad_statement" and posts(meter) == []


# ---------------------------------------------------------------- clock and counter


def test_a_slow_clock_is_moved_forward_by_an_authentic_request_never_back(tmp_path,
                                                                         server_key):
    meter = v2_meter(tmp_path, server_key)
    _, body = v2_request(meter, server_key, now=LATE_RUN)
    # the meter's clock is 40 minutes slow: the request looks issued in its future
    assert meter.handle_read_request(body, {}, now=LATE_RUN - timedelta(minutes=40))[0] == 202
    assert meter.state.clock_offset_seconds == 40 * 60
    # an older (but still valid) request does not move it back
    _, older = v2_request(meter, server_key, now=LATE_RUN - timedelta(minutes=30))
    assert meter.handle_read_request(older, {}, now=LATE_RUN)[0] == 202
    assert meter.state.clock_offset_seconds == 40 * 60


def test_an_error_answer_carries_no_counter_and_consumes_none(tmp_path, server_key):
    meter = v2_meter(tmp_path, server_key, behaviour="error")
    _, body = v2_request(meter, server_key)
    meter.handle_read_request(body, {}, now=LATE_RUN)
    error = server_crypto.open_envelope(
        posts(meter)[-1][1], recipient_priv=server_key,
        sender_pub=meter_crypto.public_key_bytes(meter.config.private_key))
    assert error.msg_type == "error" and error.payload["v"] == 2
    assert "counter" not in error.payload and meter.state.counter == 0
    meter.configure({"behaviour": "normal"})
    _, body = v2_request(meter, server_key)
    meter.handle_read_request(body, {}, now=LATE_RUN)
    assert opened(meter, server_key)["counter"] == 1  # the first counter value is 1
    assert json.loads((tmp_path / "V2-1.json").read_text())["counter"] == 1
