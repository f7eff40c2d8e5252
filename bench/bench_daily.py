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
slice handled; then every shortfall explained (class Diagnostics): meter-days kept against
counted, the time to 99% and the share read within 6 h of the start (the 06:00 IST
target), each unread meter's path (asked? reached billing? its batches' errors? in a
DLQ?), the dead-letter queues and the AWS calls botocore retried.

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


class Diagnostics:
    """Why a meter has no meter-day at the end: each meter's path through the cycle,
    recorded in this process (the runners are threads here) and read back at the end.

    asked: the fan-out batches that asked it (and their delivery failures); reached: the
    times its reading reached DailyReads.record_batch; kept: the calls that returned it as
    new (the only ones that count it); failed: the errors of batches that held it; retried:
    the AWS calls botocore retried (a retried conditional write can find its own first
    attempt's item)."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.asked: dict[str, str] = {}
        self.reached: Counter[str] = Counter()
        self.kept: Counter[str] = Counter()
        self.failed: dict[str, list[str]] = {}
        self.retried: Counter[str] = Counter()
        self.read_at: list[tuple[float, int]] = []

    def install_retries(self) -> None:
        """Before the stack starts: every botocore client made from now on reports its
        retried attempts here."""
        import botocore.session

        create_client = botocore.session.Session.create_client
        diag = self

        def hooked(session: Any, *args: Any, **kwargs: Any) -> Any:
            created = create_client(session, *args, **kwargs)
            created.meta.events.register("needs-retry", diag.on_response)
            return created

        botocore.session.Session.create_client = hooked  # type: ignore[method-assign,assignment]

    def install(self) -> None:
        """After the stack started (the handlers' modules read the stack's settings)."""
        import functions.iot_fanout.handler as fanout_handler
        from functions.core.daily.cycle import DailyReads

        diag = self
        fan_out = fanout_handler.fan_out

        def asking(batch: Any, *args: Any, **kwargs: Any) -> Any:
            result = fan_out(batch, *args, **kwargs)
            outcome = "sent" if not result.failed else \
                f"sent in a batch with {result.failed} delivery failures"
            with diag.lock:
                for meter_id in batch.meter_ids:
                    diag.asked[meter_id] = "not asked (skipped: unknown or inactive)" \
                        if meter_id in result.skipped or meter_id in result.unusable \
                        else outcome
            return result

        fanout_handler.fan_out = asking
        record_batch = DailyReads.record_batch

        def recording(reads: Any, readings: list[Any]) -> Any:
            with diag.lock:
                diag.reached.update(r.meter_id for r in readings)
            try:
                new = record_batch(reads, readings)
            except Exception as error:
                with diag.lock:
                    for reading in readings:
                        diag.failed.setdefault(reading.meter_id, []).append(
                            f"{type(error).__name__}: {str(error)[:120]}")
                raise
            with diag.lock:
                diag.kept.update(item.meter_id for item in new)
            return new

        DailyReads.record_batch = recording  # type: ignore[method-assign,assignment]

    def on_response(self, response: Any = None, caught_exception: Any = None,
                    operation: Any = None, **_: Any) -> None:
        """Every attempt's outcome; a transport error or a 5xx/throttle is retried."""
        cause = None
        if caught_exception is not None:
            cause = type(caught_exception).__name__
        elif response is not None:
            status = response[0].status_code
            code = (response[1] or {}).get("Error", {}).get("Code")
            if status >= 500 or (code and "Throttl" in code):
                cause = f"{status} {code}"
        if cause is not None:
            with self.lock:
                self.retried[f"{getattr(operation, 'name', '?')}: {cause}"] += 1


def dead_letters() -> dict[str, list[str]]:
    """The meter ids in every dead-letter queue's messages, by queue (read, not deleted)."""
    from functions.core.aws import client
    from functions.core.resources import QUEUES

    sqs, found = client("sqs"), {}
    for definition in QUEUES:
        url = sqs.get_queue_url(QueueName=definition.dlq_physical())["QueueUrl"]
        ids: list[str] = []
        for _ in range(100):  # a long visibility: each message is read once
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                      VisibilityTimeout=600).get("Messages", [])
            if not got:
                break
            for message in got:
                try:
                    body = json.loads(message["Body"])
                except ValueError:
                    body = {}
                ids += [body["meter_id"]] if "meter_id" in body else \
                    list(body.get("meter_ids") or ["(no meter id)"])
        if ids:
            found[definition.logical] = ids
    return found


