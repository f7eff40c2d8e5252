"""Payload schemas, timestamps and the freshness / replay rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

import device_client.crypto as meter
import functions.core.crypto as server
from functions.core.crypto import payloads

IMPLS = pytest.mark.parametrize("impl", [server, meter], ids=["server", "meter"])
NOW = datetime(2025, 2, 1, 12, 0, 0, tzinfo=UTC)


def _request(**overrides: Any) -> dict[str, Any]:
    request = dict(
        server.new_read_request(
            run_id="run-7",
            meter_id="MTR-1",
            period="2025-01",
            reply_to="https://api.example/readings",
            now=NOW,
            ttl=timedelta(hours=24),
        )
    )
    request.update(overrides)
    return request


def _reading(request: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    reading = meter.make_reading(
        request, counter=10, register_wh=5000, read_at=NOW + timedelta(minutes=1)
    )
    reading.update(overrides)
    return reading


def test_new_read_request_is_valid_and_fresh() -> None:
    first, second = _request(), _request()
    assert first["nonce"] != second["nonce"]
    assert len(server.b64u_decode(first["nonce"], field="nonce")) == 32
    assert first["issued_at"] == "2025-02-01T12:00:00Z"
    assert first["expires_at"] == "2025-02-02T12:00:00Z"
    meter.validate_payload("read_request", first)


def test_nonce_pattern_accepts_exactly_the_canonical_encodings_of_32_bytes() -> None:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for last in alphabet:
        candidate = "A" * 42 + last
        try:
            server.b64u_decode(candidate, field="nonce", length=32)
            decodes = True
        except server.MalformedEnvelope:
            decodes = False
        assert payloads._is_nonce(candidate) == decodes == meter._is_nonce(candidate), last
    assert sum(payloads._is_nonce("A" * 42 + last) for last in alphabet) == 16


@pytest.mark.parametrize("ttl", [timedelta(0), timedelta(seconds=-1), timedelta(days=8)])
def test_read_request_ttl_bounds(ttl: timedelta) -> None:
    with pytest.raises(ValueError, match="ttl"):
        server.new_read_request(
            run_id="r", meter_id="m", period="2025-01", reply_to="https://x", now=NOW, ttl=ttl
        )


@IMPLS
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("period", "2025-13"),
        ("period", "2025-1"),
        ("issued_at", "2025-02-30T00:00:00Z"),
        ("issued_at", "2025-02-01T00:00:00+00:00"),
        ("issued_at", "2025-02-01T00:00:00.5Z"),
        ("issued_at", "2025-02-01 00:00:00Z"),
        ("expires_at", 1738368000),
        ("nonce", "too-short"),
        ("nonce", "A" * 44),
        ("meter_id", "has space"),
        ("meter_id", "x" * 65),
        ("run_id", ""),
        ("reply_to", "ftp://example"),
        ("reply_to", "https://" + "a" * 600),
        ("reply_to", "https://"),
        ("reply_to", "https://example.com/a b"),
        ("reply_to", "https://exämple.com/"),
        ("reply_to", "https://example.com/\n"),
    ],
)
def test_bad_read_request_fields(impl: Any, field: str, value: Any) -> None:
    with pytest.raises(impl.InvalidPayload) as caught:
        impl.validate_payload("read_request", _request(**{field: value}))
    assert caught.value.reason == "payload_bad_field"


@IMPLS
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("counter", -1),
        ("counter", True),
        ("counter", 2**53),
        ("counter", "10"),
        ("register_wh", 1.5),
        ("read_at", "yesterday"),
    ],
)
def test_bad_reading_fields(impl: Any, field: str, value: Any) -> None:
    with pytest.raises(impl.InvalidPayload) as caught:
        impl.validate_payload("reading", _reading(_request(), **{field: value}))
    assert caught.value.reason == "payload_bad_field"


@IMPLS
def test_error_payload_limits(impl: Any) -> None:
    error = meter.make_error("A" * 43, meter_id="MTR-1", code="busy", message="m" * 256)
    impl.validate_payload("error", error)
    bad_values = (
        ("message", "m" * 257),
        ("message", "line\nbreak"),
        ("message", "lone \ud800 surrogate"),
        ("code", "Bad-Code"),
        ("code", ""),
    )
    for field, value in bad_values:
        with pytest.raises(impl.InvalidPayload):
            impl.validate_payload("error", {**error, field: value})


@IMPLS
def test_payload_version_and_type(impl: Any) -> None:
    request = _request()
    with pytest.raises(impl.UnsupportedVersion):
        impl.validate_payload("read_request", {**request, "v": 3})
    with pytest.raises(impl.UnsupportedVersion):
        impl.validate_payload("read_request", {**request, "v": True})
    with pytest.raises(impl.MalformedEnvelope) as caught:
        impl.validate_payload("bill", request)
    assert caught.value.reason == "unknown_type"


@IMPLS
def test_timestamps(impl: Any) -> None:
    assert impl.parse_timestamp("2024-02-29T23:59:59Z") == datetime(
        2024, 2, 29, 23, 59, 59, tzinfo=UTC
    )
    ist = timezone(timedelta(hours=5, minutes=30))
    assert impl.format_timestamp(datetime(2025, 2, 1, 5, 30, tzinfo=ist)) == "2025-02-01T00:00:00Z"
    for bad in ("2023-02-29T00:00:00Z", "2025-02-01T24:00:00Z", "2025-02-01T00:00:00z"):
        with pytest.raises(ValueError):
            impl.parse_timestamp(bad)


# ---------------------------------------------------------------- server: check_reading


def test_reading_for_its_request_is_accepted() -> None:
    request = _request()
    server.check_reading(_reading(request), request=request, now=NOW, last_counter=9)
    server.check_reading(_reading(request), request=request, now=NOW, last_counter=None)
    expiry = server.parse_timestamp(request["expires_at"])
    server.check_reading(_reading(request), request=request, now=expiry, last_counter=None)


@pytest.mark.parametrize(
    ("change", "now_offset", "last_counter", "reason"),
    [
        ({"meter_id": "MTR-2"}, timedelta(0), None, "meter_mismatch"),
        ({"nonce": "B" * 43}, timedelta(0), None, "nonce_mismatch"),
        ({"run_id": "run-8"}, timedelta(0), None, "run_mismatch"),
        ({}, timedelta(hours=24, seconds=1), None, "request_expired"),
        ({}, timedelta(0), 10, "counter_replay"),
        ({}, timedelta(0), 11, "counter_replay"),
        ({"read_at": "2025-02-01T12:06:00Z"}, timedelta(0), None, "read_in_future"),
        ({"read_at": "2025-02-01T11:54:59Z"}, timedelta(0), None, "read_before_request"),
    ],
)
def test_reading_refusals(
    change: dict[str, Any], now_offset: timedelta, last_counter: int | None, reason: str
) -> None:
    request = _request()
    with pytest.raises(server.ReplayRejected) as caught:
        server.check_reading(
            _reading(request, **change),
            request=request,
            now=NOW + now_offset,
            last_counter=last_counter,
        )
    assert caught.value.reason == reason


# ---------------------------------------------------------------- meter: check_read_request


@IMPLS
def test_meter_answers_a_current_request(impl: Any) -> None:
    impl.check_read_request(_request(), meter_id="MTR-1", now=NOW + timedelta(hours=1))
    impl.check_read_request(_request(), meter_id="MTR-1", now=NOW - timedelta(minutes=4))


@IMPLS
@pytest.mark.parametrize(
    ("overrides", "meter_id", "now", "reason"),
    [
        ({}, "MTR-2", NOW, "meter_mismatch"),
        ({}, "MTR-1", NOW + timedelta(hours=25), "request_expired"),
        ({}, "MTR-1", NOW - timedelta(minutes=6), "request_not_yet_valid"),
        ({"expires_at": "2025-02-01T12:00:00Z"}, "MTR-1", NOW, "bad_validity_window"),
        ({"expires_at": "2025-02-09T12:00:00Z"}, "MTR-1", NOW, "bad_validity_window"),
    ],
)
def test_meter_refusals(
    impl: Any, overrides: dict[str, Any], meter_id: str, now: datetime, reason: str
) -> None:
    with pytest.raises(impl.ReplayRejected) as caught:
        impl.check_read_request(_request(**overrides), meter_id=meter_id, now=now)
    assert caught.value.reason == reason
