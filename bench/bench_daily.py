"""`make bench` (daily part, issue 24): the daily read cycle's rate and AWS calls per
meter-day at 1,000 and 10,000 meters, and the time from a recharge webhook to the
meter's acknowledged reconnection (p50/p95).

Daily cycle: the fleet bench's set-up (bench_fleet.seed: owners, properties, active
meters in bulk) and its fast stand-in fleet (one local server that takes every read
request, 202). The admin starts a day's cycle; run_steps pages each shard's meters,
iot_fanout seals and delivers a v2 read request to every meter; then every meter
"answers" as the reading endpoint would (the verified reading stored and queued: the
endpoint's own cost per reading is the full-chain bench's), and the billing function
keeps each as a meter-day. Printed: meters read per second from the start to the last
meter-day, the share read, AWS calls per meter-day by function, the most meters one
slice handled.

Reconnection: one prepaid connection with a real simulated meter (device_client, the
pure-Python implementation) on 127.0.0.1; each round disconnects it (a signed command,
acknowledged), then a captured payment's webhook is posted to the API; measured from the
POST to the account showing the relay connected by the meter's verified acknowledgement.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import bench_billing, bench_fleet  # noqa: E402  (needs ROOT on the path)
from devstack.silent_fleet import SilentFleet  # noqa: E402

bench_billing.CONCURRENCY.update({"run_steps": 2, "iot_fanout": 2, "billing": 4})


def answer_daily(meters: list[Any], run_id: str, latch: Any) -> None:
    """What the reading endpoint does for each meter's daily snapshot: store the verified
    reading, put it on the readings queue."""
    from functions.core.clock import utcnow
    from functions.core.messages import VerifiedReading
    from functions.core.meters.models import RawReadingRecord

    now = utcnow()
    records, messages = [], []
    for counter, meter in enumerate(meters, start=1):
        key = f"reading#{latch.isoformat()}#{counter:012d}"
        nonce = secrets.token_urlsafe(32)
        register = 350_000 + 9_000
        records.append(RawReadingRecord(
            meter.meter_id, key, run_id=run_id, period=latch.strftime("%Y-%m"), nonce=nonce,
            counter=counter, register_wh=register, read_at=now, received_at=now,
            property_id=meter.property_id, envelope="{}", payload="{}",
            server_key_id="bench"))
        messages.append(VerifiedReading(
            reading_key=key, meter_id=meter.meter_id, run_id=run_id,
            period=latch.strftime("%Y-%m"), nonce=nonce, counter=counter,
            register_wh=register, read_at=now, received_at=now, protocol_version=2,
            source="snapshot", snapshot_at=latch, export_wh=0,
            tod_wh=[90_000, 90_000, 90_000, 89_000], md_w=2_100, md_at=latch,
        ).model_dump_json())
    bench_fleet.store_and_queue(records, messages)


class DailyStats:
    def __init__(self) -> None:
        self.slices = 0
        self.max_meters = 0
        self.max_read = 0

    def install(self) -> None:
        from functions.core.daily.cycle import DailyCycle

        original = DailyCycle.handle
        stats = self

        def handle(cycle: Any, step: Any) -> Any:
            result = original(cycle, step)
            stats.slices += 1
            stats.max_meters = max(stats.max_meters, result.meters)
            stats.max_read = max(stats.max_read, result.items_read)
            return result

        DailyCycle.handle = handle  # type: ignore[method-assign,assignment]


def one_size(size: int, timeout: float, dynamodb_jar: Path | None,
             reconnects: int) -> dict[str, Any]:
    dynamodb = bench_fleet.start_dynamodb_local(dynamodb_jar) if dynamodb_jar else None
    stack = bench_billing.start_stack()
    from devstack.demo_data import Api, ensure_tariffs, last_period
    from functions.core.accounts.sessions import issue_session
    from functions.core.billing_rules import parse_period
    from functions.core.clock import IST, utcnow
    from functions.core.daily.cycle import daily_run_id, latch_of

    stack.admin_token = issue_session(bench_billing.new_user("admin"))
    admin = Api(stack.api.url, stack.admin_token)
    ensure_tariffs(admin)
    fleet = SilentFleet().start()
    stats = DailyStats()
    stats.install()
    try:
        day = (utcnow().astimezone(IST) - timedelta(days=1)).date()
        # Warm-up, not measured: the first requests of a process are slow.
        admin.get(f"/admin/daily-reads/{day - timedelta(days=5)}")
        print(f"[{size}] seeding {size} meters ...", file=sys.stderr, flush=True)
        meters = bench_fleet.seed(size, parse_period(last_period()), fleet.url)
        run_id = daily_run_id(day)
        counter = bench_billing.COUNTER
        counter.reset()
        counter.phase = "start"
        started = time.monotonic()
        start_ms, _ = bench_fleet.timed(lambda: admin.post(
            "/admin/daily-reads", json={"day": day.isoformat()}))
        counter.phase = "poll"
        deadline = started + timeout

        def wait(condition: Any, what: str) -> dict[str, Any]:
            print(f"[{size}] waiting for {what} ...", file=sys.stderr, flush=True)
            while True:
                view = dict(admin.get(f"/admin/daily-reads/{day}"))
                progress = _progress(run_id)
                if condition(view, progress):
                    return view
                if time.monotonic() > deadline:
                    # Report what was done by then (the counts are still per meter-day).
                    print(f"[{size}] timed out waiting for {what}: {view}", file=sys.stderr,
                          flush=True)
                    view["timed_out"] = True
                    return view
                time.sleep(0.5)

        wait(lambda v, p: p["requests_sent"] + p["delivery_failures"] >= size,
             "the read requests")
        asked_s = time.monotonic() - started
        answer_daily(meters, run_id, latch_of(run_id))
        view = wait(lambda v, p: v["read"] >= size, "the meter-days")
        read_s = time.monotonic() - started
        with counter.lock:
            counts = Counter(counter.counts)
        by_function: Counter[str] = Counter()
        for (stage, _service, _op), n in counts.items():
            if stage != "event runner (SQS polling)":
                by_function[stage] += n
        result = {
            "size": size, "start_ms": start_ms, "asked_s": asked_s, "read_s": read_s,
            "rate": view["read"] / read_s, "share": view["share_read_percent"],
            "timed_out": bool(view.get("timed_out")),
            "meters_total": view["meters_total"], "read": view["read"],
            "slices": stats.slices, "slice_max_meters": stats.max_meters,
            "slice_max_read": stats.max_read,
            "calls_per_meter_day": {k: v / max(1, view["read"])
                                    for k, v in by_function.items()},
            "dynamodb": "DynamoDB Local" if dynamodb is not None else "moto",
        }
        if reconnects:
            result["reconnect_ms"] = reconnect_rounds(stack, reconnects)
        return result
    finally:
        fleet.stop()
        stack.stop()
        if dynamodb is not None:
            dynamodb.terminate()
            dynamodb.wait(10)


def _progress(run_id: str) -> dict[str, int]:
    from functions.core.runs.progress import totals

    return totals(run_id)


def reconnect_rounds(stack: Any, rounds: int) -> list[float]:
    """Recharge webhook -> the meter's verified reconnect acknowledgement, per round."""
    import requests

    from device_client import crypto as meter_crypto
    from device_client.meter import Meter, MeterConfig
    from device_client.sender import Sender
    from device_client.server import MeterHost
    from device_client.state import StateStore
    from functions.core.accounts.sessions import issue_session
    from functions.core.clock import utcnow
    from functions.core.crypto import key_id, load_public_key_b64
    from functions.core.meters.commands import MeterCommands
    from functions.core.meters.models import MeterRecord
    from functions.core.meters.server_key import server_keys
    from functions.core.prepaid.models import PrepaidAccountRecord
    from functions.core.prepaid.service import PrepaidService
    from functions.core.properties.models import PropertyRecord
    from tests.integration.payments_support import event_body, payment_entity, post_webhook

    owner = bench_billing.new_user("customer")
    customer = requests.Session()
    customer.headers["Authorization"] = f"Bearer {issue_session(owner)}"
    key = meter_crypto.generate_private_key()
    serial, meter_id = f"RC{secrets.token_hex(4)}", f"mtr-rc{secrets.token_hex(6)}"
    connection = f"prp_rc{secrets.token_hex(6)}"
    state = Path(tempfile.mkdtemp(prefix="bench-daily-"))
    meter = Meter(MeterConfig(serial=serial, private_key=key, protocol_version=2),
                  StateStore(state), Sender(workers=1))
    host = MeterHost([meter]).start()
    now = utcnow()
    public = meter.public_key
    MeterRecord(meter_id=meter_id, serial=serial, public_key=public,
                public_key_id=key_id(load_public_key_b64(public)), model="RC-1",
                firmware="bench", endpoint_url=host.url(serial), status="active",
                property_id=connection, owner_id=owner.user_id, initial_register_wh=0,
                registered_at=now, assigned_at=now, activated_at=now, protocol_version=2).save()
    PropertyRecord(property_id=connection, owner_id=owner.user_id, line1="1 Prepaid Road",
                   city="New Delhi", state="Delhi", pincode="110001", category="residential",
                   sanctioned_load_kw="3", created_at=now, meter_id=meter_id).save()
    meter.provision(meter_id, server_keys().public_view())
    quiet = PrepaidService()  # no supply control: the bench switches the relay itself
    quiet.set_mode("bench", connection, "prepaid", now.date().replace(day=1),
                   meter_id=meter_id)
    commands = MeterCommands()
    timings = []
    try:
        for index in range(rounds):
            quiet.adjust("bench", connection, f"use-{index}", -20_000, "a week of use")
            commands.issue(meter_id, "disconnect", connection)
            quiet.accounts.update(connection, [PrepaidAccountRecord.relay.set("disconnected")])
            order = customer.post(f"{stack.api.url}/prepaid/{connection}/recharge",
                                  json={"amount_paise": 20_000}, timeout=30).json()
            body = json.dumps(event_body("payment.captured", payment=payment_entity(order)),
                              separators=(",", ":")).encode()
            began = time.perf_counter()
            post_webhook(stack.api.url, body)
            while True:
                account = quiet.accounts.get(connection)
                if account is not None and account.relay == "connected":
                    break
                if time.perf_counter() - began > 30:
                    raise SystemExit("no acknowledged reconnection within 30 s")
                time.sleep(0.005)
            timings.append((time.perf_counter() - began) * 1000)
            assert meter.state.relay == "connected"
    finally:
        host.stop()
    return timings


