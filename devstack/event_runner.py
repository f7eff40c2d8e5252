"""A local stand-in for Lambda's SQS event source mapping.

Nothing here runs Lambda code without Docker, so this does what the mapping
does: long-poll each queue, build the real Lambda SQS event, invoke the
registered Chalice handler unchanged, delete only what succeeded (honouring
``batchItemFailures``), and leave failures to the visibility timeout and the
queue's redrive policy. A message is deleted only after its handler returned,
so stopping the runner mid-batch loses nothing: the message reappears.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalice import Chalice
from chalice.app import SQSEventConfig

from functions.core.aws import client
from functions.core.logs import logger
from functions.core.settings import get_settings

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContextStub:
    """The attributes handlers and Powertools read from a Lambda context."""

    function_name: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = ""
    log_group_name: str = ""
    log_stream_name: str = ""
    deadline_ms: float = field(default_factory=lambda: time.time() * 1000 + 60_000)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self.deadline_ms - time.time() * 1000))


@dataclass
class Mapping:
    function_name: str
    queue_name: str
    batch_size: int
    handler: Handler
    # Lambda's MaximumBatchingWindowInSeconds: keep gathering until the batch is
    # full or the window has passed (0: invoke with whatever one receive returned).
    batching_window: float = 0


@dataclass
class RunnerStats:
    invocations: int = 0
    succeeded: int = 0
    failed: int = 0
    errors: int = 0


def mappings_from_app(app: Chalice) -> list[Mapping]:
    """Every ``@on_sqs_message`` handler of the Chalice app, as Lambda would map it."""
    found = []
    for source in app.event_sources:
        if isinstance(source, SQSEventConfig) and source.queue:
            found.append(Mapping(source.name, source.queue, source.batch_size,
                                 app.handler_map[source.name],
                                 source.maximum_batching_window_in_seconds or 0))
    return found


def lambda_sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    region = get_settings().aws_region
    return {"Records": [{
        "messageId": m["MessageId"],
        "receiptHandle": m["ReceiptHandle"],
        "body": m["Body"],
        "attributes": m.get("Attributes", {}),
        "messageAttributes": {
            name: {"stringValue": v.get("StringValue"), "binaryValue": v.get("BinaryValue"),
                   "stringListValues": [], "binaryListValues": [],
                   "dataType": v.get("DataType")}
            for name, v in m.get("MessageAttributes", {}).items()
        },
        "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode(),
                                                        usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    } for m in messages]}


class QueuePoller:
    """Polls one queue and feeds one handler, on its own thread."""

    def __init__(self, mapping: Mapping, stop: threading.Event, wait_seconds: int = 1) -> None:
        self.mapping = mapping
        self.stop = stop
        self.wait_seconds = wait_seconds
        self.stats = RunnerStats()
        sqs = client("sqs")
        self.queue_url = sqs.get_queue_url(QueueName=mapping.queue_name)["QueueUrl"]
        self.queue_arn = sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def poll_once(self) -> int:
        """Receive one batch and dispatch it; returns how many messages came."""
        messages = self._receive(min(10, self.mapping.batch_size), self.wait_seconds)
        if messages and self.mapping.batching_window > 0:
            deadline = time.monotonic() + self.mapping.batching_window
            while len(messages) < self.mapping.batch_size and not self.stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                wanted = min(10, self.mapping.batch_size - len(messages))
                more = self._receive(wanted, 1 if remaining >= 1 else 0)
                if not more:
                    self.stop.wait(min(0.05, remaining))  # no busy loop on an empty queue
                seen = {m["MessageId"] for m in messages}
                messages += [m for m in more if m["MessageId"] not in seen]
        if messages and not self.stop.is_set():
            self.dispatch(messages)
        return len(messages)

    def _receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        return list(client("sqs").receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=count, WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"], MessageAttributeNames=["All"],
        ).get("Messages", []))

    def dispatch(self, messages: list[dict[str, Any]]) -> None:
        event = lambda_sqs_event(messages, self.queue_arn)
        self.stats.invocations += 1
        try:
            result = self.mapping.handler(event, LambdaContextStub(self.mapping.function_name))
        except Exception:
            # Like Lambda: the whole batch becomes visible again after the timeout.
            logger.exception("handler failed; batch left for retry",
                             extra={"function": self.mapping.function_name})
            self.stats.errors += 1
            self.stats.failed += len(messages)
            return
        failed_ids = {item["itemIdentifier"]
                      for item in (result or {}).get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        self.stats.failed += len(messages) - len(done)
        self.stats.succeeded += len(done)
        for start in range(0, len(done), 10):
            client("sqs").delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(done[start:start + 10])])

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.poll_once()
            except Exception:
                logger.exception("poll failed", extra={"queue": self.mapping.queue_name})
                self.stop.wait(1)


class EventRunner:
    def __init__(self, mappings: list[Mapping], wait_seconds: int = 1) -> None:
        self.stop_event = threading.Event()
        self.pollers = [QueuePoller(m, self.stop_event, wait_seconds) for m in mappings]
        self.threads: list[threading.Thread] = []

    def start(self) -> EventRunner:
        for poller in self.pollers:
            thread = threading.Thread(target=poller.run, daemon=True,
                                      name=f"sqs-{poller.mapping.function_name}")
            thread.start()
            self.threads.append(thread)
        return self

    def stop(self, timeout: float = 15) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout)

    def stats(self) -> dict[str, RunnerStats]:
        return {p.mapping.function_name: p.stats for p in self.pollers}
