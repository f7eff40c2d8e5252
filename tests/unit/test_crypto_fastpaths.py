"""The server's shortcuts give exactly what the general definitions give, and refuse alike.

Each shortcut (canonical envelope, canonical reading, canonical read request, template
envelope bytes, base64url without re-encoding, HMAC over hashlib, the JSON scanner) is
compared with its general path on valid inputs and on many corrupted ones.
"""

from __future__ import annotations

import binascii
import hmac
import json
import os
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

import functions.core.crypto as server
from functions.core.crypto import encoding, envelope, payloads, primitives

SERVER_HEX = "44" * 32
METER_HEX = "55" * 32
METER_ID = "MTR-000042"
NOW = datetime(2025, 2, 1, tzinfo=UTC)
B64U_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Characters that reach different checks: structure, escapes, other alphabets, Unicode.
FULLWIDTH_TWO = "\uff12"  # a Unicode digit: the regex class \\d matches it
ODD_CHARACTERS = [*'"\\{}[],: =+/.\x00\x1f\x7fé\u2028', FULLWIDTH_TWO, "\ud800", "😀"]


def _request(meter_id: str = METER_ID) -> server.ReadRequest:
    return server.new_read_request(
        run_id="run-7",
        meter_id=meter_id,
        period="2025-01",
        reply_to="https://api.example/v1/device/readings",
        now=NOW,
        ttl=timedelta(hours=6),
    )


def _reading(counter: int = 7) -> dict[str, Any]:
    request = _request()
    return {
        "v": 1,
        "nonce": request["nonce"],
        "run_id": request["run_id"],
        "meter_id": METER_ID,
        "counter": counter,
        "register_wh": 123_456,
        "read_at": "2025-02-01T00:00:05Z",
    }


def _sealed_reading_wire() -> dict[str, Any]:
    return server.seal(
        _reading(),
        msg_type="reading",
        recipient_pub=server.public_key_bytes(server.load_private_key(SERVER_HEX)),
        sender_priv=server.load_private_key(METER_HEX),
        sender_id=METER_ID,
    )


def _mutate_text(rng: random.Random, text: str) -> str:
    """One to three character changes, mostly within the base64url alphabet, or a cut."""
    chars = list(text)
    for _ in range(rng.randint(1, 3)):
        position = rng.randrange(len(chars))
        if rng.random() < 0.7:
            chars[position] = rng.choice(B64U_ALPHABET)
        else:
            chars[position] = rng.choice(ODD_CHARACTERS)
    if rng.random() < 0.1:
        del chars[rng.randrange(len(chars)) :]
    return "".join(chars)


# ---------------------------------------------------------------- base64url


def _b64u_by_reencoding(text: str) -> bytes | None:
    """The definition: decode, then accept only if re-encoding gives the text back."""
    try:
        encoded = text.encode("ascii")
        padded = encoded.translate(bytes.maketrans(b"-_", b"+/")) + b"=" * (-len(encoded) % 4)
        data = binascii.a2b_base64(padded, strict_mode=True)
    except (binascii.Error, ValueError):
        return None
    return data if server.b64u_encode(data).encode() == encoded else None


def test_b64u_decode_accepts_exactly_the_canonical_texts() -> None:
    rng = random.Random(401)
    accepted = 0
    for _ in range(20_000):
        text = server.b64u_encode(os.urandom(rng.randrange(0, 40)))
        if text and rng.random() < 0.8:
            text = _mutate_text(rng, text)
        expected = _b64u_by_reencoding(text)
        try:
            decoded: bytes | None = server.b64u_decode(text, field="x")
        except server.MalformedEnvelope:
            decoded = None
        assert decoded == expected, text
        assert encoding.b64u_decode_all(text) == (None if expected is None else [expected])
        accepted += expected is not None
    assert accepted > 2_000  # both outcomes were exercised


def test_b64u_decode_all_fails_if_any_text_fails() -> None:
    good = server.b64u_encode(b"abc")
    assert encoding.b64u_decode_all(good, good) == [b"abc", b"abc"]
    for bad in ("QQ=", "QR", "Q", "Q+", "é", "QUJD\n"):
        assert encoding.b64u_decode_all(good, bad) is None


# ---------------------------------------------------------------- envelope parsing


