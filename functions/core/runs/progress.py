"""A run's progress counters, sharded over RUN_SHARDS items (RunCounterRecord).

Every writer adds (ADD is commutative, so concurrent writers never lose a count)
to one shard item: the shard of the meter when the work is about one meter's
slice, or any shard when it is a batch of many. No item takes more than about
1/RUN_SHARDS of a run's counter writes, and the progress view reads all shards
in one BatchGetItem and sums them: exact, as long as each piece of work counts
once (the slices and batches that count do it in the transaction that marks
them done).
"""

from __future__ import annotations

import random
from typing import Any

from functions.core.runs.models import COUNTERS, RunCounterRecord
from functions.core.shards import RUN_SHARDS, shard_key


def counter_item(run_id: str, shard: int | None = None) -> RunCounterRecord:
    """The counter item of `shard` (a random one if None: for batches of many meters)."""
    chosen = random.randrange(RUN_SHARDS) if shard is None else shard
    return RunCounterRecord(counter_key=shard_key(run_id, chosen))


def count(run_id: str, shard: int | None = None, **deltas: int) -> None:
    """``count(run_id, answered=1)``: add to one or more run counters at once."""
    actions = counter_actions(**deltas)
    if actions:
        counter_item(run_id, shard).update(actions=actions)


def counter_actions(**deltas: int) -> list[Any]:
    """The update actions that add `deltas` to the run counters (for a caller that
    puts them in a transaction of its own); empty if every delta is 0."""
    unknown = set(deltas) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown run counters: {sorted(unknown)}")
    return [getattr(RunCounterRecord, name).add(delta)
            for name, delta in deltas.items() if delta]


def totals(run_id: str) -> dict[str, int]:
    """The run's counters summed over every shard (one BatchGetItem of RUN_SHARDS keys)."""
    sums = dict.fromkeys(COUNTERS, 0)
    keys = [shard_key(run_id, shard) for shard in range(RUN_SHARDS)]
    for item in RunCounterRecord.batch_get(keys, consistent_read=True):
        for name in COUNTERS:
            sums[name] += int(getattr(item, name) or 0)
    return sums
