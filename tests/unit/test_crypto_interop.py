"""Round trips between the server (coincurve/cryptography) and meter (ecdsa/pyaes) code."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

import device_client.crypto as meter
import functions.core.crypto as server
from functions.core.crypto import primitives as server_primitives

NOW = datetime(2025, 2, 1, 0, 0, tzinfo=UTC)
METER_ID = "MTR-000042"


@pytest.fixture
def keys() -> dict[str, str]:
    """Fresh random keys (hex) for every test, so the round trips are not tied to vectors."""
    return {role: os.urandom(32).hex() for role in ("server", "server_old", "meter", "other")}


def _request(meter_id: str = METER_ID) -> server.ReadRequest:
    return server.new_read_request(
        run_id="run-2025-01",
        meter_id=meter_id,
        period="2025-01",
        reply_to="http://127.0.0.1:8000/device/readings",
        now=NOW,
        ttl=timedelta(hours=24),
    )


def _server_seals_request(keys: dict[str, str], request: Any) -> bytes:
    envelope = server.seal(
        request,
        msg_type="read_request",
        recipient_pub=meter.public_key_bytes(meter.load_private_key(keys["meter"])),
        sender_priv=server.load_private_key(keys["server"]),
        sender_id=server.SERVER_SENDER_ID,
    )
    return server.envelope_to_bytes(envelope)


def _meter_answers(keys: dict[str, str], body: bytes, counter: int) -> bytes:
    meter_key = meter.load_private_key(keys["meter"])
    server_pub = meter.load_public_key_b64(
        server.public_key_b64(server.load_private_key(keys["server"]))
    )
    opened = meter.open_envelope(
        body, recipient_priv=meter_key, sender_pub=server_pub, expect_type="read_request"
    )
    meter.check_read_request(opened.payload, meter_id=METER_ID, now=NOW + timedelta(seconds=3))
    reading = meter.make_reading(
        opened.payload, counter=counter, register_wh=987_654, read_at=NOW + timedelta(seconds=3)
    )
    envelope = meter.seal(
        reading,
        msg_type="reading",
        recipient_pub=server_pub,
        sender_priv=meter_key,
        sender_id=METER_ID,
    )
    return meter.envelope_to_bytes(envelope)


def test_full_exchange_server_to_meter_and_back(keys: dict[str, str]) -> None:
    request = _request()
    reading_body = _meter_answers(keys, _server_seals_request(keys, request), counter=8)

    envelope = server.parse_envelope(reading_body)
    assert envelope.sender == METER_ID  # the id the server looks the key up by
    message = server.open_envelope(
        envelope,
        recipient_priv=server.load_private_key(keys["server"]),
        sender_pub=server.public_key_bytes(server.load_private_key(keys["meter"])),
        expect_type=server.METER_MESSAGE_TYPES,
    )
    assert message.msg_type == "reading"
    assert message.payload["nonce"] == request["nonce"]
    assert message.payload["register_wh"] == 987_654
    server.check_reading(
        message.payload, request=request, now=NOW + timedelta(seconds=5), last_counter=7
    )


def test_server_to_server_and_meter_to_meter_round_trips(keys: dict[str, str]) -> None:
    request = _request()
    body = _server_seals_request(keys, request)
    opened = server.open_envelope(
        body,
        recipient_priv=server.load_private_key(keys["meter"]),
        sender_pub=server.public_key_bytes(server.load_private_key(keys["server"])),
    )
    assert opened.payload == request

    error = meter.make_error(request["nonce"], meter_id=METER_ID, code="busy", message="é ₹")
    meter_key = meter.load_private_key(keys["meter"])
    sealed = meter.seal(
        error,
        msg_type="error",
        recipient_pub=meter.public_key_bytes(meter_key),
        sender_priv=meter_key,
        sender_id=METER_ID,
    )
    back = meter.open_envelope(sealed, recipient_priv=meter_key, sender_pub=meter_key.verifying_key)
    assert back.payload == error


def test_error_from_meter_is_read_by_server(keys: dict[str, str]) -> None:
    error = meter.make_error(
        "A" * 43, meter_id=METER_ID, code="register_unavailable", message="no answer"
    )
    meter_key = meter.load_private_key(keys["meter"])
    sealed = meter.seal(
        error,
        msg_type="error",
        recipient_pub=server.public_key_bytes(server.load_private_key(keys["server"])),
        sender_priv=meter_key,
        sender_id=METER_ID,
    )
    message = server.open_envelope(
        sealed,
        recipient_priv=server.load_private_key(keys["server"]),
        sender_pub=meter.public_key_bytes(meter_key),
        expect_type=server.METER_MESSAGE_TYPES,
    )
    assert message.msg_type == "error"
    assert message.payload == error


def test_each_seal_uses_fresh_ephemeral_key_and_iv(keys: dict[str, str]) -> None:
    request = _request()
    first = server.parse_envelope(_server_seals_request(keys, request))
    second = server.parse_envelope(_server_seals_request(keys, request))
    assert first.epk != second.epk
    assert first.iv != second.iv
    assert first.ct != second.ct


def test_signatures_are_identical_in_both_implementations() -> None:
    """RFC 6979 + low-S: same key and message give the same 64 bytes on both sides."""
    high_s_seen = 0
    for index in range(64):
        secret = hashlib.sha256(b"sig %d" % index).digest()
        message = os.urandom(index * 7)
        ours = server_primitives.sign_compact(server.load_private_key(secret), message)
        theirs = meter.sign_compact(meter.load_private_key(secret), message)
        assert ours == theirs
        assert int.from_bytes(ours[32:], "big") <= server_primitives.HALF_ORDER
        raw = meter.load_private_key(secret).sign_deterministic(
            message, hashfunc=hashlib.sha256, sigencode=lambda r, s, order: (r, s)
        )
        high_s_seen += raw[1] > server_primitives.HALF_ORDER
    assert high_s_seen > 0, "the low-S normalisation was never exercised"


def test_ecdh_agrees_across_three_libraries() -> None:
    for _ in range(16):
        a, b = os.urandom(32).hex(), os.urandom(32).hex()
        b_pub = server.public_key_bytes(server.load_private_key(b))
        ours = server_primitives.ecdh_x(server.load_private_key(a), server.load_public_key(b_pub))
        theirs = meter.ecdh_x(
            meter.load_private_key(a).privkey.secret_multiplier, meter.load_public_key(b_pub)
        )
        openssl = ec.derive_private_key(int(a, 16), ec.SECP256K1()).exchange(
            ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), b_pub)
        )
        assert ours == theirs == openssl


# ---------------------------------------------------------------- key rotation


def test_meter_accepts_previous_server_key_during_grace(keys: dict[str, str]) -> None:
    old_server = server.load_private_key(keys["server_old"])
    new_pub = server.public_key_bytes(server.load_private_key(keys["server"]))
    old_pub = server.public_key_bytes(old_server)
    meter_key = meter.load_private_key(keys["meter"])
    signed_with_old = server.seal(
        _request(),
        msg_type="read_request",
        recipient_pub=meter.public_key_bytes(meter_key),
        sender_priv=old_server,
        sender_id=server.SERVER_SENDER_ID,
    )
    opened = meter.open_envelope(
        signed_with_old, recipient_priv=meter_key, sender_pub=[new_pub, old_pub]
    )
    assert opened.sender_key_index == 1
    with pytest.raises(meter.BadSignature):
        meter.open_envelope(signed_with_old, recipient_priv=meter_key, sender_pub=[new_pub])


def test_server_decrypts_readings_sent_to_its_previous_key(keys: dict[str, str]) -> None:
    new_key = server.load_private_key(keys["server"])
    old_key = server.load_private_key(keys["server_old"])
    meter_key = meter.load_private_key(keys["meter"])
    reading = meter.make_reading(
        dict(_request()), counter=1, register_wh=5, read_at=NOW + timedelta(seconds=1)
    )
    to_old_key = meter.seal(
        reading,
        msg_type="reading",
        recipient_pub=server.public_key_bytes(old_key),
        sender_priv=meter_key,
        sender_id=METER_ID,
    )
    meter_pub = meter.public_key_bytes(meter_key)
    message = server.open_envelope(
        to_old_key, recipient_priv=[new_key, old_key], sender_pub=meter_pub
    )
    assert message.recipient_key_id == server.key_id(old_key)
    with pytest.raises(server.BadMac) as caught:
        server.open_envelope(to_old_key, recipient_priv=[new_key], sender_pub=meter_pub)
    assert caught.value.reason == "unknown_recipient"