def _general_parse(text: str) -> server.Envelope | str:
    """parse_envelope's general path (strict JSON, header checks, field decoding)."""
    try:
        wire = encoding.strict_json_object(text, what="envelope")
        envelope._check_version_and_fields(wire)
        return envelope._decode_fields(wire)
    except server.CryptoError as error:
        return error.reason


def _same_envelope(fast: server.Envelope, general: server.Envelope) -> bool:
    """Equal fields; the parsed ephemeral keys are distinct objects for the same point."""
    def fields(env: server.Envelope) -> tuple[Any, ...]:
        return (*env[:4], env.epk_key.format(), *env[5:])

    return fields(fast) == fields(general)


def test_canonical_envelope_shortcut_is_taken_and_agrees_with_the_general_path() -> None:
    text = server.envelope_to_bytes(_sealed_reading_wire()).decode()
    fast = envelope._parse_canonical(text)
    general = _general_parse(text)
    assert fast is not None and isinstance(general, server.Envelope)
    assert _same_envelope(fast, general)
    assert server.parse_envelope(text.encode()) == fast


def test_canonical_envelope_shortcut_never_accepts_what_the_general_path_refuses() -> None:
    rng = random.Random(402)
    wire = _sealed_reading_wire()
    text = server.envelope_to_bytes(wire).decode()
    shortcut_taken = 0
    for _ in range(3_000):
        mutated = _mutate_text(rng, text)
        fast = envelope._parse_canonical(mutated)
        general = _general_parse(mutated)
        if fast is not None:
            shortcut_taken += 1
            assert isinstance(general, server.Envelope), (mutated, general)
            assert _same_envelope(fast, general)
        # Whatever path it takes, parse_envelope's verdict is the general one.
        try:
            verdict: Any = server.parse_envelope(mutated)
        except server.CryptoError as error:
            verdict = error.reason
        if isinstance(general, str):
            assert verdict == general, mutated
        else:
            assert _same_envelope(verdict, general)
    assert shortcut_taken > 100


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("epk", "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAF"),  # not on the curve
        ("epk", "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAF"),  # prefix 0x04
        ("iv", "AAAAAAAAAAAAAAAAAAAAAA"[:-2]),  # 15 bytes
        ("ct", "AAAAAAAAAAAAAAAAAAAAAB"),  # 16 bytes, but trailing bits set
        ("ct", "AAAAAAAAAAAAAAAAAAAAAAAA"),  # 18 bytes, not whole blocks
        ("ct", "A" * 5489),  # longer than any plaintext allows
        ("sig", "A" * 85 + "B"),  # trailing bits set
        ("sender", "-bad"),
        ("rcpt", "ABCDEF0123456789"),
        ("type", "read_requests"),
    ],
)
def test_canonical_form_with_one_bad_field_gets_the_general_reason(field: str, value: str) -> None:
    wire = {**_sealed_reading_wire(), field: value}
    text = server.envelope_to_bytes(wire).decode()
    assert envelope._parse_canonical(text) is None
    reason = _general_parse(text)
    assert isinstance(reason, str)
    with pytest.raises(server.CryptoError) as caught:
        server.parse_envelope(text)
    assert caught.value.reason == reason


# ---------------------------------------------------------------- payloads


def _general_reading(plaintext: bytes) -> dict[str, Any] | str:
    try:
        payload = encoding.strict_json_object(plaintext, what="payload")
        server.validate_payload("reading", payload)
    except server.CryptoError as error:
        return error.reason
    return payload


