"""The simulated meter against requests sealed by the SERVER implementation, and its
answers opened by it: interop both ways, plus every misbehaviour a test can ask for.

The only stand-in is the network: a Sender that keeps what the meter would have posted.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from device_client import crypto as meter_crypto
from device_client.meter import Meter, MeterConfig
from device_client.sender import PostResult, Sender
from device_client.state import StateStore
from functions.core import crypto as server_crypto

NOW = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
READINGS_URL = "https://api.example.in/device/readings"


class KeptPosts(Sender):
    """Keeps the posts instead of sending them (and reports them accepted)."""

    def __init__(self) -> None:
        super().__init__(workers=1)
        self.posts: list[tuple[str, bytes]] = []

    def submit_sequence(self, posts: list[tuple[str, bytes]], done: Any = None) -> None:
        self.posts.extend(posts)
        for _ in posts:
            if done is not None:
                done(PostResult(202, 1))


@pytest.fixture
def server_key() -> Any:
    return server_crypto.generate_private_key()


def make_meter(tmp_path: Path, server_key: Any, behaviour: str = "normal",
               register_wh: int | None = 52_000, meter_id: str = "mtr-unit") -> Meter:
    meter = Meter(MeterConfig(serial="U-1", private_key=meter_crypto.generate_private_key(),
                              behaviour=behaviour, register_wh=register_wh),
                  StateStore(tmp_path), KeptPosts())
    meter.provision(meter_id, [server_crypto.public_key_b64(server_key)])
    return meter


def read_request(meter: Meter, server_key: Any, *, meter_id: str = "mtr-unit",
                 now: datetime = NOW, ttl: timedelta = timedelta(minutes=15)) -> tuple[
                     dict[str, Any], bytes]:
    payload = server_crypto.new_read_request(run_id="2026-10", meter_id=meter_id,
                                             period="2026-10", reply_to=READINGS_URL, now=now,
                                             ttl=ttl)
    envelope = server_crypto.seal(payload, msg_type="read_request",
                                  recipient_pub=meter_crypto.public_key_bytes(
                                      meter.config.private_key),
                                  sender_priv=server_key, sender_id="server")
    return dict(payload), server_crypto.envelope_to_bytes(envelope)


def posts(meter: Meter) -> list[tuple[str, bytes]]:
    assert isinstance(meter.sender, KeptPosts)
    return meter.sender.posts


def open_on_server(meter: Meter, server_key: Any, body: bytes, signer_pub: Any = None) -> Any:
    return server_crypto.open_envelope(
        body, recipient_priv=server_key,
        sender_pub=signer_pub or meter_crypto.public_key_bytes(meter.config.private_key),
        expect_type=server_crypto.METER_MESSAGE_TYPES)


def test_an_authentic_request_is_answered_with_a_reading_the_server_opens(tmp_path, server_key):
    meter = make_meter(tmp_path, server_key)
    request, body = read_request(meter, server_key)
    status, answer = meter.handle_read_request(body, {}, now=NOW + timedelta(seconds=3))
    assert (status, answer) == (202, {"status": "accepted"})
    [(url, reading_body)] = posts(meter)
    assert url == READINGS_URL
    opened = open_on_server(meter, server_key, reading_body)
    assert opened.msg_type == "reading" and opened.sender == "mtr-unit"
    assert opened.payload["nonce"] == request["nonce"]
    assert opened.payload["register_wh"] == 52_000 and opened.payload["counter"] == 1
    server_crypto.check_reading(opened.payload, request=request,
                                now=NOW + timedelta(seconds=4), last_counter=None)


def test_the_counter_is_persisted_and_survives_a_restart(tmp_path, server_key):
    meter = make_meter(tmp_path, server_key)
    for _ in range(3):
        meter.handle_read_request(read_request(meter, server_key)[1], {}, now=NOW)
    restarted = Meter(meter.config, StateStore(tmp_path), KeptPosts())
    assert restarted.state.counter == 3 and restarted.state.meter_id == "mtr-unit"
    restarted.handle_read_request(read_request(restarted, server_key)[1], {}, now=NOW)
    opened = open_on_server(restarted, server_key, posts(restarted)[0][1])
    assert opened.payload["counter"] == 4


def test_a_redelivered_request_is_not_answered_twice(tmp_path, server_key):
    meter = make_meter(tmp_path, server_key)
    _, body = read_request(meter, server_key)
    assert meter.handle_read_request(body, {}, now=NOW)[0] == 202
    assert meter.handle_read_request(body, {}, now=NOW)[0] == 202
    assert len(posts(meter)) == 1


@pytest.mark.parametrize("case", ["other_server_key", "other_meter", "expired", "tampered",
                                  "garbage"])
def test_requests_the_meter_must_refuse(tmp_path, server_key, case):
    meter = make_meter(tmp_path, server_key)
    if case == "other_server_key":
        _, body = read_request(meter, server_crypto.generate_private_key())
    elif case == "other_meter":
        _, body = read_request(meter, server_key, meter_id="mtr-someone-else")
    elif case == "expired":
        _, body = read_request(meter, server_key, now=NOW - timedelta(hours=1))
    elif case == "tampered":
        _, body = read_request(meter, server_key)
        envelope = json.loads(body)
        ct = bytearray(meter_crypto.b64u_decode(envelope["ct"], field="ct"))
        ct[3] ^= 0x80
        body = json.dumps({**envelope, "ct": meter_crypto.b64u_encode(bytes(ct))}).encode()
    else:
        body = b"not json"
    status, answer = meter.handle_read_request(body, {}, now=NOW)
    assert (status, answer) == (400, {"error": "rejected"})
    assert posts(meter) == []
    assert meter.state.counter == 0 and meter.state.requests_refused == 1


def test_an_unprovisioned_meter_answers_nothing(tmp_path, server_key):
    meter = Meter(MeterConfig(serial="U-2", private_key=meter_crypto.generate_private_key()),
                  StateStore(tmp_path), KeptPosts())
    status, _ = meter.handle_read_request(b"{}", {}, now=NOW)
    assert status == 409 and posts(meter) == []


@pytest.mark.parametrize("behaviour, reason", [
    ("wrong_key", "bad_signature"),
    ("tamper", "bad_signature"),
    ("tamper_resigned", "bad_mac"),
])
def test_misbehaving_meters_produce_what_the_server_refuses(tmp_path, server_key, behaviour,
                                                            reason):
    meter = make_meter(tmp_path, server_key, behaviour=behaviour)
    meter.handle_read_request(read_request(meter, server_key)[1], {}, now=NOW)
    [(_, body)] = posts(meter)
    with pytest.raises(server_crypto.CryptoError) as refused:
        open_on_server(meter, server_key, body)
    assert refused.value.reason == reason


def test_stale_backwards_and_reused_counters_are_authentic_but_wrong(tmp_path, server_key):
    stale = make_meter(tmp_path / "a", server_key, behaviour="stale")
    request, body = read_request(stale, server_key)
    stale.handle_read_request(body, {}, now=NOW)
    opened = open_on_server(stale, server_key, posts(stale)[0][1])
    with pytest.raises(server_crypto.ReplayRejected) as refused:
        server_crypto.check_reading(opened.payload, request=request, now=NOW, last_counter=None)
    assert refused.value.reason == "read_before_request"

    meter = make_meter(tmp_path / "b", server_key, register_wh=80_000)
    meter.handle_read_request(read_request(meter, server_key)[1], {}, now=NOW)
    meter.configure({"behaviour": "backwards"})
    meter.handle_read_request(read_request(meter, server_key)[1], {}, now=NOW)
    meter.configure({"behaviour": "counter_reuse"})
    meter.handle_read_request(read_request(meter, server_key)[1], {}, now=NOW)
    readings = [open_on_server(meter, server_key, body).payload for _, body in posts(meter)]
    assert [r["register_wh"] for r in readings] == [80_000, 70_000, 80_000]
    assert [r["counter"] for r in readings] == [1, 2, 2]


def test_replay_silent_offline_and_error(tmp_path, server_key):
    replay = make_meter(tmp_path / "r", server_key, behaviour="replay")
    replay.handle_read_request(read_request(replay, server_key)[1], {}, now=NOW)
    assert len(posts(replay)) == 2 and posts(replay)[0] == posts(replay)[1]

    silent = make_meter(tmp_path / "s", server_key, behaviour="silent")
    assert silent.handle_read_request(read_request(silent, server_key)[1], {}, now=NOW)[0] == 202
    assert posts(silent) == []

    offline = make_meter(tmp_path / "o", server_key, behaviour="offline")
    assert offline.handle_read_request(read_request(offline, server_key)[1], {},
                                       now=NOW)[0] == 503

    failing = make_meter(tmp_path / "e", server_key, behaviour="error")
    failing.handle_read_request(read_request(failing, server_key)[1], {}, now=NOW)
    opened = open_on_server(failing, server_key, posts(failing)[0][1])
    assert opened.msg_type == "error" and opened.payload["code"] == "register_unavailable"


def test_an_unknown_behaviour_is_refused(tmp_path, server_key):
    meter = make_meter(tmp_path, server_key)
    with pytest.raises(ValueError):
        meter.configure({"behaviour": "explode"})
    with pytest.raises(ValueError):
        meter.configure({"register_wh": -5})
