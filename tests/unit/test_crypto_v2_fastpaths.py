"""Protocol v2 shortcuts of the server (canonical v2 reading, canonical v2 read request,
envelope v 2) give exactly what the general definitions give, on valid inputs and on many
corrupted ones; and the version rules (payload v = envelope v) hold on both paths."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import device_client.crypto as meter
import functions.core.crypto as server
from functions.core.crypto import encoding, payloads
from tests.unit.test_crypto_fastpaths import FULLWIDTH_TWO, _mutate_text

NOW = datetime(2025, 2, 3, 4, 30, tzinfo=UTC)
BILLING_AT = datetime(2025, 1, 31, 18, 30, tzinfo=UTC)


def _request() -> dict[str, Any]:
    return dict(server.new_read_request(
        run_id="2025-01", meter_id="mtr-00000000000000a1", period="2025-01",
        reply_to="https://api.example/v1/device/readings", now=NOW, ttl=timedelta(hours=6),
        billing_at=BILLING_AT))


def _reading(zones: list[int] | None = None, counter: int = 7) -> dict[str, Any]:
    request = _request()
    return meter.make_reading_v2(
        request, counter=counter, read_at=NOW + timedelta(seconds=2), source="snapshot",
        snapshot_at=BILLING_AT, import_wh=sum(zones or [10, 20, 30, 40]), export_wh=5,
        tod_wh=zones or [10, 20, 30, 40], md_w=4_000, md_at=BILLING_AT - timedelta(days=3))


def _general(plaintext: bytes) -> dict[str, Any] | str:
    try:
        payload = encoding.strict_json_object(plaintext, what="payload")
        server.validate_payload("reading", payload, 2)
    except server.CryptoError as error:
        return error.reason
    return payload


def test_canonical_v2_reading_shortcut_agrees_with_strict_parsing_and_the_schema() -> None:
    rng = random.Random(2025)
    texts = [server.canonical_json(_reading(z)).decode()
             for z in ([0], [1, 2, 3, 4], list(range(1, 9)), [2**53 - 1])]
    for text in texts:
        assert payloads.parse_canonical_reading_v2(text.encode()) == json.loads(text)
    edges = [
        texts[1].replace('"tod_wh":[1,2,3,4]', '"tod_wh":[]'),
        texts[1].replace('"tod_wh":[1,2,3,4]', '"tod_wh":[1,2,3,4,5,6,7,8,9]'),
        texts[1].replace('"tod_wh":[1,2,3,4]', '"tod_wh":[1,-2,3,4]'),
        texts[1].replace('"tod_wh":[1,2,3,4]', '"tod_wh":[01,2,3,4]'),
        texts[1].replace('"source":"snapshot"', '"source":"estimate"'),
        texts[1].replace("2025-01-31T18:30:00Z", "2025-02-30T18:30:00Z"),
        texts[1].replace("2025-01-31T18:30:00Z", f"{FULLWIDTH_TWO}025-01-31T18:30:00Z"),
        texts[1].replace('"v":2', '"v":1'),
        texts[3].replace("9007199254740991", "9007199254740992"),
    ]
    taken = 0
    for text in edges + [_mutate_text(rng, rng.choice(texts)) for _ in range(4_000)]:
        plaintext = text.encode("utf-8", "surrogatepass")
        fast = payloads.parse_canonical_reading_v2(plaintext)
        if fast is not None:
            taken += 1
            assert fast == _general(plaintext), text
    assert taken > 100


def test_canonical_v2_read_request_agrees_with_validation_and_canonical_json() -> None:
    rng = random.Random(2026)
    base = _request()
    assert payloads.canonical_read_request(base) == server.canonical_json(base)
    taken = 0
    for _ in range(4_000):
        request = dict(base)
        name = rng.choice([*base, "extra"])
        if rng.random() < 0.1:
            request.pop(name, None)
        else:
            request[name] = _mutate_text(rng, str(request.get(name, "x")))
        fast = payloads.canonical_read_request(request)
        try:
            server.validate_payload("read_request", request)
            general: bytes | None = server.canonical_json(request)
        except server.CryptoError:
            general = None
        if fast is not None:
            taken += 1
            assert fast == general, request
    assert taken > 300


@pytest.mark.parametrize("impl", [server, meter], ids=["server", "meter"])
def test_a_v2_envelope_round_trips_and_the_versions_must_agree(impl: Any) -> None:
    server_key = impl.generate_private_key()
    meter_key = impl.generate_private_key()
    reading = _reading()
    wire = impl.seal(reading, msg_type="reading", recipient_pub=impl.public_key_bytes(server_key),
                     sender_priv=meter_key, sender_id=reading["meter_id"])
    assert wire["v"] == 2
    opened = impl.open_envelope(impl.envelope_to_bytes(wire), recipient_priv=server_key,
                                sender_pub=impl.public_key_bytes(meter_key))
    assert opened.payload == reading
    with pytest.raises(impl.UnsupportedVersion):
        impl.validate_payload("reading", reading, 1)
    with pytest.raises(impl.InvalidPayload) as caught:
        impl.validate_payload("reading", {**reading, "source": "estimate"})
    assert caught.value.reason == "payload_bad_field"
    with pytest.raises(impl.InvalidPayload) as caught:
        impl.validate_payload("reading", {**reading, "register_wh": 1})
    assert caught.value.reason == "payload_unknown_field"