def test_canonical_reading_shortcut_agrees_with_strict_parsing_and_the_schema() -> None:
    rng = random.Random(403)
    texts = [server.canonical_json(_reading(counter)).decode() for counter in (0, 7, 2**53 - 1)]
    for text in texts:
        assert payloads.parse_canonical_reading(text.encode()) == json.loads(text)
    edge_cases = [
        texts[0].replace('"counter":0', '"counter":9007199254740992'),  # above 2**53 - 1
        texts[0].replace('"counter":0', '"counter":-0'),
        texts[0].replace('"counter":0', '"counter":00'),
        texts[0].replace("2025-02-01T00:00:05Z", "2025-02-30T00:00:05Z"),
        texts[0].replace("2025-02-01T00:00:05Z", f"{FULLWIDTH_TWO}025-02-01T00:00:05Z"),
        texts[0].replace('"v":1', '"v":2'),
        texts[0] + " ",
    ]
    shortcut_taken = 0
    for text in edge_cases + [_mutate_text(rng, rng.choice(texts)) for _ in range(3_000)]:
        plaintext = text.encode("utf-8", "surrogatepass")
        fast = payloads.parse_canonical_reading(plaintext)
        general = _general_reading(plaintext)
        if fast is not None:
            shortcut_taken += 1
            assert fast == general, text
        # (where the shortcut declines, open_envelope takes the general path)
    assert shortcut_taken > 100


def _read_request_by_general_path(request: dict[str, Any]) -> bytes | None:
    try:
        server.validate_payload("read_request", request)
    except server.CryptoError:
        return None
    return server.canonical_json(request)


def test_canonical_read_request_agrees_with_validation_and_canonical_json() -> None:
    rng = random.Random(404)
    base = dict(_request())
    assert payloads.canonical_read_request(base) == server.canonical_json(base)
    shortcut_taken = 0
    for _ in range(5_000):
        request: dict[str, Any] = dict(base)
        name = rng.choice([*base, "extra"])
        roll = rng.random()
        if roll < 0.1:
            request.pop(name, None)
        elif roll < 0.25:
            request[name] = rng.choice([1, 2, True, None, 1.0, "1", 2**60, ["x"]])
        else:
            request[name] = _mutate_text(rng, str(request.get(name, "x")))
        fast = payloads.canonical_read_request(request)
        general = _read_request_by_general_path(request)
        if fast is not None:
            shortcut_taken += 1
            assert fast == general, request
        elif general is not None:  # declined a valid request: only to let JSON escape
            assert '"' in request["reply_to"] or "\\" in request["reply_to"]
    assert shortcut_taken > 500


def test_read_request_with_a_quote_in_reply_to_is_sealed_by_the_general_encoder() -> None:
    request = dict(_request())
    request["reply_to"] = 'https://api.example/readings?tag="a\\b"'
    assert payloads.canonical_read_request(request) is None
    plaintext = envelope._checked_plaintext(request, "read_request", "server")
    assert plaintext == server.canonical_json(request)
    assert json.loads(plaintext)["reply_to"] == request["reply_to"]


def test_encoding_a_validated_payload_equals_canonical_json() -> None:
    error = {"v": 1, "nonce": _request()["nonce"], "meter_id": METER_ID, "code": "x_y",
             "message": 'quote " backslash \\ é ₹'}
    for msg_type, payload in (("reading", _reading()), ("error", error),
                              ("read_request", dict(_request()))):
        server.validate_payload(msg_type, payload)
        assert encoding.encode_validated_flat(payload) == server.canonical_json(payload)


# ---------------------------------------------------------------- envelope bytes


def test_envelope_bytes_template_equals_canonical_json() -> None:
    wire = _sealed_reading_wire()
    assert server.envelope_to_bytes(wire) == server.canonical_json(wire)
    odd_wires: list[dict[str, Any]] = [
        {**wire, "v": True},
        {**wire, "v": 2},
        {**wire, "ct": 12},
        {**wire, "sender": 'MTR"1'},
        {**wire, "sender": "MTR\\1"},
        {**wire, "sender": "MÉTER"},
        {**wire, "extra": "x"},
    ]
    for odd in odd_wires:
        try:
            expected: Any = server.canonical_json(odd)
        except server.CryptoError as error:
            expected = error.reason
        try:
            got: Any = server.envelope_to_bytes(odd)
        except server.CryptoError as error:
            got = error.reason
        assert got == expected, odd


# ---------------------------------------------------------------- primitives


def test_hmac_sha256_equals_the_standard_library() -> None:
    rng = random.Random(405)
    for key_length in (0, 1, 31, 32, 33, 63, 64, 65, 100, 200):
        for _ in range(20):
            key = rng.randbytes(key_length)
            data = rng.randbytes(rng.randrange(0, 400))
            assert primitives.hmac_sha256(key, data) == hmac.digest(key, data, "sha256")


