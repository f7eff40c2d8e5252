"""A tiny Chalice app with one SQS handler, used to test the event runner the
way Lambda would call it. Behaviour is chosen per message body:
``fail`` raises (the record is reported in batchItemFailures by Powertools),
``hang`` blocks (to kill the runner mid-batch), anything else succeeds and is
recorded in SEEN."""

from __future__ import annotations

import os
import threading
import time

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from chalice import Chalice

QUEUE = os.environ.get("PROBE_QUEUE", "iotbill-test-probe")
SEEN: list[str] = []
_lock = threading.Lock()

app = Chalice(app_name="sqs-probe")


def handle_record(record) -> None:
    body = record.body
    if body.startswith("fail"):
        raise RuntimeError(f"refusing {body}")
    if body.startswith("hang"):
        marker = os.environ.get("PROBE_HANG_MARKER")
        if marker:
            open(marker, "w").close()
        time.sleep(600)
    with _lock:
        SEEN.append(body)


@app.on_sqs_message(queue=QUEUE, batch_size=10, name="probe")
def probe(event):
    return process_partial_response(event=event.to_dict(), record_handler=handle_record,
                                    processor=BatchProcessor(event_type=EventType.SQS))


@app.on_sqs_message(queue=QUEUE + "-crash", batch_size=10, name="probe_crash")
def probe_crash(event):
    raise RuntimeError("the whole invocation fails")


if __name__ == "__main__":
    # Run the event runner in its own process, so a test can kill it mid-batch.
    from devstack.event_runner import EventRunner, mappings_from_app

    runner = EventRunner([m for m in mappings_from_app(app) if m.function_name == "probe"])
    runner.start()
    threading.Event().wait()
