"""`make bench`: a billing run of 1,000 simulated meters on the local stack (full chain).

Everything runs as in `make run`, except that the emulator (moto's server) runs
in a process of its own, so it does not share an interpreter with the API and
the SQS functions. Meters are simulated by `python -m device_client simulate`.
Setting up a run (owners, properties, meters, the simulator's fleet file) is
bulk-loaded and not measured; the run itself goes through the whole chain:

    POST /admin/runs -> fanout queue -> iot_fanout -> read requests -> meters ->
    POST /device/readings -> readings queue -> billing -> bills; POST .../close

Printed per size:
- meters billed per second (bills issued / time from starting the run to the last bill);
- time per stage (start, read requests sent, readings in, last bill, close); "readings in"
  is the run's `answered` counter, which the billing function adds with its verdicts (the
  reading endpoint makes no counter write), so it is reached with or just before the last bill;
- AWS calls per billed meter, by stage and by service, counted with a botocore
  event hook registered on every client the process creates ('before-parameter-
  build'); the local event runner's own SQS polling stands in for Lambda's event
  source mapping and is shown apart;
- the floor: the same calls (a sample of the very requests the run made, replayed
  one after another on a fresh client right after the run, without their
  conditions so that writes that succeeded in the run succeed again) timed on
  the emulator, i.e. how many meters per second the emulator could serve if
  nothing else took time; and the ratio achieved / floor.

Targets: ratio >= 0.5; <= 6 AWS calls per billed meter.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devstack.emulator import free_port  # noqa: E402  (needs ROOT on the path)
from devstack.progress import progress  # noqa: E402

RATIO_TARGET = 0.5
MAIL_STAGE = "notifications"  # the sender's own pipeline: counted per email, apart
CALLS_TARGET = 6.0
SAMPLES_PER_OPERATION = 40
# Concurrent invocations per SQS function (what Lambda's event source mapping would
# run on a busy queue; the local runner alone runs one per function).
CONCURRENCY = {"billing": 4, "iot_fanout": 2}
RUNNER_OPERATIONS = {"ReceiveMessage", "DeleteMessageBatch", "GetQueueUrl",
                     "GetQueueAttributes"}

# moto in its own process, with DynamoDB requests serialised (devstack/moto_patches.py).
EMULATOR_MAIN = """
import sys, threading
sys.path.insert(0, {root!r})
from devstack.moto_patches import serialize_dynamodb, serialize_sqs_deletes
serialize_dynamodb()
serialize_sqs_deletes()  # moto's deletes can drop a message sent meanwhile
from bench.moto_partiql import keyed_partiql_select
keyed_partiql_select()  # moto's PartiQL serialises every table per statement
import logging
logging.getLogger("werkzeug").setLevel(logging.WARNING)
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port={port}, verbose=False)
server.start()
threading.Event().wait()
"""


# ---- counting AWS calls ------------------------------------------------------------

class CallCounter:
    """Counts every AWS call the process makes, by stage, service and operation,
    and keeps a sample of each operation's parameters for the floor."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.phase = "setup"
        self.counts: Counter[tuple[str, str, str]] = Counter()
        # (stage, service, operation) -> request parameters, for the floor
        self.samples: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)

    def stage(self, thread_name: str, operation: str) -> str | None:
        """Which part of the platform made the call (None: not counted)."""
        if thread_name.startswith("sqs-"):
            if operation in RUNNER_OPERATIONS:
                return "event runner (SQS polling)"
            for function in ("run_steps", "iot_fanout"):
                if thread_name.endswith(function):
                    return function
            if thread_name.endswith(("notification_sender", "notification_events")):
                return MAIL_STAGE
            return "billing"
        if thread_name.startswith("ThreadPoolExecutor"):
            return "iot_fanout"  # its delivery pool
        if thread_name.startswith("Thread-"):  # the API server's request threads
            return {"start": "run start (API)", "run": "reading endpoint (API)",
                    "close": "run close (API)", "progress": "run progress (API)"}.get(self.phase)
        return None  # this script: setup, progress polling, the floor replay

    def hook(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        operation = model.name
        stage = self.stage(threading.current_thread().name, operation)
        if stage is None:
            return
        service = model.service_model.service_name
        with self.lock:
            self.counts[(stage, service, operation)] += 1
            samples = self.samples[(stage, service, operation)]
            if len(samples) < SAMPLES_PER_OPERATION and stage != "event runner (SQS polling)":
                samples.append(copy.deepcopy(params))

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()
            self.samples.clear()

    def install(self) -> None:
        """Register the hook on every botocore client created from now on (boto3's
        and pynamodb's alike)."""
        import botocore.session

        original = botocore.session.Session.create_client
        counter = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            created = original(session, *args, **kwargs)
            created.meta.events.register("before-parameter-build", counter.hook)
            return created

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign,assignment]


