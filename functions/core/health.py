"""Dependency checks for GET /health."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.core.aws import client
from functions.core.resources import QUEUES, TABLES


def _table_state(physical: str) -> str:
    try:
        status = client("dynamodb").describe_table(TableName=physical)["Table"]["TableStatus"]
    except (ClientError, BotoCoreError) as exc:
        return f"down: {type(exc).__name__}"
    return "ok" if status == "ACTIVE" else f"down: {status}"


def _queue_state(physical: str) -> str:
    try:
        client("sqs").get_queue_url(QueueName=physical)
    except (ClientError, BotoCoreError) as exc:
        return f"down: {type(exc).__name__}"
    return "ok"


def dependency_report() -> dict[str, Any]:
    checks: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=8) as pool:
        tables = {t.logical: pool.submit(_table_state, t.physical()) for t in TABLES}
        queues = {}
        for q in QUEUES:
            queues[q.logical] = pool.submit(_queue_state, q.physical())
            queues[f"{q.logical}-dlq"] = pool.submit(_queue_state, q.dlq_physical())
        checks["tables"] = {name: f.result() for name, f in tables.items()}
        checks["queues"] = {name: f.result() for name, f in queues.items()}
    healthy = all(v == "ok" for group in checks.values() for v in group.values())
    return {"status": "ok" if healthy else "degraded", **checks}
