"""Single-core benchmark of the meter channel crypto (`make bench-crypto`).

Measures, in one process on one core:
- the raw libsecp256k1 operations through coincurve's own API (the floor);
- building a read request on the server (ephemeral key, ECDH, KDF, AES, HMAC, ECDSA sign,
  JSON) and accepting a reading (parse, ECDSA verify, ECDH, HMAC, AES, JSON, schema);
- for information, the pure-Python meter implementation.

Floors: request build = 1 / (t_keygen + t_ecdh + t_sign); reading accept =
1 / (t_verify + t_ecdh). Each figure is the median of several timed batches.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from itertools import cycle
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import coincurve

import device_client.crypto as meter
import functions.core.crypto as server

ACCEPT_TARGET_PER_SECOND = 6000
FLOOR_RATIO_TARGET = 0.65
POOL_SIZE = 32  # distinct meters, so the loops do not replay one message


@dataclass
class Result:
    name: str
    seconds_per_op: float

    @property
    def per_second(self) -> float:
        return 1.0 / self.seconds_per_op


Operation = tuple[str, Callable[[], object]]


def _calls_per_batch(operation: Callable[[], object], batch_seconds: float) -> int:
    operation()  # warm up
    started = time.process_time()
    calls = 0
    while time.process_time() - started < batch_seconds / 10:
        operation()
        calls += 1
    return max(1, round(calls * batch_seconds / (time.process_time() - started)))


def measure_interleaved(
    operations: dict[str, Operation], batch_seconds: float, rounds: int
) -> dict[str, Result]:
    """Median time per call of each operation over `rounds` rounds.

    Each round times one batch of every operation in turn, so background load on a shared
    machine hits the floor and the measured paths alike and the ratios stay meaningful.
    """
    sizes = {key: _calls_per_batch(op, batch_seconds) for key, (_, op) in operations.items()}
    timings: dict[str, list[float]] = {key: [] for key in operations}
    for _ in range(rounds):
        for key, (_, operation) in operations.items():
            started = time.process_time()
            for _ in range(sizes[key]):
                operation()
            timings[key].append((time.process_time() - started) / sizes[key])
    return {
        key: Result(name, statistics.median(timings[key]))
        for key, (name, _) in operations.items()
    }


def pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


# ---------------------------------------------------------------- workloads


def library_floor() -> dict[str, Operation]:
    own = coincurve.PrivateKey()
    peers = [coincurve.PrivateKey().public_key.format() for _ in range(POOL_SIZE)]
    peer_iter = cycle(peers)
    message = os.urandom(300)
    der_signature = own.sign(message)
    own_public = own.public_key

    def keygen() -> bytes:
        return coincurve.PublicKey.from_secret(os.urandom(32)).format()

    def ecdh() -> bytes:
        return own.ecdh(next(peer_iter))

    def sign() -> bytes:
        return own.sign(message)

    def verify() -> bool:
        return own_public.verify(der_signature, message)

    def parse_point() -> coincurve.PublicKey:
        return coincurve.PublicKey(next(peer_iter))

    return {
        "keygen": ("keygen (PublicKey.from_secret)", keygen),
        "ecdh": ("ECDH (PrivateKey.ecdh, from bytes)", ecdh),
        "sign": ("ECDSA sign (RFC 6979)", sign),
        "verify": ("ECDSA verify (parsed key)", verify),
        "parse": ("point decompression (info)", parse_point),
    }


MeterFixture = tuple[str, server.PrivateKey, server.ReadRequest]


def _fixtures() -> tuple[server.PrivateKey, list[MeterFixture]]:
    """The server key and POOL_SIZE meters, each with its key and an outstanding request."""
    now = datetime.now(UTC)
    meters = []
    for index in range(POOL_SIZE):
        meter_id = f"MTR-{index:06d}"
        request = server.new_read_request(
            run_id="run-bench",
            meter_id=meter_id,
            period="2025-01",
            reply_to="https://api.discom.example/v1/device/readings",
            now=now,
            ttl=timedelta(hours=24),
        )
        meters.append((meter_id, server.generate_private_key(), request))
    return server.generate_private_key(), meters


def server_workloads() -> dict[str, Operation]:
    server_key, meters = _fixtures()
    meter_keys = {meter_id: key for meter_id, key, _ in meters}
    meter_pubs = {m: server.public_key_bytes(key) for m, key in meter_keys.items()}
    parsed_pubs = {m: server.load_public_key(pub) for m, pub in meter_pubs.items()}
    server_pub = server.public_key_bytes(server_key)
    reading_bodies = []
    for meter_id, _, request in meters:
        reading = {
            "v": 1,
            "nonce": request["nonce"],
            "run_id": request["run_id"],
            "meter_id": meter_id,
            "counter": 12,
            "register_wh": 4_567_890,
            "read_at": request["issued_at"],
        }
        envelope = server.seal(
            reading,
            msg_type="reading",
            recipient_pub=server_pub,
            sender_priv=meter_keys[meter_id],
            sender_id=meter_id,
        )
        reading_bodies.append((meter_id, server.envelope_to_bytes(envelope)))
    request_iter = cycle(meters)
    reading_iter = cycle(reading_bodies)

    def build_request() -> bytes:
        meter_id, _, request = next(request_iter)
        envelope = server.seal(
            request,
            msg_type="read_request",
            recipient_pub=meter_pubs[meter_id],
            sender_priv=server_key,
            sender_id=server.SERVER_SENDER_ID,
        )
        return server.envelope_to_bytes(envelope)

    def accept(keys: dict[str, bytes] | dict[str, server.PublicKey]) -> Callable[[], object]:
        def accept_reading() -> object:
            _, body = next(reading_iter)
            envelope = server.parse_envelope(body)
            return server.open_envelope(
                envelope,
                recipient_priv=server_key,
                sender_pub=keys[envelope.sender],
                expect_type=server.METER_MESSAGE_TYPES,
            )

        return accept_reading

    return {
        "build": ("build read request", build_request),
        "accept": ("accept reading (key bytes)", accept(meter_pubs)),
        "accept_cached": ("accept reading (parsed key cached)", accept(parsed_pubs)),
    }


def meter_workloads() -> dict[str, Operation]:
    server_key = meter.load_private_key(hashlib.sha256(b"bench server").digest())
    meter_key = meter.load_private_key(hashlib.sha256(b"bench meter").digest())
    server_pub = meter.public_key_bytes(server_key)
    request = server.new_read_request(
        run_id="run-bench",
        meter_id="MTR-000001",
        period="2025-01",
        reply_to="https://api.discom.example/v1/device/readings",
        now=datetime.now(UTC),
        ttl=timedelta(hours=24),
    )
    request_body = meter.envelope_to_bytes(
        meter.seal(
            dict(request),
            msg_type="read_request",
            recipient_pub=meter.public_key_bytes(meter_key),
            sender_priv=server_key,
            sender_id="server",
        )
    )
    server_vk = meter.load_public_key(server_pub)
    reading = meter.make_reading(
        request, counter=1, register_wh=1000, read_at=datetime.now(UTC)
    )

    def open_request() -> object:
        return meter.open_envelope(request_body, recipient_priv=meter_key, sender_pub=server_vk)

    def seal_reading() -> object:
        return meter.seal(
            reading,
            msg_type="reading",
            recipient_pub=server_vk,
            sender_priv=meter_key,
            sender_id="MTR-000001",
        )

    return {
        "meter_open": ("meter: open read request", open_request),
        "meter_seal": ("meter: seal reading", seal_reading),
    }


# ---------------------------------------------------------------- report


def _row(result: Result, floor: float | None = None) -> str:
    name = "  " + result.name
    line = f"{name:38s} {result.seconds_per_op * 1e6:9.1f} {result.per_second:11,.0f}"
    if floor is not None:
        line += f" {floor:11,.0f} {result.per_second / floor:7.2f}"
    return line


def report(results: dict[str, Result]) -> bool:
    lib = srv = mtr = results
    build_floor = 1 / (
        lib["keygen"].seconds_per_op + lib["ecdh"].seconds_per_op + lib["sign"].seconds_per_op
    )
    accept_floor = 1 / (lib["verify"].seconds_per_op + lib["ecdh"].seconds_per_op)
    header = f"{'operation':38s} {'us/op':>9s} {'ops/s':>11s} {'floor/s':>11s} {'ratio':>7s}"
    print(header)
    print("-" * len(header))
    print("libsecp256k1 via coincurve (the floor)")
    for key in ("keygen", "ecdh", "sign", "verify", "parse"):
        print(_row(lib[key]))
    print("server, functions/core/crypto")
    print(_row(srv["build"], build_floor))
    print(_row(srv["accept"], accept_floor))
    print(_row(srv["accept_cached"], accept_floor))
    print("meter, device_client/crypto (pure Python, for information)")
    for key in ("meter_open", "meter_seal"):
        print(_row(mtr[key]))
    print()
    print("floors: build = 1/(keygen + ECDH + sign); accept = 1/(verify + ECDH)")
    accept = srv["accept"].per_second
    ratio = accept / accept_floor
    meets = accept >= ACCEPT_TARGET_PER_SECOND and ratio >= FLOOR_RATIO_TARGET
    print(
        f"target: accept >= {ACCEPT_TARGET_PER_SECOND:,}/s and >= {FLOOR_RATIO_TARGET} of floor: "
        f"{accept:,.0f}/s, {ratio:.2f} -> {'met' if meets else 'NOT met'}"
    )
    return meets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-seconds", type=float, default=0.15)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    pinning = pin_to_one_core()
    print(
        f"meter protocol v1 crypto benchmark, one thread, {pinning}; Python "
        f"{platform.python_version()}, coincurve {version('coincurve')}, cryptography "
        f"{version('cryptography')}, ecdsa {version('ecdsa')}, pyaes {version('pyaes')}"
    )
    print()
    server_side = {**library_floor(), **server_workloads()}
    results = measure_interleaved(server_side, args.batch_seconds, args.rounds)
    results |= measure_interleaved(meter_workloads(), args.batch_seconds, 3)
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
