"""The local SQS event source runner behaves like Lambda's event source mapping."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from devstack.event_runner import EventRunner, Mapping
from devstack.provision import ensure_queue
from functions.core.aws import client
from functions.core.resources import QueueDef
from tests.integration import sqs_probe_app


@pytest.fixture
def probe_queue(emulator) -> QueueDef:
    """A fresh queue with a short visibility timeout and a DLQ after 2 receives."""
    definition = QueueDef(f"probe-{uuid.uuid4().hex[:8]}", visibility_timeout=1,
                          max_receive_count=2)
    ensure_queue(definition)
    sqs_probe_app.SEEN.clear()
    return definition


@pytest.fixture
def queues(emulator):
    return client("sqs")


def send(sqs, queue: QueueDef, bodies: list[str]) -> None:
    url = sqs.get_queue_url(QueueName=queue.physical())["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies)])


def dlq_bodies(sqs, queue: QueueDef) -> list[str]:
    url = sqs.get_queue_url(QueueName=queue.dlq_physical())["QueueUrl"]
    found: list[str] = []
    for _ in range(5):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=1).get("Messages", [])
        found += [m["Body"] for m in messages]
        if not messages:
            break
    return found


def wait_for(condition, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def runner_for(name: str, queue: QueueDef) -> EventRunner:
    handler = sqs_probe_app.app.handler_map[name]
    return EventRunner([Mapping(name, queue.physical(), 10, handler)])


def test_one_failing_message_in_a_batch_is_the_only_one_redelivered(queues, probe_queue):
    queue = probe_queue
    tag = uuid.uuid4().hex[:6]
    good = [f"ok-{tag}-{i}" for i in range(5)]
    send(queues, queue, [*good, f"fail-{tag}"])
    runner = runner_for("probe", queue).start()
    try:
        # The failing record is received max_receive_count times, then moved to the DLQ.
        assert wait_for(lambda: f"fail-{tag}" in dlq_bodies(queues, queue), timeout=30)
    finally:
        runner.stop()
    assert sorted(sqs_probe_app.SEEN) == sorted(good), "each good message handled exactly once"
    stats = runner.stats()["probe"]
    assert stats.succeeded == 5
    assert stats.failed == probe_queue.max_receive_count


def test_a_crashing_handler_sends_the_batch_to_the_dlq_after_the_configured_receives(
        queues, probe_queue):
    queue = probe_queue
    tag = uuid.uuid4().hex[:6]
    send(queues, queue, [f"a-{tag}", f"b-{tag}"])
    runner = runner_for("probe_crash", queue).start()
    try:
        moved: list[str] = []

        def both_moved() -> bool:
            moved.extend(dlq_bodies(queues, queue))
            return len(moved) == 2

        assert wait_for(both_moved, timeout=30)
    finally:
        runner.stop()
    assert sorted(moved) == sorted([f"a-{tag}", f"b-{tag}"])
    assert runner.stats()["probe_crash"].errors == probe_queue.max_receive_count


def test_killing_the_runner_mid_batch_loses_no_message(queues, probe_queue, tmp_path: Path):
    queue = probe_queue
    tag = uuid.uuid4().hex[:6]
    bodies = [f"hang-{tag}", *[f"ok-{tag}-{i}" for i in range(4)]]
    send(queues, queue, bodies)
    marker = tmp_path / "hanging"
    env = {**os.environ, "PROBE_QUEUE": queue.physical(), "PROBE_HANG_MARKER": str(marker)}
    victim = subprocess.Popen([sys.executable, "-m", "tests.integration.sqs_probe_app"], env=env)
    try:
        assert wait_for(marker.exists, timeout=30), "the runner picked up the batch"
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
    # Nothing was deleted: after the visibility timeout every message is back.
    # This time the hanging message is made to pass so the batch can finish.
    url = queues.get_queue_url(QueueName=queue.physical())["QueueUrl"]
    received: list[str] = []

    def all_back() -> bool:
        messages = queues.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                          WaitTimeSeconds=1).get("Messages", [])
        received.extend(m["Body"] for m in messages)
        return sorted(set(received)) == sorted(bodies)

    assert wait_for(all_back, timeout=20)
    assert sorted(set(received)) == sorted(bodies)


def test_a_batching_window_gathers_messages_sent_over_time_into_one_batch(queues, emulator):
    # As in AWS, the visibility timeout must outlast the window plus the invocation.
    probe_queue = QueueDef(f"probe-{uuid.uuid4().hex[:8]}", visibility_timeout=30)
    ensure_queue(probe_queue)
    sqs_probe_app.SEEN.clear()
    tag = uuid.uuid4().hex[:6]
    handler = sqs_probe_app.app.handler_map["probe"]
    batch_sizes: list[int] = []

    def counting(event, context):
        batch_sizes.append(len(event["Records"]))
        return handler(event, context)

    runner = EventRunner([Mapping("probe", probe_queue.physical(), 10, counting,
                                  batching_window=3)]).start()
    try:
        for i in range(6):  # trickled in, as readings arrive from meters
            send(queues, probe_queue, [f"ok-{tag}-{i}"])
            time.sleep(0.2)
        assert wait_for(lambda: len(sqs_probe_app.SEEN) == 6, timeout=20)
    finally:
        runner.stop()
    assert batch_sizes == [6], "one invocation with everything the window gathered"
