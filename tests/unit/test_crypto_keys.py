"""Key generation, formats and public key validation, on both implementations."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from coincurve import PublicKey
from cryptography.hazmat.primitives.asymmetric import ec

import device_client.crypto as meter
import functions.core.crypto as server
from functions.core.crypto.primitives import CURVE_ORDER

IMPLS = pytest.mark.parametrize("impl", [server, meter], ids=["server", "meter"])
FIELD_PRIME = 2**256 - 2**32 - 977


@IMPLS
def test_generated_keys_round_trip_through_hex_and_base64url(impl: Any) -> None:
    key = impl.generate_private_key()
    for text in (impl.private_key_hex(key), impl.private_key_b64(key)):
        again = impl.load_private_key(text)
        assert impl.public_key_bytes(again) == impl.public_key_bytes(key)
    assert len(impl.private_key_hex(key)) == 64
    assert len(impl.private_key_b64(key)) == 43


@IMPLS
def test_public_key_format_and_key_id(impl: Any) -> None:
    key = impl.generate_private_key()
    public = impl.public_key_bytes(key)
    assert len(public) == 33 and public[0] in (2, 3)
    assert impl.public_key_bytes(impl.load_public_key(public)) == public
    assert impl.public_key_bytes(impl.load_public_key_b64(impl.public_key_b64(key))) == public
    assert re.fullmatch(r"[0-9a-f]{16}", impl.key_id(key))
    assert impl.key_id(key) == impl.key_id(public)


def test_both_implementations_derive_the_same_public_key() -> None:
    for _ in range(8):
        secret = os.urandom(32).hex()
        theirs = meter.public_key_bytes(meter.load_private_key(secret))
        assert server.public_key_bytes(server.load_private_key(secret)) == theirs
        assert server.key_id(server.load_private_key(secret)) == meter.key_id(theirs)


@IMPLS
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("00" * 32, "privkey_range"),
        (CURVE_ORDER.to_bytes(32, "big").hex(), "privkey_range"),
        ("ff" * 32, "privkey_range"),
        ("zz" * 32, "privkey_encoding"),
        ("abc", "privkey_encoding"),
        (b"\x01" * 31, "privkey_encoding"),
        ("AAAA====", "privkey_encoding"),
    ],
)
def test_invalid_private_keys(impl: Any, value: Any, reason: str) -> None:
    with pytest.raises(impl.InvalidKey) as caught:
        impl.load_private_key(value)
    assert caught.value.reason == reason


def test_largest_valid_private_key_loads() -> None:
    largest = (CURVE_ORDER - 1).to_bytes(32, "big").hex()
    assert server.public_key_bytes(server.load_private_key(largest)) == meter.public_key_bytes(
        meter.load_private_key(largest)
    )


@IMPLS
def test_public_key_validation_agrees_with_openssl_on_random_x(impl: Any) -> None:
    """Roughly half of all x values are on the curve; both sides must say which."""
    outcomes = {True: 0, False: 0}
    for _ in range(60):
        candidate = bytes([2 + os.urandom(1)[0] % 2]) + os.urandom(32)
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), candidate)
            openssl_ok = True
        except ValueError:
            openssl_ok = False
        try:
            impl.load_public_key(candidate)
            ours_ok = True
        except impl.InvalidKey as error:
            assert error.reason == "pubkey_not_on_curve"
            ours_ok = False
        assert ours_ok == openssl_ok
        outcomes[ours_ok] += 1
    assert outcomes[True] and outcomes[False]


@IMPLS
@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "pubkey_length"),
        (b"\x00", "pubkey_length"),
        (b"\x02" + b"\x01" * 32 + b"\x00", "pubkey_length"),
        (b"\x05" + b"\x01" * 32, "pubkey_prefix"),
        (b"\x06" + b"\x01" * 32, "pubkey_prefix"),
        (b"\x02" + FIELD_PRIME.to_bytes(32, "big"), "pubkey_not_on_curve"),
        (b"\x02" + (7).to_bytes(32, "big"), "pubkey_not_on_curve"),
    ],
)
def test_invalid_public_keys(impl: Any, data: bytes, reason: str) -> None:
    with pytest.raises(impl.InvalidKey) as caught:
        impl.load_public_key(data)
    assert caught.value.reason == reason


@IMPLS
def test_uncompressed_encoding_of_a_valid_key_is_refused(impl: Any) -> None:
    public = server.public_key_bytes(server.generate_private_key())
    uncompressed = PublicKey(public).format(compressed=False)
    with pytest.raises(impl.InvalidKey) as caught:
        impl.load_public_key(uncompressed)
    assert caught.value.reason == "pubkey_length"


@IMPLS
def test_public_key_text_must_be_base64url(impl: Any) -> None:
    public = server.public_key_bytes(server.generate_private_key())
    with pytest.raises(impl.InvalidKey) as caught:
        impl.load_public_key_b64(public.hex())
    assert caught.value.reason in {"pubkey_encoding", "pubkey_length"}
    with pytest.raises(impl.InvalidKey) as caught:
        impl.load_public_key_b64("A+/=")
    assert caught.value.reason == "pubkey_encoding"
