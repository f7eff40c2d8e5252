"""Single-core benchmark of the meter channel crypto (`make bench-crypto`).

Measures, in one process on one core:
- the raw libsecp256k1 operations through coincurve's own API (the floor);
- building a read request on the server (schema check, ephemeral key, ECDH, KDF, AES,
  HMAC, ECDSA sign, wire bytes: seal_to_bytes) and accepting a reading (parse, ECDSA verify,
  ECDH, KDF, HMAC, AES, JSON, schema: parse_envelope + open_envelope);
- the same two paths with protocol v2 payloads (a request naming the billing date; a reading
  carrying the billing snapshot: import, export, four ToD zones, maximum demand), bigger
  messages against the same floors;
- for information, the pure-Python meter implementation.

Floors: request build = 1 / (t_keygen + t_ecdh + t_sign); reading accept =
1 / (t_verify + t_ecdh), the ECDH including the decompression of the ephemeral key and the
verification using a parsed meter key. The variant given the meter key as bytes does one
more decompression, so its floor adds t_decompress.

Fairness: every operation cycles through POOL_SIZE different keys/messages, as the paths do
(a floor that verifies one signature over and over runs on trained branch predictors).
Each round times one batch of every operation, in a shuffled order, with process CPU time;
a path's ratio is taken against the floor measured in the same round, and the figure shown
is the median over the rounds, with the range of the middle half, so background load on a
shared machine hits the floor and the paths alike.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
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
POOL_SIZE = 32  # distinct meters, keys and messages, so no loop repeats one computation

Operation = tuple[str, Callable[[], object]]

# Which floor operations make up the floor of each path.
FLOORS = {
    "build": ("keygen", "ecdh", "sign"),
    "accept_cached": ("verify", "ecdh"),
    "accept": ("verify", "ecdh", "parse"),
    "build_v2": ("keygen", "ecdh", "sign"),
    "accept_v2_cached": ("verify", "ecdh"),
}
PATHS = ("build", "accept_cached", "accept", "build_v2", "accept_v2_cached")


@dataclass
class Timings:
    """Seconds per call of each operation, one entry per round."""

    rounds: dict[str, list[float]]

    def seconds(self, key: str) -> float:
        return statistics.median(self.rounds[key])

    def floor_seconds(self, path: str) -> list[float]:
        parts = FLOORS[path]
        count = len(self.rounds[parts[0]])
        return [sum(self.rounds[part][index] for part in parts) for index in range(count)]

    def ratios(self, path: str) -> list[float]:
        """Per round: the path's rate over its floor's rate in the same round."""
        return [
            floor / taken
            for floor, taken in zip(self.floor_seconds(path), self.rounds[path], strict=True)
        ]


def _calls_per_batch(operation: Callable[[], object], batch_seconds: float) -> int:
    for _ in range(3):
        operation()  # warm up
    started = time.process_time()
    calls = 0
    while time.process_time() - started < batch_seconds / 5:
        operation()
        calls += 1
    return max(1, round(calls * batch_seconds / (time.process_time() - started)))


def measure_interleaved(
    operations: dict[str, Operation], batch_seconds: float, rounds: int, seed: int = 1
) -> Timings:
    """Time one batch of every operation per round, in a new shuffled order each round."""
    sizes = {key: _calls_per_batch(op, batch_seconds) for key, (_, op) in operations.items()}
    order = list(operations)
    shuffle = random.Random(seed).shuffle
    timings: dict[str, list[float]] = {key: [] for key in operations}
    for _ in range(rounds):
        shuffle(order)
        for key in order:
            operation, calls = operations[key][1], sizes[key]
            started = time.process_time()
            for _ in range(calls):
                operation()
            timings[key].append((time.process_time() - started) / calls)
    return Timings(timings)


def pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


# ---------------------------------------------------------------- workloads


def library_floor() -> dict[str, Operation]:
    own = coincurve.PrivateKey()
    peers = cycle([coincurve.PrivateKey().public_key.format() for _ in range(POOL_SIZE)])
    to_sign = cycle([os.urandom(300) for _ in range(POOL_SIZE)])
    signed = []
    for _ in range(POOL_SIZE):
        signer, message = coincurve.PrivateKey(), os.urandom(300)
        signed.append((signer.public_key, signer.sign(message), message))
    to_verify = cycle(signed)

    def keygen() -> bytes:
        return coincurve.PublicKey.from_secret(os.urandom(32)).format()

    def ecdh() -> bytes:
        return own.ecdh(next(peers))

    def sign() -> bytes:
        return own.sign(next(to_sign))

    def verify() -> bool:
        public, signature, message = next(to_verify)
        return public.verify(signature, message)

    def parse_point() -> coincurve.PublicKey:
        return coincurve.PublicKey(next(peers))

    return {
        "keygen": ("keygen (PublicKey.from_secret)", keygen),
        "ecdh": ("ECDH (PrivateKey.ecdh, key from bytes)", ecdh),
        "sign": ("ECDSA sign (RFC 6979)", sign),
        "verify": ("ECDSA verify (parsed key)", verify),
        "parse": ("point decompression", parse_point),
    }


MeterFixture = tuple[str, server.PrivateKey, server.ReadRequest]
BILLING_AT = datetime(2025, 1, 31, 18, 30, tzinfo=UTC)  # 1 February 2025, 00:00 IST


def _fixtures(version: int = 1) -> tuple[server.PrivateKey, list[MeterFixture]]:
    """The server key and POOL_SIZE meters, each with its key and an outstanding request."""
    now = datetime.now(UTC)
    meters = []
    for index in range(POOL_SIZE):
        meter_id = f"mtr-{index:016x}"
        request = server.new_read_request(
            run_id="2025-01",
            meter_id=meter_id,
            period="2025-01",
            reply_to="https://api.discom.example/v1/device/readings",
            now=now,
            ttl=timedelta(hours=24),
            billing_at=BILLING_AT if version == 2 else None,
        )
        meters.append((meter_id, server.generate_private_key(), request))
    return server.generate_private_key(), meters


def _v2_reading(meter_id: str, request: server.ReadRequest, index: int) -> dict[str, object]:
    zones = [301_200 + index, 402_650, 250_100, 532_300]
    return {"v": 2, "nonce": request["nonce"], "run_id": request["run_id"],
            "meter_id": meter_id, "counter": 12, "read_at": request["issued_at"],
            "source": "snapshot", "snapshot_at": "2025-01-31T18:30:00Z",
            "import_wh": sum(zones), "export_wh": 212_400, "tod_wh": zones, "md_w": 4_380,
            "md_at": "2025-01-14T14:00:00Z"}


def server_workloads() -> dict[str, Operation]:
    return {**_server_paths(1), **_server_paths(2)}


def _server_paths(version: int) -> dict[str, Operation]:
    server_key, meters = _fixtures(version)
    meter_keys = {meter_id: key for meter_id, key, _ in meters}
    meter_pubs = {m: server.public_key_bytes(key) for m, key in meter_keys.items()}
    parsed_pubs = {m: server.load_public_key(pub) for m, pub in meter_pubs.items()}
    server_pub = server.public_key_bytes(server_key)
    reading_bodies = []
    for index, (meter_id, _, request) in enumerate(meters):
        reading: dict[str, object] = {
            "v": 1,
            "nonce": request["nonce"],
            "run_id": request["run_id"],
            "meter_id": meter_id,
            "counter": 12,
            "register_wh": 4_567_890,
            "read_at": request["issued_at"],
        } if version == 1 else _v2_reading(meter_id, request, index)
        envelope = server.seal(
            reading,
            msg_type="reading",
            recipient_pub=server_pub,
            sender_priv=meter_keys[meter_id],
            sender_id=meter_id,
        )
        reading_bodies.append(server.envelope_to_bytes(envelope))
    request_iter = cycle(meters)

    def build_request() -> bytes:
        meter_id, _, request = next(request_iter)
        return server.seal_to_bytes(
            request,
            msg_type="read_request",
            recipient_pub=meter_pubs[meter_id],
            sender_priv=server_key,
            sender_id=server.SERVER_SENDER_ID,
        )

    def accept(keys: dict[str, bytes] | dict[str, server.PublicKey]) -> Callable[[], object]:
        bodies = cycle(reading_bodies)

        def accept_reading() -> object:
            envelope = server.parse_envelope(next(bodies))
            return server.open_envelope(
                envelope,
                recipient_priv=server_key,
                sender_pub=keys[envelope.sender],
                expect_type=server.METER_MESSAGE_TYPES,
            )

        return accept_reading

    if version == 2:
        return {
            "build_v2": ("v2: build read request", build_request),
            "accept_v2_cached": ("v2: accept snapshot (key parsed)", accept(parsed_pubs)),
        }
    return {
        "build": ("build read request", build_request),
        "accept_cached": ("accept reading (meter key parsed)", accept(parsed_pubs)),
        "accept": ("accept reading (meter key as bytes)", accept(meter_pubs)),
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
    reading = meter.make_reading(request, counter=1, register_wh=1000, read_at=datetime.now(UTC))

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

HEADER = (
    f"{'operation':40s} {'us/op':>8s} {'ops/s':>9s} {'floor/s':>9s} "
    f"{'ratio':>6s} {'middle half':>13s}  target"
)


def _row(name: str, seconds: float) -> str:
    return f"  {name:38s} {seconds * 1e6:8.1f} {1 / seconds:9,.0f}"


def _path_row(timings: Timings, key: str, name: str) -> tuple[str, bool]:
    seconds = timings.seconds(key)
    floor = 1 / statistics.median(timings.floor_seconds(key))
    ratios = timings.ratios(key)
    ratio = statistics.median(ratios)
    low, _, high = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratio,) * 3
    met = ratio >= FLOOR_RATIO_TARGET
    if key.startswith("accept"):
        met = met and 1 / seconds >= ACCEPT_TARGET_PER_SECOND
    line = (
        f"{_row(name, seconds)} {floor:9,.0f} {ratio:6.3f} {f'{low:.3f}-{high:.3f}':>13s}  "
        f"{'met' if met else 'NOT met'}"
    )
    return line, met


def report(server_side: Timings, names: dict[str, str], meter_side: Timings | None) -> bool:
    print(HEADER)
    print("-" * len(HEADER))
    print("libsecp256k1 via coincurve (the floor)")
    for key in ("keygen", "ecdh", "sign", "verify", "parse"):
        print(_row(names[key], server_side.seconds(key)))
    print("server, functions/core/crypto")
    all_met = True
    for key in PATHS:
        line, met = _path_row(server_side, key, names[key])
        print(line)
        all_met = all_met and met
    if meter_side is not None:
        print("meter, device_client/crypto (pure Python, for information)")
        for key in ("meter_open", "meter_seal"):
            print(_row(names[key], meter_side.seconds(key)))
    print()
    print(
        "floors: build = 1/(keygen + ECDH + sign); accept = 1/(verify + ECDH), "
        "+ decompression when the meter key comes as bytes"
    )
    print(
        f"targets: ratio >= {FLOOR_RATIO_TARGET} of the floor (median of per-round ratios); "
        f"accepting also >= {ACCEPT_TARGET_PER_SECOND:,}/s"
    )
    print(f"all targets {'met' if all_met else 'NOT met'}")
    return all_met


def _load() -> str:
    if not hasattr(os, "getloadavg"):
        return "n/a"
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-seconds", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--no-meter", action="store_true", help="skip the pure-Python meter")
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 when a target is not met"
    )
    args = parser.parse_args()
    pinning = pin_to_one_core()
    print(
        f"meter protocol v1 and v2 crypto benchmark, one thread, {pinning}, {os.cpu_count()} CPUs, "
        f"load average {_load()}; Python {platform.python_version()}, coincurve "
        f"{version('coincurve')}, cryptography {version('cryptography')}, ecdsa "
        f"{version('ecdsa')}, pyaes {version('pyaes')}"
    )
    print(f"{args.rounds} interleaved rounds of {args.batch_seconds:g} s batches, process CPU time")
    print()
    server_ops = {**library_floor(), **server_workloads()}
    names = {key: name for key, (name, _) in server_ops.items()}
    server_side = measure_interleaved(server_ops, args.batch_seconds, args.rounds)
    meter_side = None
    if not args.no_meter:
        meter_ops = meter_workloads()
        names |= {key: name for key, (name, _) in meter_ops.items()}
        meter_side = measure_interleaved(meter_ops, args.batch_seconds * 3, 3)
    met = report(server_side, names, meter_side)
    print(f"load average after the run: {_load()}")
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
