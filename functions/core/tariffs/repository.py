"""The tariffs table behind a small repository.

Every write of a version also bumps its category's catalog revision, in the
same transaction; billing's lock of a version is conditional on that revision
(see tariffs.models and tariffs.service)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from pynamodb.attributes import NumberAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from functions.core.db import failed_condition
from functions.core.errors import Conflict
from functions.core.tariffs.models import TariffCatalogRecord, TariffRecord

_LOCKED_MESSAGE = ("This tariff version has priced bills, so it can no longer change. "
                   "Create a new version that takes effect later to supersede it.")


@dataclass(frozen=True)
class Catalog:
    """A category's catalog counters (0 when the item does not exist yet)."""

    revision: int = 0
    locks: int = 0


class LockResult(Enum):
    LOCKED = "locked"  # locked (or already locked) at the revision priced with
    VERSION_CHANGED = "version_changed"  # the version was edited or deleted since
    CATALOG_CHANGED = "catalog_changed"  # a version of the category was written since


def _equals_or_absent(attribute: NumberAttribute, value: int) -> Condition:
    """attribute == value; for 0, also an attribute (or item) not written yet."""
    if value == 0:
        return (attribute == 0) | attribute.does_not_exist()
    return attribute == value


def _connection() -> Connection:
    return TariffRecord._get_connection().connection


class TariffRepository:
    def get(self, category: str, effective_from: str) -> TariffRecord | None:
        try:
            return TariffRecord.get(category, effective_from, consistent_read=True)
        except DoesNotExist:
            return None

    def of_category(self, category: str) -> list[TariffRecord]:
        """Every version of a category, oldest first (one query)."""
        return list(TariffRecord.query(category, consistent_read=True))

    def catalog(self, category: str) -> Catalog:
        """The category's catalog counters, strongly consistent (one GetItem)."""
        key = TariffCatalogRecord.key_for(category)
        try:
            item = TariffCatalogRecord.get(key.category, key.effective_from,
                                           consistent_read=True)
        except DoesNotExist:
            return Catalog()
        return Catalog(int(item.revision or 0), int(item.locks or 0))

    def create(self, record: TariffRecord, expected_locks: int = 0) -> None:
        """A new version, provided no version of the category was locked by billing
        since the caller read `expected_locks` (it checked the latest billed period
        then)."""
        catalog = TariffCatalogRecord.key_for(record.category)
        try:
            with TransactWrite(connection=_connection()) as transaction:
                transaction.save(record, condition=TariffRecord.effective_from.does_not_exist())
                transaction.update(catalog, actions=[TariffCatalogRecord.revision.add(1)],
                                   condition=_equals_or_absent(TariffCatalogRecord.locks,
                                                               expected_locks))
        except TransactWriteError as error:
            if failed_condition(error, 0):
                raise Conflict(f"A {record.category} tariff taking effect on "
                               f"{record.effective_from} exists already.") from error
            if failed_condition(error, 1):
                raise Conflict("A bill was priced with this category's tariff just now; "
                               "reload and try again.") from error
            raise

    def replace(self, record: TariffRecord, expected_revision: int) -> None:
        """Overwrite an unlocked version that is still at `expected_revision`."""
        catalog = TariffCatalogRecord.key_for(record.category)
        try:
            with TransactWrite(connection=_connection()) as transaction:
                transaction.save(record, condition=TariffRecord.effective_from.exists()
                                 & TariffRecord.locked_at.does_not_exist()
                                 & (TariffRecord.revision == expected_revision))
                transaction.update(catalog, actions=[TariffCatalogRecord.revision.add(1)])
        except TransactWriteError as error:
            if failed_condition(error, 0):
                raise Conflict(_LOCKED_MESSAGE + " (Or someone else edited it just now: "
                               "reload and try again.)") from error
            raise

    def delete(self, category: str, effective_from: str) -> None:
        catalog = TariffCatalogRecord.key_for(category)
        try:
            with TransactWrite(connection=_connection()) as transaction:
                transaction.delete(
                    TariffRecord(category=category, effective_from=effective_from),
                    condition=TariffRecord.effective_from.exists()
                    & TariffRecord.locked_at.does_not_exist())
                transaction.update(catalog, actions=[TariffCatalogRecord.revision.add(1)])
        except TransactWriteError as error:
            if failed_condition(error, 0):
                raise Conflict(_LOCKED_MESSAGE) from error
            raise

    def lock(self, category: str, effective_from: str, revision: int, period: str,
             at: datetime, catalog_revision: int) -> LockResult:
        """Mark the version as having priced a bill of `period`, provided it is
        still the revision the caller priced with AND no version of the category
        was written since the caller loaded its list (`catalog_revision`): one
        TransactWriteItems. Idempotent: a later lock keeps the first `locked_at`
        and only moves `last_priced_period` forward."""
        version = TariffRecord(category=category, effective_from=effective_from)
        catalog = TariffCatalogRecord.key_for(category)
        try:
            with TransactWrite(connection=_connection()) as transaction:
                transaction.update(
                    version,
                    actions=[TariffRecord.locked_at.set(TariffRecord.locked_at | at),
                             TariffRecord.last_priced_period.set(period)],
                    condition=(TariffRecord.revision == revision)
                    & (TariffRecord.last_priced_period.does_not_exist()
                       | (TariffRecord.last_priced_period < period)),
                )
                transaction.update(
                    catalog, actions=[TariffCatalogRecord.locks.add(1)],
                    condition=_equals_or_absent(TariffCatalogRecord.revision,
                                                catalog_revision))
        except TransactWriteError as error:
            if failed_condition(error, 1):
                return LockResult.CATALOG_CHANGED
            if not failed_condition(error, 0):
                raise
            current = self.get(category, effective_from)
            # Already locked for this (or a later) period at the same revision: fine.
            if current is not None and current.revision == revision \
                    and current.locked_at is not None:
                return LockResult.LOCKED
            return LockResult.VERSION_CHANGED
        return LockResult.LOCKED
