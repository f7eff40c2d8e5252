"""Atomic progress counters of a billing run, shared by the API, iot_fanout
and billing functions (ADD is commutative, so concurrent handlers never lose
a count)."""

from __future__ import annotations

from typing import Any

from functions.core.runs.models import COUNTERS, BillingRunRecord


def count(run_id: str, **deltas: int) -> None:
    """``count(run_id, answered=1)``: add to one or more run counters at once."""
    unknown = set(deltas) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown run counters: {sorted(unknown)}")
    actions: list[Any] = [getattr(BillingRunRecord, name).add(delta)
                          for name, delta in deltas.items() if delta]
    if actions:
        BillingRunRecord(run_id=run_id).update(actions=actions)