def explain_unread(meters: list[Any], day: Any, diag: Diagnostics) -> dict[str, Any]:
    """Which meters have no meter-day item, and why; which items the counter missed."""
    from functions.core.daily.models import MeterDayRecord

    kept = {i.meter_id for i in MeterDayRecord.batch_get(
        [(m.meter_id, day.isoformat()) for m in meters], attributes_to_get=["meter_id"])}
    dlq = dead_letters()
    in_dlq = {meter_id: name for name, ids in dlq.items() for meter_id in ids}
    unread = {}
    for meter in meters:
        m = meter.meter_id
        if m in kept:
            continue
        reasons = [diag.asked.get(m, "never asked")]
        reasons.append(f"its reading reached the billing function {diag.reached[m]} times"
                       if diag.reached[m] else "its reading never reached the billing function")
        reasons += sorted(set(diag.failed.get(m, [])))
        if m in in_dlq:
            reasons.append(f"in the {in_dlq[m]} DLQ")
        unread[m] = "; ".join(reasons)
    uncounted = sorted(m for m in kept if not diag.kept[m])
    return {"items": len(kept), "unread": unread, "uncounted": {
        m: "; ".join([f"reached billing {diag.reached[m]} times",
                      *sorted(set(diag.failed.get(m, [])))]) for m in uncounted},
            "counted_twice": sum(1 for n in diag.kept.values() if n > 1),
            "dlq": {k: len(v) for k, v in dlq.items()}, "retried": dict(diag.retried),
            "asked": dict(Counter(diag.asked.values()))}


def one_size(size: int, timeout: float, dynamodb_jar: Path | None,
             reconnects: int) -> dict[str, Any]:
    dynamodb = bench_fleet.start_dynamodb_local(dynamodb_jar) if dynamodb_jar else None
    diag = Diagnostics()
    diag.install_retries()
    stack = bench_billing.start_stack()
    diag.install()
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
                diag.read_at.append((time.monotonic() - started, int(view["read"])))
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
        explained = explain_unread(meters, day, diag)
        # The target: 99% read by 06:00 IST, 6 h after the 00:00 IST latch (the start here).
        by_99 = next((t for t, n in diag.read_at if n >= 0.99 * size), None)
        by_6h = max((n for t, n in diag.read_at if t <= 6 * 3600), default=0)
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
            "to_99_s": by_99, "share_6h": 100 * by_6h / size, **explained,
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
    lines += explanation(r)
    if r.get("reconnect_ms"):
        ms = sorted(r["reconnect_ms"])
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        lines.append(f"   recharge webhook -> acknowledged reconnect: p50 "
                     f"{statistics.median(ms):.0f} ms, p95 {p95:.0f} ms over {len(ms)} rounds "
                     "(signed command, meter's signed acknowledgement verified)")
    return lines


def explanation(r: dict[str, Any]) -> list[str]:
    """Every shortfall in print: the meters without a meter-day (and why), the meter-days
    the counter missed, the dead-letter queues, the AWS calls retried."""
    to_99 = f"{r['to_99_s']:.1f} s" if r["to_99_s"] is not None else "not reached"
    lines = [
        f"   meter-days kept {r['items']:,} of {r['size']:,}, counted (the admin's rate) "
        f"{r['read']:,}; 99% read {to_99} after the start; read within 6 h of the start "
        f"(the 06:00 IST target) {r['share_6h']:.2f}%",
        "   meters asked: " + (", ".join(f"{n:,} {k}" for k, n in r["asked"].items())
                              or "none"),
        f"   unread meters: {len(r['unread'])}" + ("" if r["unread"] else " (none)"),
    ]
    lines += [f"     {m}: {why}" for m, why in sorted(r["unread"].items())[:30]]
    if r["uncounted"]:
        lines.append(f"   kept but never counted: {len(r['uncounted'])}")
        lines += [f"     {m}: {why}" for m, why in sorted(r["uncounted"].items())[:30]]
    if r["counted_twice"]:
        lines.append(f"   counted more than once: {r['counted_twice']}")
    lines.append("   dead-letter queues: " + (", ".join(
        f"{k} {v}" for k, v in r["dlq"].items()) or "empty"))
    lines.append("   AWS calls retried: " + (", ".join(
        f"{k} x{v}" for k, v in sorted(r["retried"].items())) or "none"))
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
