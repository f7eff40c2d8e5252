"""Fan-out batches recorded once: the marker of a done batch and its run counters
are written in one transaction, so a batch SQS delivers twice counts once."""

from __future__ import annotations

from datetime import timedelta

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from functions.core.clock import epoch, utcnow
from functions.core.db import failed_condition
from functions.core.messages import FanoutBatch
from functions.core.runs import progress
from functions.core.runs.models import RunSliceRecord
from functions.core.shards import shard_of

BATCH_RETENTION = timedelta(days=40)


def batch_done(batch: FanoutBatch) -> bool:
    if batch.batch_key is None:
        return False
    try:
        RunSliceRecord.get(batch.batch_key, consistent_read=True)
    except RunSliceRecord.DoesNotExist:
        return False
    return True


def record_batch(batch: FanoutBatch, counts: dict[str, int]) -> None:
    """Add the batch's counts to the run, with its marker if it has a key (a second
    delivery that raced this one to the end adds nothing)."""
    actions = progress.counter_actions(**counts)
    shard = shard_of(batch.meter_ids[0])
    if batch.batch_key is None:
        if actions:
            progress.counter_item(batch.run_id, shard).update(actions=actions)
        return
    marker = RunSliceRecord(batch.batch_key, state="sent",
                            purge_at_epoch=epoch(utcnow() + BATCH_RETENTION))
    try:
        with TransactWrite(connection=RunSliceRecord._get_connection().connection) as tx:
            tx.save(marker, condition=RunSliceRecord.slice_key.does_not_exist())
            if actions:
                tx.update(progress.counter_item(batch.run_id, shard), actions=actions)
    except TransactWriteError as error:
        if failed_condition(error, 0):
            return
        raise
