"""Faults on the running stack (issue 18, item 5), end to end with simulated meters:

- the SQS function runner killed (SIGKILL) in the middle of a run and restarted;
- the same run started twice at once;
- the messages of every queue (run steps, fan-out, readings) delivered twice by hand;
- the API restarted in the middle of a run.

After each, and after closing the run, every property has exactly one bill for the period
and no reading is lost (every meter's reading is stored and judged, one accepted per meter).
Each test prints the counts it checked. They drive the run through its public API (start,
progress, close) and wait by polling, so they hold whether a run's steps are synchronous or
queued. Each test bills a period of its own, with v2 meters that latched that period's
billing snapshot (fitted 300 days before), on a fleet of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devstack.api_server import ApiThread
from devstack.demo_data import Api, DemoUser, FittedMeter, MeterPlan, fit_meters, start_simulator
from devstack.emulator import free_port
from devstack.event_runner import (
    EventRunner,
    LambdaContextStub,
    lambda_sqs_event,
    mappings_from_app,
)
from functions.core.accounts.sessions import issue_session
from functions.core.aws import client
from functions.core.billing_rules import period_of
from functions.core.meters.models import MeterRecord, RawReadingRecord
from functions.core.meters.repositories import ReadRequestRepository
from functions.core.resources import QUEUES, queue
from functions.core.settings import reload_settings
from tests.integration.billing_support import a_customer, ensure_reference_tariffs, retire

ROOT = Path(__file__).resolve().parents[2]
METERS = 8
FAST_REDELIVERY = "5"  # seconds: what a dead consumer held comes back this soon


def months_back(n: int) -> str:
    period = period_of(datetime.now(UTC))
    for _ in range(n):
        period = period.previous()
    return str(period)


# Periods no other test bills (e2e: 1 month back, protocol v2: 4, browser journeys: 6, 7).
KILLED_RUNNER_PERIOD = months_back(2)
TWICE_AT_ONCE_PERIOD = months_back(3)
DELIVERED_TWICE_PERIOD = months_back(5)
API_RESTART_PERIOD = months_back(8)


@dataclass
class Fleet:
    fitted: list[FittedMeter]
    as_admin: Any

    def property_ids(self) -> list[str]:
        return [f.property_id for f in self.fitted]


@pytest.fixture
def say(capsys: pytest.CaptureFixture[str]) -> Callable[[str], None]:
    def emit(line: str) -> None:
        with capsys.disabled():
            print(f"\n{line}", flush=True)
    return emit


@pytest.fixture
def fast_redelivery(emulator: str) -> Iterator[None]:
    """Short visibility timeouts on every queue for the test, so what a killed consumer
    held reappears in seconds (Lambda would wait the queue's full timeout)."""
    sqs = client("sqs")
    urls = {d.logical: sqs.get_queue_url(QueueName=d.physical())["QueueUrl"]
            for d in QUEUES}
    for url in urls.values():
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": FAST_REDELIVERY})
    yield
    for name, url in urls.items():
        sqs.set_queue_attributes(QueueUrl=url, Attributes={
            "VisibilityTimeout": str(queue(name).visibility_timeout)})


@pytest.fixture
def fleet(stack: Any, admin: Any, tmp_path: Path) -> Iterator[Fleet]:
    _, as_admin = admin
    ensure_reference_tariffs(as_admin)
    user = a_customer(name="Fault Owner")
    owner = DemoUser(user.user_id, user.name, user.email, user.mobile, user.role, "",
                     issue_session(user))
    plans = [MeterPlan(owner=owner, initial_register_wh=1_000_000 + 77_000 * i,
                       protocol_version=2, label=f"fault-{i}") for i in range(METERS)]
    simulator, serials = start_simulator(plans, directory=tmp_path, installed_days_ago=300)
    fitted: list[FittedMeter] = []
    try:
        fitted = fit_meters(Api(stack.api.base_url, as_admin.token), simulator, plans, serials)
        yield Fleet(fitted, as_admin)
    finally:
        simulator.stop()
        retire(m for f in fitted if (m := MeterRecord.get(f.meter_id)))


# ---- observing the outcome through the API -------------------------------------------

def bills_by_property(fleet: Fleet, period: str) -> dict[str, list[dict[str, Any]]]:
    found = {}
    for property_id in fleet.property_ids():
        response = fleet.as_admin.get("/admin/bills", params={"property_id": property_id})
        assert response.status_code == 200, response.text
        found[property_id] = [b for b in response.json()["bills"] if b["period"] == period]
    return found


def billed_count(fleet: Fleet, period: str) -> int:
    return sum(1 for bills in bills_by_property(fleet, period).values() if bills)


def readings_by_meter(fleet: Fleet, period: str) -> dict[str, list[RawReadingRecord]]:
    return {f.meter_id: [r for r in RawReadingRecord.query(
        f.meter_id, RawReadingRecord.reading_key.startswith("reading#"), consistent_read=True)
        if r.run_id == period] for f in fleet.fitted}


def wait_until(condition: Callable[[], Any], timeout: float, what: str,
               step: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(step)


def start_run(api: Any, period: str) -> int:
    response = api.post("/admin/runs", json={"period": period, "policy": "no_bill",
                                             "window_hours": 1})
    assert response.status_code in (202, 409), response.text
    return int(response.status_code)


def close_run(fleet: Fleet, period: str) -> dict[str, Any]:
    # A close asked while a (re)start is still listing meters is not queued (the run
    # service returns the view unchanged), so wait for the listing to end first.
    wait_until(lambda: fleet.as_admin.get(f"/admin/runs/{period}").json()["phase"]
               != "listing", 60, f"run {period} to finish listing")
    response = fleet.as_admin.post(f"/admin/runs/{period}/close")
    assert response.status_code in (200, 202, 409), response.text  # 409: closing already

    last: dict[str, Any] = {}

    def closed() -> dict[str, Any] | None:
        last.update(fleet.as_admin.get(f"/admin/runs/{period}").json())
        return last if last["status"] == "closed" else None

    try:
        return dict(wait_until(closed, 120, f"run {period} to close"))
    except AssertionError as error:
        shown = {k: last.get(k) for k in ("status", "phase", "phase_progress", "progress")}
        raise AssertionError(f"{error}: {shown}") from None


def every_property_billed(fleet: Fleet, period: str, timeout: float = 150,
                          log: Path | None = None) -> None:
    try:
        wait_until(lambda: billed_count(fleet, period) == METERS, timeout,
                   f"a bill for each of the {METERS} properties ({period})", step=1)
    except AssertionError as error:
        runner = f"; the runner's log ends: {tail(log)}" if log else ""
        raise AssertionError(f"{error}: {what_is_stuck(fleet, period)}{runner}") from None


def check_outcome(fleet: Fleet, period: str, fault: str, say: Callable[[str], None]) -> None:
    """Exactly one bill per property for the period, every reading stored and judged."""
    bills = bills_by_property(fleet, period)
    readings = readings_by_meter(fleet, period)
    for meter in fleet.fitted:
        got = bills[meter.property_id]
        assert len(got) == 1, (fault, meter.property_id, [b["bill_id"] for b in got])
        assert got[0]["estimated"] is False, got[0]
        stored = readings[meter.meter_id]
        assert stored, f"{fault}: no reading of {meter.meter_id} was stored"
        assert all(r.status != "received" for r in stored), [r.status for r in stored]
        assert [r.status for r in stored].count("accepted") == 1, [
            (r.status, r.validation_reason) for r in stored]
    bill_ids = [b["bill_id"] for found in bills.values() for b in found]
    assert len(bill_ids) == len(set(bill_ids)) == METERS
    stored_count = sum(len(found) for found in readings.values())
    accepted = sum(1 for found in readings.values() for r in found if r.status == "accepted")
    say(f"faults/{fault} ({period}): {METERS} properties, {len(bill_ids)} bills (one each), "
        f"{stored_count} readings stored, {accepted} accepted, "
        f"{stored_count - accepted} judged duplicates, 0 lost")


# ---- runners ---------------------------------------------------------------------------

def restart_in_process_runner(stack: Any) -> None:
    from app import app

    stack.runner = EventRunner(mappings_from_app(app)).start()


def runner_process(log: Path) -> subprocess.Popen[bytes]:
    """The runner in a process of its own, its output appended to `log`. A file, not a
    pipe: a pipe nobody reads fills up (64 KiB, a few logged tracebacks) and then every
    thread of the runner that logs blocks for good, and the run stops billing."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.fault_runner"], cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"},
            stdout=output, stderr=subprocess.STDOUT)
    started = log.read_bytes().count(b"ready\n")
    wait_until(lambda: process.poll() is not None
               or log.read_bytes().count(b"ready\n") > started, 60, "the runner to start",
               step=0.1)
    assert process.poll() is None, f"the runner exited: {tail(log)}"
    return process


def tail(log: Path, size: int = 4000) -> str:
    return log.read_bytes()[-size:].decode(errors="replace") if log.exists() else ""


def what_is_stuck(fleet: Fleet, period: str) -> str:
    """What a timed-out wait saw: the run, each meter's readings and requests, and every
    queue's waiting, in-flight and dead-lettered messages."""
    sqs = client("sqs")
    depth = {}
    for definition in QUEUES:
        for name in (definition.physical(), definition.dlq_physical()):
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
            depth[name] = (int(found["Attributes"]["ApproximateNumberOfMessages"]),
                           int(found["Attributes"]["ApproximateNumberOfMessagesNotVisible"]))
    readings = {meter: [r.status for r in found]
                for meter, found in readings_by_meter(fleet, period).items()}
    requests = {f.meter_id: [r.status for r in ReadRequestRepository().for_run(
        period, f.meter_id)] for f in fleet.fitted}
    run = fleet.as_admin.get(f"/admin/runs/{period}").json()
    shown = {k: run.get(k) for k in ("status", "phase", "phase_progress", "progress")}
    return (f"run {shown}; readings {readings}; requests {requests}; "
            f"queues (waiting, in flight) {depth}")


# ---- the faults --------------------------------------------------------------------------

def test_the_function_runner_killed_mid_run_and_restarted(stack, fleet, fast_redelivery, say,
                                                          tmp_path):
    period = KILLED_RUNNER_PERIOD
    log = tmp_path / "runner.log"
    stack.runner.stop()  # the functions now run in a process of their own, to be killed
    process = runner_process(log)
    try:
        assert start_run(fleet.as_admin, period) == 202
        wait_until(lambda: billed_count(fleet, period) >= 1, 90, "the first bill", step=0.2)
        billed_at_kill = billed_count(fleet, period)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        say(f"faults/killed-runner: SIGKILL with {billed_at_kill} of {METERS} properties "
            "billed; restarted")
        process = runner_process(log)  # restarted: the state is in the emulator, not in it
        every_property_billed(fleet, period, log=log)
    finally:
        process.kill()
        process.wait(10)
        restart_in_process_runner(stack)
    close_run(fleet, period)
    check_outcome(fleet, period, "killed-runner", say)


def test_the_same_run_started_twice_at_once(stack, fleet, fast_redelivery, say):
    period = TWICE_AT_ONCE_PERIOD
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def start() -> None:
        barrier.wait()
        answers.append(start_run(fleet.as_admin, period))

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(answers) in ([202, 202], [202, 409]), answers
    every_property_billed(fleet, period)
    again = start_run(fleet.as_admin, period)  # and once more while it runs: gaps only
    closing = [threading.Thread(target=lambda: fleet.as_admin.post(
        f"/admin/runs/{period}/close")) for _ in range(2)]
    for thread in closing:
        thread.start()
    for thread in closing:
        thread.join(60)
    close_run(fleet, period)
    say(f"faults/twice-at-once: starts answered {sorted(answers)}, a third {again}; "
        "closed twice at once")
    check_outcome(fleet, period, "twice-at-once", say)


def test_every_queue_message_delivered_twice(stack, fleet, fast_redelivery, say):
    """No runner: each batch of each queue is handed to its function twice by hand, then
    deleted (what SQS's at-least-once delivery allows)."""
    from app import app

    period = DELIVERED_TWICE_PERIOD
    stack.runner.stop()
    mappings = mappings_from_app(app)
    sqs = client("sqs")
    urls = {m.function_name: sqs.get_queue_url(QueueName=m.queue_name)["QueueUrl"]
            for m in mappings}
    arns = {name: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"] for name, url in urls.items()}
    delivered: dict[str, int] = {m.function_name: 0 for m in mappings}
    try:
        assert start_run(fleet.as_admin, period) == 202
        deadline = time.monotonic() + 150
        while billed_count(fleet, period) < METERS:
            assert time.monotonic() < deadline, f"billed {billed_count(fleet, period)}"
            for mapping in mappings:
                url = urls[mapping.function_name]
                messages = sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=min(10, mapping.batch_size),
                    WaitTimeSeconds=0, AttributeNames=["All"],
                    MessageAttributeNames=["All"]).get("Messages", [])
                if not messages:
                    continue
                event = lambda_sqs_event(messages, arns[mapping.function_name])
                for _ in range(2):
                    mapping.handler(event, LambdaContextStub(mapping.function_name))
                delivered[mapping.function_name] += len(messages)
                for start in range(0, len(messages), 10):
                    sqs.delete_message_batch(QueueUrl=url, Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(messages[start:start + 10])])
            time.sleep(0.3)
    finally:
        restart_in_process_runner(stack)
    assert all(delivered[name] for name in ("iot_fanout", "billing")), delivered
    say(f"faults/delivered-twice: messages handled twice by function {delivered}")
    close_run(fleet, period)
    check_outcome(fleet, period, "delivered-twice", say)


def test_the_api_restarted_mid_run(stack, fleet, fast_redelivery, say):
    """The meters answer to an API of this test's own (API_BASE_URL), which is stopped
    after the first bill and started again on the same port at once: a reading the API
    took is never lost, and a meter that met the closed port retries (as meters do)."""
    from app import app
    from tests.fixtures.stack import ApiClient

    period = API_RESTART_PERIOD
    port = free_port()
    api = ApiThread(app, port=port).start()
    previous_base = os.environ["API_BASE_URL"]
    os.environ["API_BASE_URL"] = api.url
    reload_settings()
    own = ApiClient(api.url, fleet.as_admin.token)
    try:
        assert start_run(own, period) == 202
        wait_until(lambda: billed_count(fleet, period) >= 1, 90, "the first bill", step=0.2)
        billed_before = billed_count(fleet, period)
        api.stop()
        api = ApiThread(app, port=port).start()
        say(f"faults/api-restart: API stopped with {billed_before} of {METERS} properties "
            "billed, started again on the same port")
        wait_until(lambda: own.get("/health").status_code == 200, 30, "the API")
        every_property_billed(fleet, period)
        close_run(fleet, period)
    finally:
        api.stop()
        os.environ["API_BASE_URL"] = previous_base
        reload_settings()
    check_outcome(fleet, period, "api-restart", say)