COUNTER = CallCounter()


# ---- the local stack -------------------------------------------------------------

@dataclass
class Stack:
    emulator: subprocess.Popen[bytes]
    emulator_url: str
    api: Any
    runner: Any
    app: Any
    admin_token: str = ""
    extra: list[Any] = field(default_factory=list)

    def restart_runner(self) -> None:
        self.runner = start_runners(self.app)

    def stop(self) -> None:
        self.runner.stop()
        self.api.stop()
        self.emulator.terminate()
        self.emulator.wait(10)


def start_stack() -> Stack:
    emulator_port, api_port = free_port(), free_port()
    os.environ.update({
        "APP_STAGE": "local", "RESOURCE_PREFIX": "iotbill-bench",
        "AWS_DEFAULT_REGION": "ap-south-1",
        # The emulator accepts any credentials; these are placeholders, not secrets.
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{emulator_port}",
        "API_BASE_URL": f"http://127.0.0.1:{api_port}",
        "LOG_LEVEL": "WARNING", "POWERTOOLS_LOG_LEVEL": "WARNING",
    })
    emulator = subprocess.Popen(
        [sys.executable, "-c", EMULATOR_MAIN.format(root=str(ROOT), port=emulator_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{emulator_port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=2).close()
            break
        except OSError:
            if time.monotonic() > deadline or emulator.poll() is not None:
                raise SystemExit("the emulator did not start") from None
            time.sleep(0.2)
    COUNTER.install()
    from devstack.api_server import ApiThread
    from devstack.provision import provision

    provision()
    from app import app

    api = ApiThread(app, port=api_port).start()
    return Stack(emulator, url, api, start_runners(app), app)


class Runners:
    """Several local event runners side by side: Lambda runs up to that many
    invocations of a function at once on a busy queue (the event source mapping
    scales out); the local runner alone runs one per function."""

    def __init__(self, runners: list[Any]) -> None:
        self.runners = runners

    def stop(self) -> None:
        for runner in self.runners:
            runner.stop_event.set()
        for runner in self.runners:
            runner.stop()


def start_runners(app: Any) -> Runners:
    from devstack.event_runner import EventRunner, mappings_from_app

    mappings = mappings_from_app(app)
    runners = []
    for mapping in mappings:
        for _ in range(CONCURRENCY.get(mapping.function_name, 1)):
            runners.append(EventRunner([mapping]).start())
    return Runners(runners)


# ---- setting up a run (bulk, not measured) ---------------------------------------

@dataclass
class Fleet:
    period: str
    meter_ids: list[str]
    simulator: Any
    property_ids: set[str]


def new_user(role: str) -> Any:
    from functions.core.accounts.models import UserRecord
    from functions.core.clock import iso, utcnow

    user = UserRecord(
        user_id=f"usr_bench_{secrets.token_hex(6)}", email=f"{role}-{secrets.token_hex(5)}@"
        "example.in", name=f"Bench {role}", mobile="+9190000" + f"{secrets.randbelow(10**5):05d}",
        role=role, status="verified", role_status=f"{role}#verified", created_at=iso(utcnow()),
        email_verified=True, mobile_verified=True)
    user.save()
    return user


def set_up(stack: Stack, size: int, period: str, workdir: Path) -> Fleet:
    """Owners, properties and active meters written in bulk, and a simulator
    whose fleet file already carries each meter's provisioning."""
    from device_client.fleet import create_fleet
    from devstack.demo_data import Simulator
    from functions.core.clock import utcnow
    from functions.core.crypto import key_id, load_public_key_b64
    from functions.core.meters.models import MeterRecord
    from functions.core.meters.server_key import key_store
    from functions.core.meters.service import reading_url
    from functions.core.properties.models import PropertyRecord

    owners = [new_user("customer") for _ in range(max(1, size // 20))]
    sim_port = free_port()
    fleet_file = workdir / f"fleet-{size}.json"
    # A mixed fleet as in the field: every other meter speaks protocol v2 (billing-date
    # snapshots, ToD zones, demand), every sixth has rooftop solar (export).
    create_fleet(fleet_file, size, prefix=f"B{size}x{secrets.token_hex(2).upper()}",
                 start_at=datetime.now(UTC) - timedelta(days=30), start_register_wh=250_000,
                 v2_every=2, solar_every=6)
    fleet = json.loads(fleet_file.read_text())
    server_keys = key_store().keys().public_view()
    now = utcnow()
    meters, properties = [], []
    for index, entry in enumerate(fleet["meters"]):
        owner = owners[index % len(owners)]
        meter_id = f"mtr-{entry['serial'].lower()}"
        property_id = f"prp_bench_{secrets.token_hex(6)}"
        commercial = entry["profile"] == "commercial"
        properties.append(PropertyRecord(
            property_id=property_id, owner_id=owner.user_id, line1=f"{index + 1} Bench Road",
            city="New Delhi", state="Delhi", pincode="110001",
            category="commercial" if commercial else "residential",
            sanctioned_load_kw="10" if commercial else "3", created_at=now,
            meter_id=meter_id, meter_attached_at=now))
        public_key = entry["public_key"]
        meters.append(MeterRecord(
            meter_id=meter_id, serial=entry["serial"], public_key=public_key,
            public_key_id=key_id(load_public_key_b64(public_key)), model="SIM-1",
            firmware="sim", endpoint_url=f"http://127.0.0.1:{sim_port}/meters/"
                                         f"{entry['serial']}/read-requests",
            status="active", property_id=property_id, owner_id=owner.user_id,
            initial_register_wh=250_000, registered_at=now, assigned_at=now, activated_at=now,
            **_capabilities(entry)))
        entry.update(meter_id=meter_id, server_public_keys=server_keys,
                     reading_url=reading_url())
    fleet_file.write_text(json.dumps(fleet))
    with PropertyRecord.batch_write() as batch:
        for prop in properties:
            batch.save(prop)
    with MeterRecord.batch_write() as batch:
        for meter in meters:
            batch.save(meter)
    ready_file = workdir / f"ready-{size}.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "device_client", "simulate", "--fleet", str(fleet_file),
         "--port", str(sim_port), "--state-dir", str(workdir / f"state-{size}"),
         "--ready-file", str(ready_file), "--workers", "16", "--attempts", "5",
         "--backoff", "0.2"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    simulator = Simulator(workdir, fleet_file, process)
    deadline = time.monotonic() + 60
    while not ready_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the meter simulator did not start")
        time.sleep(0.1)
    return Fleet(period, [m.meter_id for m in meters], simulator,
                 {p.property_id for p in properties})


def _capabilities(entry: dict[str, Any]) -> dict[str, Any]:
    """The meter record's capability fields, as registration records them."""
    from device_client.fleet import capabilities

    found = capabilities(int(entry.get("protocol_version", 1)),
                         float(entry.get("solar_kwp") or 0))["capabilities"]
    return {"protocol_version": found["protocol_version"], "tod_zones": found.get("tod_zones"),
            "has_export": found.get("export"), "has_demand": found.get("demand")}


def retire(fleet: Fleet) -> None:
    from functions.core.meters.models import MeterRecord

    meters = list(MeterRecord.batch_get(fleet.meter_ids))
    with MeterRecord.batch_write() as batch:
        for meter in meters:
            meter.status = "inactive"
            batch.save(meter)


# ---- one measured run ------------------------------------------------------------------

@dataclass
class Measured:
    size: int
    billed: int
    stages: dict[str, float]
    counts: Counter[tuple[str, str, str]]
    samples: dict[tuple[str, str, str], list[dict[str, Any]]]
    # (stage, service, operation) -> seconds per call on the emulator, replayed
    floor_seconds: dict[tuple[str, str, str], float] = field(default_factory=dict)

    @property
    def run_seconds(self) -> float:
        return self.stages["last bill"]

    @property
    def rate(self) -> float:
        return self.billed / self.run_seconds if self.run_seconds else 0.0

    def function_counts(self) -> Counter[tuple[str, str, str]]:
        return Counter({k: v for k, v in self.counts.items()
                        if k[0] not in ("event runner (SQS polling)", MAIL_STAGE)})

    def mail_counts(self) -> Counter[str]:
        """The notification sender's calls (docs/notifications.md): a pipeline of its own
        since issue 25, reported per email beside the billing chain's target."""
        return Counter({f"{service}.{op}": v for (stage, service, op), v in self.counts.items()
                        if stage == MAIL_STAGE})

    def per_meter(self, counts: Counter[tuple[str, str, str]]) -> float:
        return sum(counts.values()) / self.billed if self.billed else float("inf")

    @property
    def floor_rate(self) -> float:
        seconds = sum(count / self.billed * self.floor_seconds.get(key, 0.0)
                      for key, count in self.function_counts().items())
        return 1 / seconds if seconds else float("inf")


def measure(stack: Stack, fleet: Fleet, timeout: float) -> Measured:
    from devstack.demo_data import Api
    from functions.core.bills.repository import BillRepository
    from functions.core.runs.progress import totals

    admin = Api(stack.api.url, stack.admin_token)
    size = len(fleet.meter_ids)
    COUNTER.reset()
    stages: dict[str, float] = {}
    started = time.monotonic()
    COUNTER.phase = "start"
    admin.post("/admin/runs", json={"period": fleet.period, "policy": "estimate",
                                    "window_hours": 1})
    COUNTER.phase = "run"
    stages["run started (API)"] = time.monotonic() - started
    milestones: dict[str, Callable[[dict[str, int]], bool]] = {
        "read requests sent": lambda r: r["requests_sent"] + r["delivery_failures"] >= size,
        "readings in": lambda r: r["answered"] >= size,
        "last bill": lambda r: r["bills_issued"] + r["rejected"] + r["held"] >= size,
    }
    deadline = started + timeout
    while len(stages) < 1 + len(milestones) and time.monotonic() < deadline:
        live = totals(fleet.period)
        for name, reached in milestones.items():
            if name not in stages and reached(live):
                stages[name] = time.monotonic() - started
        time.sleep(0.1)
    for name in milestones:
        stages.setdefault(name, float("nan"))
    COUNTER.phase = "close"
    closing = time.monotonic()
    admin.post(f"/admin/runs/{fleet.period}/close")
    stages["close (API)"] = time.monotonic() - closing
    while admin.get(f"/admin/runs/{fleet.period}")["status"] != "closed" \
            and time.monotonic() < deadline + 60:
        time.sleep(0.1)
    stages["closed"] = time.monotonic() - started
    COUNTER.phase = "after"
    bills = [b for b in BillRepository().for_period(fleet.period)
             if b.property_id in fleet.property_ids and not b.estimated]
    if stages["last bill"] != stages["last bill"]:  # NaN: timed out
        stages["last bill"] = time.monotonic() - started
    with COUNTER.lock:
        counts = Counter(COUNTER.counts)
        samples = {k: list(v) for k, v in COUNTER.samples.items()}
    return Measured(size, len(bills), stages, counts, samples)


def measure_floor(stack: Stack, result: Measured) -> None:
    """Replay a sample of the run's own requests, one after another, on a fresh
    client per service (not counted), with the SQS functions stopped; then put
    the queues back as they were."""
    import boto3
    from botocore.exceptions import ClientError

    stack.runner.stop()
    clients: dict[str, Any] = {}
    session = boto3.session.Session()
    for (stage, service, operation), samples in result.samples.items():
        if not samples:
            continue
        api = clients.setdefault(service, session.client(
            service, region_name=os.environ["AWS_DEFAULT_REGION"],  # type: ignore[call-overload]
            endpoint_url=stack.emulator_url))
        method = getattr(api, _snake(operation))
        started = time.perf_counter()
        for params in samples:
            with contextlib.suppress(ClientError):
                method(**_unconditional(params))
        result.floor_seconds[(stage, service, operation)] = \
            (time.perf_counter() - started) / len(samples)
    _purge_queues()
    stack.restart_runner()


def _unconditional(params: dict[str, Any]) -> dict[str, Any]:
    """The request without its conditions: a conditional write that succeeded in
    the run would fail on replay (its item exists now) and take another path."""
    replay = copy.deepcopy(params)
    replay.pop("ConditionExpression", None)
    for item in replay.get("TransactItems", []):
        for operation in item.values():
            operation.pop("ConditionExpression", None)
    return replay


def _snake(operation: str) -> str:
    from botocore import xform_name

    return str(xform_name(operation))


def _purge_queues() -> None:
    from functions.core.aws import client
    from functions.core.resources import QUEUES

    sqs = client("sqs")
    for definition in QUEUES:
        url = sqs.get_queue_url(QueueName=definition.physical())["QueueUrl"]
        sqs.purge_queue(QueueUrl=url)


# ---- report -------------------------------------------------------------------------

def report(result: Measured) -> list[str]:
    if not result.billed:
        return [f"== {result.size} meters: no bill issued (stages: {result.stages})"]
    lines = [f"== {result.size} meters: {result.billed} billed in {result.run_seconds:.1f} s "
             f"= {result.rate:.1f} meters billed per second"]
    lines.append("   time per stage (seconds since the run was started):")
    for name, seconds in result.stages.items():
        lines.append(f"     {name:28} {seconds:8.2f}")
    functions = result.function_counts()
    lines.append(f"   AWS calls per billed meter: {result.per_meter(functions):.2f} "
                 f"(target <= {CALLS_TARGET:g})")
    by_stage: dict[str, Counter[str]] = defaultdict(Counter)
    for (stage, service, op), count in functions.items():
        by_stage[stage][f"{service}.{op}"] += count
    for stage, ops in sorted(by_stage.items()):
        total = sum(ops.values()) / result.billed
        detail = ", ".join(f"{op} {count / result.billed:.2f}"
                           for op, count in ops.most_common())
        lines.append(f"     {stage:26} {total:5.2f}  ({detail})")
    by_service: Counter[str] = Counter()
    for (_, service, _op), count in functions.items():
        by_service[service] += count
    lines.append("     by service: " + ", ".join(
        f"{service} {count / result.billed:.2f}" for service, count in by_service.most_common()))
    mail = result.mail_counts()
    if mail:
        emails = mail.get("ses.SendEmail", 0) or 1
        lines.append(f"     {'notifications (per email)':26} {sum(mail.values()) / emails:5.2f}  ("
                     + ", ".join(f"{op} {count / emails:.2f}" for op, count in mail.most_common())
                     + "; not in the billing chain's total)")
    polling = sum(v for k, v in result.counts.items() if k[0] == "event runner (SQS polling)")
    lines.append(f"     not counted above: the local event runner's SQS polling "
                 f"{polling / result.billed:.2f} per meter (Lambda's event source mapping)")
    ratio = result.rate / result.floor_rate
    lines.append(f"   floor (the same calls replayed back to back on the emulator): "
                 f"{result.floor_rate:.1f} meters per second; achieved / floor = {ratio:.2f} "
                 f"(target >= {RATIO_TARGET})")
    slowest = sorted(((count / result.billed * result.floor_seconds.get(key, 0), key)
                      for key, count in functions.items()), reverse=True)[:4]
    lines.append("     emulator time per meter, largest: " + ", ".join(
        f"{stage} {op} {seconds * 1000:.1f} ms" for seconds, (stage, _, op) in slowest))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 1,000 meters: a run's fixed cost (32 listing and 32 closing slices) is spread as in
    # the field; at 100 meters it dominates the calls per meter (--sizes 100 shows it).
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000])
    parser.add_argument("--timeout", type=float, default=240, help="seconds per run")
    args = parser.parse_args()
    import tempfile

    started = time.monotonic()
    with progress("starting the emulator and the stack"):
        stack = start_stack()
    from devstack.demo_data import Api, ensure_tariffs, last_period
    from functions.core.accounts.sessions import issue_session
    from functions.core.billing_rules import parse_period

    stack.admin_token = issue_session(new_user("admin"))
    ensure_tariffs(Api(stack.api.url, stack.admin_token))
    lines: list[str] = []
    period = parse_period(last_period())
    try:
        with tempfile.TemporaryDirectory(prefix="bench-billing-") as workdir:
            for size in args.sizes:
                print(f"setting up {size} meters ...", flush=True)
                # Progress lines come from a thread of their own that makes no AWS call:
                # nothing the bench counts changes.
                with progress(f"setting up {size} meters"):
                    fleet = set_up(stack, size, str(period), Path(workdir))
                try:
                    print(f"billing run {period} of {size} meters ...", flush=True)
                    with progress(f"billing run {period} of {size} meters"):
                        result = measure(stack, fleet, args.timeout)
                finally:
                    fleet.simulator.stop()
                    retire(fleet)
                with progress("measuring the emulator's floor"):
                    measure_floor(stack, result)
                block = report(result)
                print("\n".join(block), flush=True)
                lines += block
                period = period.previous()
    finally:
        stack.stop()
    print(f"\nbench finished in {time.monotonic() - started:.0f} s (SQS functions run with "
          f"{', '.join(f'{n} x {f}' for f, n in CONCURRENCY.items())} concurrent invocations)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
