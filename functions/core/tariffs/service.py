"""Tariff rules: versions per category with effective dates; a version that
priced a bill is never edited, only superseded.

- `TariffService` is what the admin API calls (create, edit, delete, list, get,
  preview).
- `TariffBook` is what the billing function calls: the version in force for a
  period, cached in the container (one GetItem of the category's catalog and
  one query per category per minute, not per bill), and `mark_used`, which
  locks a version the first time a container prices a bill of a period with it.

Why a cached list can never price a period with the wrong version: the lock is
conditional on the category's catalog revision being the one the list was
loaded at (every create, edit or delete of a version bumps it), so a list older
than the latest write fails its lock, is reloaded and the price computed again;
and once a version is locked for a period, no version may take effect on or
before that period's first day (`create` is conditional on the catalog's lock
count it checked against), so what the lock saw stays true for that period.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from functions.core.billing_rules import (
    BillingPeriod,
    PricedBill,
    TariffVersion,
    parse_period,
    period_of,
    price,
    select_tariff,
)
from functions.core.clock import utcnow
from functions.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from functions.core.money import format_inr
from functions.core.tariffs.models import TariffRecord, version_id
from functions.core.tariffs.repository import LockResult, TariffRepository
from functions.core.tariffs.schemas import PreviewRequest, PreviewResponse

CATEGORIES = ("residential", "commercial")


class TariffService:
    def __init__(self, repository: TariffRepository | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.repository = repository or TariffRepository()
        self.clock = clock

    def create(self, version: TariffVersion, created_by: str | None) -> TariffRecord:
        """A new version. It may not take effect in (or before) a period that a
        version of its category already billed: bills of one period are all
        priced alike, so a change applies from the next period on."""
        # Read the lock count before the versions: a lock that lands after this read
        # makes the create's condition fail, so the check below cannot be outrun.
        locks = self.repository.catalog(version.category).locks
        latest_billed = self._latest_billed_period(version.category)
        if latest_billed is not None and version.effective_from <= latest_billed.first_day:
            raise Conflict(
                f"{version.category} bills for {latest_billed} are already priced; a new "
                f"version must take effect after {latest_billed.first_day.isoformat()}.")
        record = TariffRecord(
            category=version.category, effective_from=version.effective_from.isoformat(),
            name=version.name, definition=version.model_dump_json(), revision=1,
            created_at=self.clock(), created_by=created_by,
        )
        self.repository.create(record, expected_locks=locks)
        return record

    def edit(self, category: str, effective_from: str, version: TariffVersion,
             edited_by: str | None) -> TariffRecord:
        """Correct a version that has not priced any bill yet (409 once it has)."""
        if version.category != category or version.effective_from.isoformat() != effective_from:
            raise InvalidInput("The category and effective_from of a version cannot change; "
                               "create a new version instead.")
        current = self.get(category, effective_from)
        if current.locked_at is not None:
            raise Conflict("This tariff version has priced bills, so it can no longer change. "
                           "Create a new version that takes effect later to supersede it.")
        record = TariffRecord(
            category=category, effective_from=effective_from, name=version.name,
            definition=version.model_dump_json(), revision=int(current.revision) + 1,
            created_at=current.created_at, created_by=current.created_by or edited_by,
            updated_at=self.clock(),
        )
        self.repository.replace(record, expected_revision=int(current.revision))
        return record

    def delete(self, category: str, effective_from: str) -> None:
        self.get(category, effective_from)  # 404 before 409
        self.repository.delete(category, effective_from)

    def get(self, category: str, effective_from: str) -> TariffRecord:
        record = self.repository.get(category, effective_from) \
            if category in CATEGORIES else None
        if record is None:
            raise NotFound("No such tariff version.")
        return record

    def list(self, category: str | None = None) -> list[TariffRecord]:
        categories = [category] if category else list(CATEGORIES)
        return [r for c in categories for r in self.repository.of_category(c)]

    def in_force(self, category: str, period: BillingPeriod) -> TariffRecord:
        """The version that prices bills of `period` (in force on its first day)."""
        return _in_force(self.repository.of_category(category), category, period)

    def preview(self, request: PreviewRequest, is_admin: bool) -> PreviewResponse:
        period = parse_period(request.period) if request.period else period_of(self.clock())
        if request.tariff is not None:
            if not is_admin:
                raise Forbidden("Only administrators can price with a draft tariff.")
            if request.tariff.category != request.category:
                raise InvalidInput("The draft tariff is for another category.")
            version, label = request.tariff, "draft"
        else:
            record = self.in_force(request.category, period)
            version, label = record.version(), record.version_id
        priced = price(version, request.units, request.sanctioned_load_kw)
        return PreviewResponse(tariff_version=label, tariff_name=version.name,
                               period=str(period), total=f"{priced.total:.2f}",
                               total_display=format_inr(priced.total), priced=priced)

    def _latest_billed_period(self, category: str) -> BillingPeriod | None:
        billed = [r.last_priced_period for r in self.repository.of_category(category)
                  if r.last_priced_period]
        return parse_period(max(billed)) if billed else None


def _in_force(records: list[TariffRecord], category: str,
              period: BillingPeriod) -> TariffRecord:
    by_version = {r.effective_from: r for r in records}
    chosen = select_tariff([r.version() for r in records], category,  # type: ignore[arg-type]
                           period.first_day)
    return by_version[chosen.effective_from.isoformat()]


@dataclass(frozen=True)
class PricingTariff:
    """A tariff version as the billing function uses it."""

    version_id: str
    category: str
    effective_from: str
    revision: int
    version: TariffVersion
    catalog_revision: int = 0  # the category's catalog revision the list was loaded at

    @property
    def late_payment_surcharge_percent(self) -> Decimal:
        return self.version.late_payment_surcharge_percent

    def price(self, units: int, sanctioned_load_kw: Decimal,
              estimate_credit: Decimal | None = None) -> PricedBill:
        if estimate_credit:
            return price(self.version, units, sanctioned_load_kw,
                         estimate_credit=estimate_credit)
        return price(self.version, units, sanctioned_load_kw)


class TariffChanged(Exception):
    """The version was edited between loading and locking it: price again."""


class TariffBook:
    """Tariff versions for billing, cached per container.

    `ttl_seconds` bounds how long the cached list is kept; correctness does not
    depend on it: `mark_used` locks a version only if neither it nor any version
    of its category was written since the list was loaded (TariffChanged
    otherwise, and the caller loads again). See the module docstring."""

    def __init__(self, repository: TariffRepository | None = None,
                 ttl_seconds: float = 60.0, clock: Callable[[], datetime] = utcnow) -> None:
        self.repository = repository or TariffRepository()
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._versions: dict[str, tuple[float, int, list[TariffRecord]]] = {}
        self._locked: set[tuple[str, int, str]] = set()

    def for_period(self, category: str, period: BillingPeriod) -> PricingTariff:
        catalog_revision, records = self._category(category)
        record = _in_force(records, category, period)
        return PricingTariff(version_id=record.version_id, category=record.category,
                             effective_from=record.effective_from,
                             revision=int(record.revision), version=record.version(),
                             catalog_revision=catalog_revision)

    def mark_used(self, tariff: PricingTariff, period: BillingPeriod) -> None:
        """Lock the version before its first bill of `period` is written (one
        TransactWriteItems per version, period and container). TariffChanged if
        the cached list was stale: load again and price again."""
        key = (tariff.version_id, tariff.revision, str(period))
        if key in self._locked:
            return
        result = self.repository.lock(tariff.category, tariff.effective_from, tariff.revision,
                                      str(period), self.clock(), tariff.catalog_revision)
        if result is not LockResult.LOCKED:
            self.forget(tariff.category)
            raise TariffChanged(f"{tariff.category} tariffs changed since they were loaded "
                                f"({result.value}); {tariff.version_id} may not be the version "
                                f"in force for {period}")
        with self._lock:
            self._locked.add(key)

    def forget(self, category: str | None = None) -> None:
        with self._lock:
            if category is None:
                self._versions.clear()
            else:
                self._versions.pop(category, None)

    def _category(self, category: str) -> tuple[int, list[TariffRecord]]:
        now = time.monotonic()
        with self._lock:
            cached = self._versions.get(category)
        if cached is not None and now - cached[0] < self.ttl_seconds:
            return cached[1], cached[2]
        # The catalog first: a write between the two reads leaves the revision
        # older than the list, which only makes the next lock fail and reload.
        revision = self.repository.catalog(category).revision
        records = self.repository.of_category(category)
        with self._lock:
            self._versions[category] = (now, revision, records)
        return revision, records


__all__ = ["PricingTariff", "TariffBook", "TariffChanged", "TariffService", "version_id"]
