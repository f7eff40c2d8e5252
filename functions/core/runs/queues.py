"""Sending a run's messages: fan-out batches and run slices, ten to a call."""

from __future__ import annotations

from collections.abc import Sequence

from functions.core.aws import client
from functions.core.messages import FanoutBatch, OverdueStep, QueueMessage, RunStep
from functions.core.observability import correlation_attributes
from functions.core.resources import queue

SQS_BATCH = 10  # entries per SendMessageBatch call (the SQS limit)

_queue_urls: dict[tuple[str, str | None], str] = {}


def queue_url(logical: str) -> str:
    name = queue(logical).physical()
    key = (name, client("sqs").meta.endpoint_url)
    if key not in _queue_urls:
        _queue_urls[key] = client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
    return _queue_urls[key]


class QueueSender:
    def send_fanout(self, batches: Sequence[FanoutBatch]) -> int:
        return self._send("fanout", batches)

    def send_step(self, step: RunStep) -> None:
        self._send("run_steps", [step])

    def send_steps(self, steps: Sequence[RunStep]) -> int:
        return self._send("run_steps", steps)

    def send_overdue_steps(self, steps: Sequence[OverdueStep]) -> int:
        return self._send("overdue_steps", steps)

    def _send(self, logical: str, messages: Sequence[QueueMessage]) -> int:
        if not messages:
            return 0
        sqs, url = client("sqs"), queue_url(logical)
        attributes = correlation_attributes()  # the request that started the work
        for start in range(0, len(messages), SQS_BATCH):
            chunk = messages[start:start + SQS_BATCH]
            response = sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "MessageBody": m.model_dump_json(),
                 "MessageAttributes": attributes} for i, m in enumerate(chunk)])
            if response.get("Failed"):
                raise RuntimeError(f"{logical} queue refused {len(response['Failed'])} messages")
        return len(messages)
