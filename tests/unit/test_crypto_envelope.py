"""Envelope details: fast paths equal the canonical definition, input forms, robustness."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

import device_client.crypto as meter
import functions.core.crypto as server
from functions.core.crypto import envelope as server_envelope

IMPLS = pytest.mark.parametrize("impl", [server, meter], ids=["server", "meter"])
SERVER_HEX = "5a" * 32
METER_HEX = "a5" * 32
METER_ID = "MTR-000777"
READING: dict[str, Any] = {
    "v": 1,
    "nonce": server.b64u_encode(bytes(32)),
    "run_id": "run-3",
    "meter_id": METER_ID,
    "counter": 1,
    "register_wh": 0,
    "read_at": "2025-02-01T00:00:00Z",
}


def _wire() -> dict[str, Any]:
    return server.seal(
        READING,
        msg_type="reading",
        recipient_pub=server.public_key_bytes(server.load_private_key(SERVER_HEX)),
        sender_priv=server.load_private_key(METER_HEX),
        sender_id=METER_ID,
    )


def _open(impl: Any, data: Any) -> Any:
    return impl.open_envelope(
        data,
        recipient_priv=impl.load_private_key(SERVER_HEX),
        sender_pub=impl.public_key_bytes(impl.load_private_key(METER_HEX)),
    )


def test_server_templates_equal_canonical_json() -> None:
    """The server builds signed bytes and SharedInfo from templates for speed."""
    wire = _wire()
    assert server_envelope._signed_bytes_of_checked(wire) == server_envelope.signed_bytes(wire)
    assert server.parse_envelope(server.envelope_to_bytes(wire)).signed == (
        server.canonical_json({k: v for k, v in wire.items() if k != "sig"})
    )
    for msg_type in server.MESSAGE_TYPES:
        for sender in ("server", "MTR-0.1:x_y-z"):
            expected = server.canonical_json(
                {"v": 1, "type": msg_type, "sender": sender, "rcpt": "0123456789abcdef"}
            )
            assert server_envelope.shared_info(msg_type, sender, "0123456789abcdef") == expected
            assert meter._shared_info(msg_type, sender, "0123456789abcdef") == expected


def test_parse_envelope_decodes_every_field() -> None:
    wire = _wire()
    envelope = server.parse_envelope(server.envelope_to_bytes(wire))
    assert (envelope.msg_type, envelope.sender) == ("reading", METER_ID)
    assert envelope.rcpt == server.key_id(server.load_private_key(SERVER_HEX))
    assert (len(envelope.epk), len(envelope.iv), len(envelope.mac), len(envelope.sig)) == (
        33,
        16,
        32,
        64,
    )
    assert len(envelope.ct) % 16 == 0
    assert server.envelope_to_bytes(wire) == server.canonical_json(wire)


@IMPLS
def test_receivers_accept_any_json_formatting_and_parsed_bodies(impl: Any) -> None:
    wire = _wire()
    pretty = json.dumps(wire, indent=4, sort_keys=False).encode()
    assert _open(impl, pretty).payload == READING
    assert _open(impl, pretty.decode()).payload == READING
    assert _open(impl, dict(reversed(list(wire.items())))).payload == READING


def _outcome(impl: Any, data: Any) -> str:
    try:
        return repr(_open(impl, data).payload)
    except impl.CryptoError as error:
        return error.reason


def test_random_corruption_gets_the_same_verdict_from_both_implementations() -> None:
    """Differential fuzz: flipped bytes and truncation; only CryptoError may escape."""
    rng = random.Random(20250201)
    wire = _wire()
    reasons = set()
    for _ in range(300):
        mutated = _mutate_bytes(rng, server.envelope_to_bytes(wire))
        if rng.random() < 0.6:
            mutated = server.envelope_to_bytes(_mutate_field(rng, wire))
        verdict = _outcome(server, mutated)
        assert verdict == _outcome(meter, mutated), mutated
        reasons.add(verdict)
    assert len(reasons) >= 6  # the mutations reached many different checks


def _mutate_bytes(rng: random.Random, body: bytes) -> bytes:
    mutated = bytearray(body)
    for _ in range(rng.randint(1, 3)):
        mutated[rng.randrange(len(mutated))] = rng.randrange(256)
    if rng.random() < 0.2:
        mutated = mutated[: rng.randrange(len(mutated))]
    return bytes(mutated)


def _mutate_field(rng: random.Random, wire: dict[str, Any]) -> dict[str, Any]:
    """Change one character of one field value, mostly within the base64url alphabet."""
    field = rng.choice(["epk", "iv", "ct", "mac", "sig", "rcpt", "sender", "type"])
    value = wire[field]
    position = rng.randrange(len(value))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    char = rng.choice(alphabet + "=+/ .é")
    if rng.random() < 0.1:
        return {**wire, field: value[:position]}
    return {**wire, field: value[:position] + char + value[position + 1 :]}


@IMPLS
def test_type_confusion_only_ever_raises_crypto_errors(impl: Any) -> None:
    wire = _wire()
    oddities: list[Any] = [None, 0, -1, 2**80, "", [], {}, ["a"], {"a": 1}, True, "é" * 40]
    for field in wire:
        for odd in oddities:
            with pytest.raises(impl.CryptoError):
                _open(impl, {**wire, field: odd})
