"""Atomic progress counters of a billing run, shared by the API, iot_fanout
and billing functions (ADD is commutative, so concurrent handlers never lose
a count)."""

from __future__ import annotations

from typing import Any

from functions.core.runs.models import COUNTERS, BillingRunRecord


def count(run_id: str, **deltas: int) -> None:
    """``count(run_id, answered=1)``: add to one or more run counters at once."""
    actions = counter_actions(**deltas)
    if actions:
        BillingRunRecord(run_id=run_id).update(actions=actions)


def counter_actions(**deltas: int) -> list[Any]:
    """The update actions that add `deltas` to the run counters (for a caller that
    puts them in a transaction of its own); empty if every delta is 0."""
    unknown = set(deltas) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown run counters: {sorted(unknown)}")
    return [getattr(BillingRunRecord, name).add(delta)
            for name, delta in deltas.items() if delta]
