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
    Usage,
    parse_period,
    period_of,
    price_period,
    select_tariff,
)
from functions.core.billing_rules.tariff import versions_in_period
from functions.core.clock import utcnow
from functions.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from functions.core.money import format_inr
from functions.core.tariffs.categories import CategoryService
from functions.core.tariffs.models import TariffRecord, version_id
from functions.core.tariffs.repository import LockResult, TariffRepository
from functions.core.tariffs.schemas import PreviewRequest, PreviewResponse


class TariffService:
    def __init__(self, repository: TariffRepository | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 categories: CategoryService | None = None) -> None:
        self.repository = repository or TariffRepository()
        self.clock = clock
        self.categories = categories or CategoryService()

    def create(self, version: TariffVersion, created_by: str | None) -> TariffRecord:
        """A new version of an existing category. It may not take effect in (or
        before) a period that a version of its category already billed: a
        version that takes effect inside a period prices its days of it, so it
        would change bills already issued."""
        self.categories.require(version.category)
        # Read the lock count before the versions: a lock that lands after this read
        # makes the create's condition fail, so the check below cannot be outrun.
        locks = self.repository.catalog(version.category).locks
        latest_billed = self._latest_billed_period(version.category)
        if latest_billed is not None and version.effective_from <= latest_billed.last_day:
            raise Conflict(
                f"{version.category} bills for {latest_billed} are already priced; a new "
                f"version must take effect after {latest_billed.last_day.isoformat()}.")
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

    def delete_category(self, name: str) -> None:
        """An admin-added category without any tariff version (409 otherwise)."""
        has_versions = self.categories.exists(name) and bool(self.repository.of_category(name))
        self.categories.delete(name, has_versions=has_versions)

    def get(self, category: str, effective_from: str) -> TariffRecord:
        record = self.repository.get(category, effective_from) \
            if self.categories.exists(category) else None
        if record is None:
            raise NotFound("No such tariff version.")
        return record

    def list(self, category: str | None = None) -> list[TariffRecord]:
        categories = [category] if category else [c.name for c in self.categories.list()]
        return [r for c in categories for r in self.repository.of_category(c)]

    def in_force(self, category: str, period: BillingPeriod) -> TariffRecord:
        """The version that prices bills of `period` (in force on its first day)."""
        return _in_force(self.repository.of_category(category), category, period)

    def preview(self, request: PreviewRequest, is_admin: bool) -> PreviewResponse:
        period = parse_period(request.period) if request.period else period_of(self.clock())
        self.categories.require(request.category)
        if request.tariff is not None:
            if not is_admin:
                raise Forbidden("Only administrators can price with a draft tariff.")
            if request.tariff.category != request.category:
                raise InvalidInput("The draft tariff is for another category.")
            versions, label = [request.tariff], "draft"
        else:
            records = self.repository.of_category(request.category)
            record = _in_force(records, request.category, period)
            versions, label = [r.version() for r in records], record.version_id
        zones = None if request.tod_units is None else tuple(request.tod_units)
        usage = Usage(export_units=request.export_units, tod_units=zones,
                      max_demand_kw=request.max_demand_kw)
        if request.tariff is not None:  # a draft prices the whole period
            versions = [request.tariff.model_copy(update={"effective_from": period.first_day})]
        priced = price_period(versions, request.category, period.first_day, period.last_day,
                              request.units, request.sanctioned_load_kw, usage=usage,
                              banked_units=request.banked_units)
        version = versions[-1]
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
    chosen = select_tariff([r.version() for r in records], category,
                           period.first_day)
    return by_version[chosen.effective_from.isoformat()]


@dataclass(frozen=True)
class LaterVersion:
    """A version that takes effect inside the period (it prices its days)."""

    effective_from: str
    revision: int
    version: TariffVersion


@dataclass(frozen=True)
class PricingTariff:
    """The tariff versions that price a period as the billing function uses them:
    the one in force on its first day, and any taking effect inside it."""

    version_id: str
    category: str
    effective_from: str
    revision: int
    version: TariffVersion
    catalog_revision: int = 0  # the category's catalog revision the list was loaded at
    period: BillingPeriod | None = None
    later: tuple[LaterVersion, ...] = ()

    @property
    def late_payment_surcharge_percent(self) -> Decimal:
        return self.latest.late_payment_surcharge_percent

    @property
    def latest(self) -> TariffVersion:
        """The version in force at the period's end (due days, surcharge, metering)."""
        return self.later[-1].version if self.later else self.version

    def price(self, units: int, sanctioned_load_kw: Decimal,
              estimate_credit: Decimal | None = None, *, usage: Usage | None = None,
              banked_units: int = 0) -> PricedBill:
        versions = [self.version, *(v.version for v in self.later)]
        period = self.period
        if period is None:  # priced outside a period: the first day's version only
            first = last = self.version.effective_from
        else:
            first, last = period.first_day, period.last_day
        return price_period(versions, self.category, first, last, units, sanctioned_load_kw,
                            estimate_credit or Decimal("0.00"), usage=usage,
                            banked_units=banked_units)


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
        by_version = {r.effective_from: r for r in records}
        segments = versions_in_period([r.version() for r in records], category,
                                      period.first_day, period.last_day)
        later = tuple(LaterVersion(s.version.effective_from.isoformat(),
                                   int(by_version[s.version.effective_from.isoformat()].revision),
                                   s.version) for s in segments[1:])
        return PricingTariff(version_id=record.version_id, category=record.category,
                             effective_from=record.effective_from,
                             revision=int(record.revision), version=record.version(),
                             catalog_revision=catalog_revision, period=period, later=later)

    def mark_used(self, tariff: PricingTariff, period: BillingPeriod) -> None:
        """Lock the version before its first bill of `period` is written (one
        TransactWriteItems per version, period and container). TariffChanged if
        the cached list was stale: load again and price again."""
        versions = [(tariff.effective_from, tariff.revision),
                    *((v.effective_from, v.revision) for v in tariff.later)]
        for effective_from, revision in versions:
            key = (version_id(tariff.category, effective_from), revision, str(period))
            if key in self._locked:
                continue
            result = self.repository.lock(tariff.category, effective_from, revision,
                                          str(period), self.clock(), tariff.catalog_revision)
            if result is not LockResult.LOCKED:
                self.forget(tariff.category)
                raise TariffChanged(f"{tariff.category} tariffs changed since they were loaded "
                                    f"({result.value}); {key[0]} may not be the version "
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


__all__ = ["LaterVersion", "PricingTariff", "TariffBook", "TariffChanged", "TariffService",
           "version_id"]