def test_aes_cbc_equals_the_public_cipher_api() -> None:
    """primitives creates cryptography's cipher contexts without Cipher(); same bytes."""
    rng = random.Random(406)
    for length in (0, 1, 15, 16, 17, 31, 32, 100, 176, 4096):
        for _ in range(10):
            key, iv, plaintext = rng.randbytes(32), rng.randbytes(16), rng.randbytes(length)
            padded = primitives.pkcs7_pad(plaintext)
            encryptor = Cipher(algorithms.AES256(key), modes.CBC(iv)).encryptor()
            expected = encryptor.update(padded) + encryptor.finalize()
            assert primitives.aes_cbc_encrypt(key, iv, plaintext) == expected
            assert primitives.aes_cbc_decrypt(key, iv, expected) == plaintext


def test_aes_cbc_refuses_a_wrong_key_or_iv_length() -> None:
    ciphertext = primitives.aes_cbc_encrypt(bytes(32), bytes(16), b"reading")
    with pytest.raises(ValueError):
        primitives.aes_cbc_decrypt(bytes(16), bytes(16), ciphertext)  # AES-128 key
    with pytest.raises(server.MalformedEnvelope):
        primitives.aes_cbc_decrypt(bytes(32), bytes(8), ciphertext)
    with pytest.raises(ValueError):
        primitives.aes_cbc_encrypt(bytes(32), bytes(15), b"reading")


def test_strict_json_object_direct_scan_behaves_like_the_decoder() -> None:
    assert encoding.strict_json_object(b'{"a":1}', what="x") == {"a": 1}
    assert encoding.strict_json_object(' \n{"a": [1, {"b": "c"}]}\t', what="x") == {
        "a": [1, {"b": "c"}]
    }
    for bad in ('{"a":1}x', '{"a":1} {}', '{"a":1,"a":2}', '{"a":1.0}', '{"a":NaN}',
                "[1]", '"x"', "", " ", b'{"a":"\xff"}', '{"a":"\x01"}'):
        with pytest.raises(server.MalformedEnvelope) as caught:
            encoding.strict_json_object(bad, what="x")
        assert caught.value.reason == "bad_json"


def test_public_signature_helpers_sign_and_verify_low_s_compact_signatures() -> None:
    key = server.load_private_key(SERVER_HEX)
    other = server.load_private_key(METER_HEX)
    message = server.canonical_json({"type": "server_key_endorsement", "v": 1})
    signature = server.sign_compact(key, message)
    assert len(signature) == 64
    assert server.sign_compact(key, message) == signature  # RFC 6979: deterministic
    assert server.verify_compact(key.public_key, signature, message)
    assert not server.verify_compact(other.public_key, signature, message)
    assert not server.verify_compact(key.public_key, signature, message + b" ")
    r, s = signature[:32], int.from_bytes(signature[32:], "big")
    high_s = r + (primitives.CURVE_ORDER - s).to_bytes(32, "big")
    assert not server.verify_compact(key.public_key, high_s, message)
    for wrong_length in (b"", signature[:63], signature + b"\x00"):
        assert not server.verify_compact(key.public_key, wrong_length, message)


def test_own_key_ids_are_remembered_per_key_object_and_forgotten_with_it() -> None:
    key = server.generate_private_key()
    rcpt = server.key_id(key)
    assert envelope._select_recipient(rcpt, [server.load_private_key(SERVER_HEX), key]) is key
    assert envelope._OWN_KEY_IDS[id(key)] == rcpt
    address = id(key)
    del key
    assert address not in envelope._OWN_KEY_IDS


def test_seal_to_bytes_gives_the_canonical_wire_bytes_of_a_sealed_envelope() -> None:
    server_key = server.load_private_key(SERVER_HEX)
    meter_key = server.load_private_key(METER_HEX)
    request = _request()
    body = server.seal_to_bytes(
        request,
        msg_type="read_request",
        recipient_pub=server.public_key_bytes(meter_key),
        sender_priv=server_key,
        sender_id=server.SERVER_SENDER_ID,
    )
    assert server.canonical_json(json.loads(body)) == body
    opened = server.open_envelope(
        body, recipient_priv=meter_key, sender_pub=server_key.public_key,
        expect_type="read_request",
    )
    assert opened.payload == request
