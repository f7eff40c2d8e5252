"""Make moto's DynamoDB safe under concurrent requests.

moto's TransactWriteItems snapshots every table it touches and, when the
transaction is cancelled (a condition failed), restores those snapshots. Run
concurrently with other writes (the local stack serves requests on threads),
that restore silently undoes the other requests' writes, and the snapshot
itself can fail with "dictionary changed size during iteration" (HTTP 500).
Real DynamoDB isolates transactions from other writes; serialising moto's
DynamoDB requests gives the same guarantee. moto runs on one interpreter
(the GIL), so this costs little throughput.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_lock = threading.RLock()


def serialize_dynamodb() -> None:
    """Idempotent: wrap moto's DynamoDB request handler in one lock."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    if getattr(original, "serialized", False):
        return

    @functools.wraps(original)
    def call_action(self: Any) -> Any:
        with _lock:
            return original(self)

    call_action.serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
