"""The tariffs table behind a small repository."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError

from functions.core.errors import Conflict
from functions.core.tariffs.models import TariffRecord

_LOCKED_MESSAGE = ("This tariff version has priced bills, so it can no longer change. "
                   "Create a new version that takes effect later to supersede it.")


def _condition_failed(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


class TariffRepository:
    def get(self, category: str, effective_from: str) -> TariffRecord | None:
        try:
            return TariffRecord.get(category, effective_from, consistent_read=True)
        except DoesNotExist:
            return None

    def of_category(self, category: str) -> list[TariffRecord]:
        """Every version of a category, oldest first (one query)."""
        return list(TariffRecord.query(category, consistent_read=True))

    def create(self, record: TariffRecord) -> None:
        try:
            record.save(condition=TariffRecord.effective_from.does_not_exist())
        except PutError as error:
            if _condition_failed(error):
                raise Conflict(f"A {record.category} tariff taking effect on "
                               f"{record.effective_from} exists already.") from error
            raise

    def replace(self, record: TariffRecord, expected_revision: int) -> None:
        """Overwrite an unlocked version that is still at `expected_revision`."""
        try:
            record.save(condition=TariffRecord.effective_from.exists()
                        & TariffRecord.locked_at.does_not_exist()
                        & (TariffRecord.revision == expected_revision))
        except PutError as error:
            if _condition_failed(error):
                raise Conflict(_LOCKED_MESSAGE + " (Or someone else edited it just now: "
                               "reload and try again.)") from error
            raise

    def delete(self, category: str, effective_from: str) -> None:
        try:
            TariffRecord(category=category, effective_from=effective_from).delete(
                condition=TariffRecord.effective_from.exists()
                & TariffRecord.locked_at.does_not_exist())
        except DeleteError as error:
            if _condition_failed(error):
                raise Conflict(_LOCKED_MESSAGE) from error
            raise

    def lock(self, category: str, effective_from: str, revision: int, period: str,
             at: datetime) -> bool:
        """Mark the version as having priced a bill of `period`, provided it is
        still the revision the caller priced with. False if it was edited since
        (the caller must reload it). Idempotent: a later lock keeps the first
        `locked_at` and only moves `last_priced_period` forward."""
        record = TariffRecord(category=category, effective_from=effective_from)
        try:
            record.update(
                actions=[TariffRecord.locked_at.set(TariffRecord.locked_at | at),
                         TariffRecord.last_priced_period.set(period)],
                condition=(TariffRecord.revision == revision)
                & (TariffRecord.last_priced_period.does_not_exist()
                   | (TariffRecord.last_priced_period < period)),
            )
        except UpdateError as error:
            if not _condition_failed(error):
                raise
            current = self.get(category, effective_from)
            # Already locked for this (or a later) period at the same revision: fine.
            return current is not None and current.revision == revision \
                and current.locked_at is not None
        return True
