"""Small repositories over the meter tables. Services take them as arguments."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, cast

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from functions.core.errors import Conflict, InvalidInput
from functions.core.meters.models import (
    LIST_KEY,
    LIST_SHARDS,
    METER_ACTIVE,
    METER_INACTIVE,
    METER_REGISTERED,
    METER_REPLACED,
    METER_STATUSES,
    PUBKEY_GUARD_PREFIX,
    READING_PREFIX,
    REJECTED_PREFIX,
    REQUEST_OUTSTANDING,
    REQUEST_UNDELIVERABLE,
    SERIAL_GUARD_PREFIX,
    GuardRecord,
    MeterRecord,
    RawReadingRecord,
    ReadRequestRecord,
    RejectionRecord,
    serial_key,
)
from functions.core.paging import (
    Page,
    decode_cursor,
    merged_page,
    merged_tied_page,
    partition_page,
    sharded_page,
)
from functions.core.shards import RUN_SHARDS, shard_key, sharded

BATCH_GET_MAX = 100
_connections: dict[tuple[str, str | None], Connection] = {}


def _transaction() -> TransactWrite:
    """A TransactWrite on a connection reused across calls (one botocore client per
    endpoint, not one per transaction: the reading endpoint runs one per message)."""
    meta: Any = MeterRecord.Meta
    key = (meta.region, meta.host)
    if key not in _connections:
        _connections[key] = Connection(region=meta.region, host=meta.host)
    return TransactWrite(connection=_connections[key])


def _conditional_failure(error: Exception) -> bool:
    cause = getattr(error, "cause_response_code", None)
    return cause in ("ConditionalCheckFailedException", "TransactionCanceledException")


class MeterRepository:
    def get(self, meter_id: str, *, consistent: bool = True) -> MeterRecord | None:
        if _is_guard_key(meter_id):
            return None
        try:
            return MeterRecord.get(meter_id, consistent_read=consistent)
        except DoesNotExist:
            return None

    def get_many(self, meter_ids: Iterable[str]) -> dict[str, MeterRecord]:
        """Meters by id in BatchGetItem calls of up to 100 keys (missing ids are left out)."""
        wanted = sorted({m for m in meter_ids if not _is_guard_key(m)})
        found: dict[str, MeterRecord] = {}
        for start in range(0, len(wanted), BATCH_GET_MAX):
            for meter in MeterRecord.batch_get(wanted[start:start + BATCH_GET_MAX]):
                found[meter.meter_id] = meter
        return found

    def by_serial(self, serial: str) -> MeterRecord | None:
        return self._guarded(SERIAL_GUARD_PREFIX + serial)

    def by_public_key_id(self, public_key_id: str) -> MeterRecord | None:
        return self._guarded(PUBKEY_GUARD_PREFIX + public_key_id)

    def _guarded(self, guard_key: str) -> MeterRecord | None:
        try:
            guard = GuardRecord.get(guard_key, consistent_read=True)
        except DoesNotExist:
            return None
        return self.get(guard.owner_meter_id)

    def create(self, meter: MeterRecord) -> None:
        """Write a new meter and claim its serial and public key in one transaction: a
        serial or key already taken (even concurrently) raises Conflict, nothing is written."""
        try:
            with _transaction() as transaction:
                _claim(transaction, SERIAL_GUARD_PREFIX + meter.serial, meter.meter_id)
                _claim(transaction, PUBKEY_GUARD_PREFIX + meter.public_key_id, meter.meter_id)
                transaction.save(meter, condition=MeterRecord.meter_id.does_not_exist())
        except TransactWriteError as error:
            if _conditional_failure(error):
                raise Conflict("A meter with this serial or public key is already registered."
                               ) from error
            raise

    def change_key(self, meter: MeterRecord, new_public_key: str, new_key_id: str,
                   actions: list[Any]) -> None:
        """Swap the meter's key and move its public-key guard, atomically. The update is
        conditional on the key being unchanged since it was read (no lost rotation)."""
        old_key_id = meter.public_key_id
        try:
            with _transaction() as transaction:
                _claim(transaction, PUBKEY_GUARD_PREFIX + new_key_id, meter.meter_id)
                transaction.delete(GuardRecord(PUBKEY_GUARD_PREFIX + old_key_id))
                transaction.update(
                    meter,
                    actions=[MeterRecord.public_key.set(new_public_key),
                             MeterRecord.public_key_id.set(new_key_id), *actions],
                    condition=MeterRecord.public_key_id == old_key_id)
        except TransactWriteError as error:
            if _conditional_failure(error):
                raise Conflict("This public key is already in use, or the meter's key changed "
                               "meanwhile.") from error
            raise

    def replace(self, old: MeterRecord, new: MeterRecord, *, property_id: str,
                owner_id: str | None, final_register_wh: int, first_register_wh: int,
                at: datetime) -> None:
        """Retire ``old`` and fit ``new`` at the property in one transaction, recording
        the registers at the swap on both. Conflict if either changed meanwhile."""
        try:
            with _transaction() as transaction:
                transaction.update(
                    old,
                    actions=[*old.status_actions(METER_REPLACED),
                             MeterRecord.replaced_by.set(new.meter_id),
                             MeterRecord.final_register_wh.set(final_register_wh),
                             MeterRecord.replaced_at.set(at)],
                    condition=MeterRecord.status.is_in(METER_ACTIVE, METER_INACTIVE)
                    & (MeterRecord.property_id == property_id))
                new_actions: list[Any] = [
                    *new.status_actions(METER_ACTIVE),
                    MeterRecord.property_id.set(property_id),
                    MeterRecord.assigned_at.set(at),
                    MeterRecord.activated_at.set(at),
                    MeterRecord.initial_register_wh.set(first_register_wh),
                    MeterRecord.replaces.set(old.meter_id),
                    MeterRecord.replaced_meter_final_register_wh.set(final_register_wh),
                    MeterRecord.replacement_at.set(at),
                ]
                if owner_id is not None:
                    new_actions.append(MeterRecord.owner_id.set(owner_id))
                transaction.update(
                    new, actions=new_actions,
                    condition=(MeterRecord.status == METER_REGISTERED)
                    & (MeterRecord.property_id.does_not_exist()
                       | (MeterRecord.property_id == property_id)))
        except TransactWriteError as error:
            if _conditional_failure(error):
                raise Conflict("One of the meters changed meanwhile; reload and try again."
                               ) from error
            raise

    def update(self, meter: MeterRecord, actions: list[Any],
               condition: Condition | None = None) -> bool:
        """Conditional update; False if the condition did not hold (nothing written)."""
        try:
            meter.update(actions=actions, condition=condition)
        except Exception as error:
            if _conditional_failure(error):
                return False
            raise
        return True

    def search(self, *, status: str | None = None, property_id: str | None = None,
               serial: str | None = None, cursor: str | None = None,
               limit: int = 50) -> Page[MeterRecord]:
        """The admin's list, a page at a time: a property's meters whole; meters whose
        serial starts with `serial` (any case), in serial order; else every meter or one
        status's, newest registered first. Each page reads keys from one index (at most
        limit from each of its 4 to 16 partitions), then the meters by key: no scan."""
        if property_id is not None:
            meters = [m for m in MeterRecord.by_property.query(property_id, limit=limit)
                      if status is None or m.status == status]
            meters.sort(key=lambda m: (m.registered_at, m.meter_id), reverse=True)
            return Page(meters, None)
        if serial:
            keys = merged_page(MeterRecord.by_serial, _list_shards(LIST_KEY), "serial_key",
                               cursor, limit, descending=False, prefix=serial_key(serial))
        else:
            statuses = [status] if status is not None else list(METER_STATUSES)
            keys = merged_page(MeterRecord.by_recent,
                               [p for s in statuses for p in _list_shards(s)], "list_sort",
                               cursor, limit, descending=True)
        found = self.get_many(k.meter_id for k in keys.items)
        # The index lags the item a little: the status shown is the item's own.
        meters = [found[k.meter_id] for k in keys.items if k.meter_id in found
                  and (status is None or found[k.meter_id].status == status)]
        return Page(meters, keys.cursor)

    def iter_active(self) -> Iterator[MeterRecord]:
        """Every active meter, shard by shard (tests and tools; a run lists by page)."""
        for shard in range(RUN_SHARDS):
            yield from MeterRecord.by_status.query(shard_key(METER_ACTIVE, shard))

    def active_page(self, shard: int, start_key: dict[str, Any] | None, limit: int
                    ) -> tuple[list[MeterRecord], dict[str, Any] | None]:
        """Up to `limit` active meters of one shard in meter-id order, from `start_key`
        on, and the key to go on from (None: the shard is done)."""
        result = MeterRecord.by_status.query(shard_key(METER_ACTIVE, shard), limit=limit,
                                             last_evaluated_key=start_key)
        meters = list(result)
        return meters, result.last_evaluated_key

    def for_property(self, property_id: str) -> list[MeterRecord]:
        return list(MeterRecord.by_property.query(property_id))


def _list_shards(value: str) -> list[str]:
    return [shard_key(value, shard) for shard in range(LIST_SHARDS)]


def _claim(transaction: TransactWrite, guard_key: str, meter_id: str) -> None:
    transaction.save(GuardRecord(guard_key, owner_meter_id=meter_id),
                     condition=GuardRecord.meter_id.does_not_exist())


def _is_guard_key(key: str) -> bool:
    return key.startswith((SERIAL_GUARD_PREFIX, PUBKEY_GUARD_PREFIX))


class ReadRequestRepository:
    def get(self, nonce: str) -> ReadRequestRecord | None:
        try:
            return ReadRequestRecord.get(nonce, consistent_read=True)
        except DoesNotExist:
            return None

    def put_new(self, requests: list[ReadRequestRecord]) -> None:
        """Store new requests with BatchWriteItem (25 per call). A nonce is 256 random
        bits, so a collision with an existing item does not happen in practice; the
        single-use rule is enforced when a request is answered (conditional update)."""
        with ReadRequestRecord.batch_write() as batch:
            for request in requests:
                batch.save(request)

    def put_one(self, request: ReadRequestRecord) -> None:
        """Store one request; refuses to overwrite an existing nonce."""
        try:
            request.save(condition=ReadRequestRecord.nonce.does_not_exist())
        except PutError as error:
            if _conditional_failure(error):
                raise Conflict("A read request with this nonce exists.") from error
            raise

    def mark_undeliverable(self, request: ReadRequestRecord, error: str, attempts: int) -> None:
        try:
            request.update(
                actions=[ReadRequestRecord.status.set(REQUEST_UNDELIVERABLE),
                         ReadRequestRecord.delivery_error.set(error[:500]),
                         ReadRequestRecord.delivery_attempts.set(attempts)],
                condition=ReadRequestRecord.status == REQUEST_OUTSTANDING)
        except Exception as exc:
            if not _conditional_failure(exc):  # already answered: the answer wins
                raise

    def for_run(self, run_id: str, meter_id: str | None = None) -> list[ReadRequestRecord]:
        if meter_id is not None:
            return list(ReadRequestRecord.by_run.query(
                sharded(run_id, meter_id), ReadRequestRecord.meter_id == meter_id))
        return [r for shard in range(RUN_SHARDS)
                for r in ReadRequestRecord.by_run.query(shard_key(run_id, shard))]

    def in_range(self, run_id: str, shard: int, first: str, last: str
                 ) -> list[ReadRequestRecord]:
        """The run's requests to the meters of `shard` with ids in [first, last]."""
        return list(ReadRequestRecord.by_run.query(
            shard_key(run_id, shard), ReadRequestRecord.meter_id.between(first, last)))