def report(r: dict[str, Any]) -> list[str]:
    calls = r["calls_per_meter_day"]
    lines = [
        f"== daily read cycle of {r['size']:,} meters (DynamoDB: {r['dynamodb']})"
        + (" - TIMED OUT: figures up to the timeout" if r.get("timed_out") else ""),
        f"   start {r['start_ms']:.0f} ms; every meter asked {r['asked_s']:.1f} s and every "
        f"meter-day kept {r['read_s']:.1f} s after the start: {r['rate']:.0f} meters/s; "
        f"share read {r['share']}% ({r['read']:,} of {r['meters_total']:,})",
        f"   run_steps: {r['slices']} daily slices, at most {r['slice_max_meters']} meters "
        f"and {r['slice_max_read']} items read in one",
        f"   AWS calls per meter-day (reading endpoint excluded): {sum(calls.values()):.2f} ("
        + ", ".join(f"{k} {v:.2f}" for k, v in sorted(calls.items(), key=lambda kv: -kv[1]))
        + ")",
    ]
    if r.get("reconnect_ms"):
        ms = sorted(r["reconnect_ms"])
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        lines.append(f"   recharge webhook -> acknowledged reconnect: p50 "
                     f"{statistics.median(ms):.0f} ms, p95 {p95:.0f} ms over {len(ms)} rounds "
                     "(signed command, meter's signed acknowledgement verified)")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--reconnects", type=int, default=20)
    parser.add_argument("--dynamodb", choices=("local", "moto"), default="local")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dynamodb-jar", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        result_out, sys.stdout = sys.stdout, sys.stderr
        result = one_size(args.one, args.timeout, args.dynamodb_jar, args.reconnects)
        result_out.write(json.dumps(result) + "\n")
        return 0
    isolate = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"] \
        if args.dynamodb == "local" else []
    jar = ["--dynamodb-jar", str(bench_fleet.dynamodb_local_jar())] \
        if args.dynamodb == "local" else []
    for index, size in enumerate(args.sizes):
        log = Path(tempfile.gettempdir()) / f"bench-daily-{size}.log"
        with log.open("w") as sink:
            out = subprocess.run(
                [*isolate, sys.executable, "-m", "bench.bench_daily", "--one", str(size),
                 "--timeout", str(args.timeout), *jar, "--reconnects",
                 str(args.reconnects if index == len(args.sizes) - 1 else 0)],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=sink, text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)})
        if out.returncode != 0:
            print(f"== daily cycle of {size:,} meters: failed (exit {out.returncode}); "
                  f"logs in {log}")
            continue
        print("\n".join(report(json.loads(out.stdout.strip().splitlines()[-1]))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
