"""Canonical JSON and base64url: both implementations agree byte for byte and refuse alike."""

from __future__ import annotations

import base64
import json
import os
import random
from typing import Any

import pytest

import device_client.crypto as meter
import functions.core.crypto as server

IMPLS = pytest.mark.parametrize("impl", [server, meter], ids=["server", "meter"])


def _tricky_strings() -> list[str]:
    every_ascii = "".join(chr(code) for code in range(128))
    rng = random.Random(1234)
    samples = [every_ascii, "", "é", "\u2028\u2029", "😀", "\ufeff", "a\u0000b", "₹ 1,234"]
    alphabet = [chr(code) for code in (*range(0, 0x300), 0x20B9, 0xFFFD, 0x1F600, 0x10FFFF)]
    samples += ["".join(rng.choice(alphabet) for _ in range(20)) for _ in range(50)]
    return samples


def test_both_encoders_agree_with_each_other_and_with_the_rule() -> None:
    for text in _tricky_strings():
        value = {"s": text, text: 1, "n": [-(2**53) + 1, 0, 2**53 - 1], "o": {"b": "x", "a": []}}
        expected = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
        assert server.canonical_json(value) == expected
        assert meter.canonical_json(value) == expected


def test_canonical_output_is_compact_sorted_and_escapes_only_what_it_must() -> None:
    value = {"b": "\u007f\u2028é", "a": "\"\\\n\u0001"}
    assert server.canonical_json(value) == (
        '{"a":"\\"\\\\\\n\\u0001","b":"\u007f\u2028é"}'.encode()
    )


@IMPLS
@pytest.mark.parametrize(
    "value",
    [
        {"x": 1.5},
        {"x": 1.0},
        {"x": True},
        {"x": None},
        {"x": 2**53},
        {"x": -(2**53)},
        {"x": float("nan")},
        {"x": b"bytes"},
        {"x": ("tuple",)},
        {1: "int key"},
        {"x": "\ud800 lone surrogate"},
        {"x": {"deep": [1, {"y": 0.1}]}},
    ],
)
def test_values_outside_the_canonical_subset_are_refused(impl: Any, value: dict[str, Any]) -> None:
    with pytest.raises(impl.InvalidPayload) as caught:
        impl.canonical_json(value)
    assert caught.value.reason == "non_canonical_value"


@IMPLS
def test_top_level_must_be_an_object(impl: Any) -> None:
    with pytest.raises(impl.InvalidPayload):
        impl.canonical_json([1, 2])


@IMPLS
def test_base64url_round_trip(impl: Any) -> None:
    for length in range(0, 70):
        data = os.urandom(length)
        text = impl.b64u_encode(data)
        assert text == base64.urlsafe_b64encode(data).rstrip(b"=").decode()
        assert impl.b64u_decode(text, field="t") == data


@IMPLS
@pytest.mark.parametrize(
    "text",
    ["AA==", "AB", "AAB", "A", "AAAAA", "AA AA", "AA\nAA", "+A", "/A", "A.", "é", "AQ=", None, 5],
)
def test_base64url_strictness(impl: Any, text: Any) -> None:
    with pytest.raises(impl.MalformedEnvelope) as caught:
        impl.b64u_decode(text, field="t")
    assert caught.value.reason == "bad_base64"


@IMPLS
def test_base64url_length_check(impl: Any) -> None:
    with pytest.raises(impl.MalformedEnvelope) as caught:
        impl.b64u_decode(impl.b64u_encode(bytes(15)), field="iv", length=16)
    assert caught.value.reason == "bad_field_length"