class ReadingRepository:
    def readings_of(self, meter_id: str, *, newest_first: bool = True,
                    limit: int | None = None) -> list[RawReadingRecord]:
        return list(RawReadingRecord.query(
            meter_id, RawReadingRecord.reading_key.startswith(READING_PREFIX),
            scan_index_forward=not newest_first, limit=limit))

    def readings_for_run(self, run_id: str) -> list[RawReadingRecord]:
        """Every reading of a run, shard by shard (background work; a request pages)."""
        return [r for shard in range(RUN_SHARDS)
                for r in RawReadingRecord.by_run.query(shard_key(run_id, shard))]

    def readings_in_range(self, run_id: str, shard: int, first: str, last: str
                          ) -> list[RawReadingRecord]:
        """The run's readings from the meters of `shard` with ids in [first, last]."""
        return list(RawReadingRecord.by_run.query(
            shard_key(run_id, shard), RawReadingRecord.meter_id.between(first, last)))

    def run_page(self, run_id: str, cursor: str | None, limit: int,
                 status: str | None = None) -> Page[RawReadingRecord]:
        return sharded_page(RawReadingRecord.by_run, run_id, cursor, limit,
                            keep=lambda r: status is None or r.status == status)

    def get_reading(self, meter_id: str, reading_key: str) -> RawReadingRecord | None:
        try:
            return RawReadingRecord.get(meter_id, reading_key, consistent_read=True)
        except DoesNotExist:
            return None

    def add_rejection(self, rejection: RejectionRecord) -> None:
        rejection.save()

    def rejection_page(self, *, meter_id: str | None = None, run_id: str | None = None,
                       reason: str | None = None, cursor: str | None = None,
                       limit: int = 50) -> Page[RejectionRecord]:
        """Recorded rejections, newest first, a page at a time: one meter's from its own
        partition, else all of them merged across the shards of the rejections index.
        Filters apply to what a page read (so a filtered page may be short, its cursor
        goes on): a request reads about RUN_SHARDS x limit items, never the table."""
        def keep(r: RejectionRecord) -> bool:
            return ((run_id is None or r.claimed_run_id == run_id)
                    and (reason is None or r.reason == reason))

        if meter_id is not None:
            # The table itself: the meter's reading keys ("rejected#<time>#<id>") sort by
            # time, so its partition needs no index. The merged list's cursor is not a
            # start key here (moto would not say so, DynamoDB would).
            if "after" in (decode_cursor(cursor)[1] or {}):
                raise InvalidInput("The cursor is not one this list gave out.")
            return partition_page(cast(Any, RejectionRecord), meter_id, cursor, limit, keep,
                                  range_key_condition=RejectionRecord.reading_key.startswith(
                                      REJECTED_PREFIX), scan_index_forward=False)
        return merged_tied_page(RejectionRecord.by_rejections,
                                [shard_key("rejected", s) for s in range(RUN_SHARDS)],
                                "received_at", cursor, limit, descending=True,
                                tiebreak=lambda r: f"{r.meter_id}#{r.reading_key}", keep=keep)

    def rejections(self, *, meter_id: str | None = None, run_id: str | None = None,
                   reason: str | None = None, limit: int = 50) -> list[RejectionRecord]:
        """The first page of rejection_page, at most 100 (the run's readings show these)."""
        return self.rejection_page(meter_id=meter_id, run_id=run_id, reason=reason,
                                   limit=min(limit, 100)).items
