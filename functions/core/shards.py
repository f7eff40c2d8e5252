"""Shard numbers: how a billing run's writes are spread over index partitions
and counter items (docs/scale.md).

DynamoDB gives one partition (of a table or of an index) about 1,000 writes/s.
A run of 1,000,000 meters in 15 minutes writes ~1,100 meters/s, several items
each, so every index key that would gather a whole run, period or status on one
partition carries a shard suffix instead: ``<value>#<shard:02d>``. The shard of
a meter is a stable hash of its id, the same for the meters-by-status index, the
run's read requests and readings, the run's silent meters and its counter items,
so one listing slice reads and writes within one shard.
"""

from __future__ import annotations

import zlib

RUN_SHARDS = 32  # 1,100 meters/s over 32 partitions: ~35 writes/s each, 3.5% of the limit


def shard_of(key: str, shards: int = RUN_SHARDS) -> int:
    """A stable shard in [0, shards) (CRC-32: fast, and the same in every process)."""
    return zlib.crc32(key.encode()) % shards


def sharded(value: str, key: str, shards: int = RUN_SHARDS) -> str:
    """``value`` with the shard of ``key``: "active#07"."""
    return shard_key(value, shard_of(key, shards))


def shard_key(value: str, shard: int) -> str:
    return f"{value}#{shard:02d}"
