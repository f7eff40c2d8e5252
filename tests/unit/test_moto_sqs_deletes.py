"""The local emulator's SQS keeps every message it accepted, whatever is deleted meanwhile.

moto's Queue.delete_message rebuilds the queue's list from the one it walks and assigns
it back, without the lock its sends take: with two deletes under way (the billing
function's pollers run side by side), a message sent between them was dropped
(bench_daily at 10,000 meters: about 6 daily readings never reached the billing
function). devstack/moto_patches.py makes deletes take the lock; this interleaves the
requests as two emulator threads can."""

from __future__ import annotations

import threading
from typing import Any

from devstack.moto_patches import serialize_sqs_deletes


def test_a_message_sent_during_two_deletes_is_kept() -> None:
    from moto.sqs.models import sqs_backends

    serialize_sqs_deletes()
    backend = sqs_backends["123456789012"]["ap-south-1"]
    queue = backend.create_queue("emulator-delete-race")
    for body in ("first", "second", "waiting"):
        backend.send_message(queue.name, body)
    first, second, waiting = queue._messages
    backend.receive_message(queue.name, 2, 0, 30)  # first and second, as two pollers would

    def other_requests() -> None:  # another poller's delete, then a send
        queue.delete_message(str(second.receipt_handle))
        backend.send_message(queue.name, "sent meanwhile")

    others = threading.Thread(target=other_requests)
    checked = waiting.had_receipt_handle

    def meanwhile(receipt_handle: str) -> Any:
        # The delete of "first" is walking the queue: the other requests run now (at
        # once without the lock; after this delete with it).
        if others.ident is None:
            others.start()
            others.join(0.2)
        return checked(receipt_handle)

    waiting.had_receipt_handle = meanwhile  # type: ignore[method-assign]
    try:
        queue.delete_message(str(first.receipt_handle))
        others.join(5)
        assert sorted(m.body for m in queue._messages) == ["sent meanwhile", "waiting"]
    finally:
        backend.delete_queue(queue.name)
