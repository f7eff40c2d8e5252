"""What a property's earlier bills say: the last actual reading, the estimated
periods since, and the monthly consumption that spike checks and estimates use.

Bills are the record of accepted readings: a reading is accepted exactly when
it is billed, and the bill keeps its register and time. Bill ids are
deterministic (BILL-<property>-<period>), so the bills of the last
HISTORY_MONTHS periods are fetched by key, for a whole SQS batch in one or two
BatchGetItem calls, instead of one query per reading. Only a property older
than that window with no bill inside it (a long silence) needs a query.

Only the first share of a split bill is used: it carries the property-level
figures (units, registers, estimated), and its line items keep the whole
property's amount of each line (`property_amount`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from functions.core.billing_rules import BillingPeriod
from functions.core.bills.models import BillRecord, bill_id_for
from functions.core.bills.repository import BillRepository
from functions.core.money import sum_money
from functions.core.properties.models import PropertyRecord

# Periods looked up by key before a reading's period: covers the spike window
# (6 months) and the estimate window (3 months) with room for silent months.
HISTORY_MONTHS = 12


@dataclass(frozen=True)
class PeriodBill:
    """A property's bill for one period, as its first share records it."""

    period: str
    first: BillRecord

    @property
    def estimated(self) -> bool:
        return bool(self.first.estimated)

    @property
    def units(self) -> int:
        return int(self.first.units)

    @property
    def share_count(self) -> int:
        return int(self.first.share_count or 1)

    @property
    def energy_total(self) -> Decimal:
        """The whole property's energy charge for the period."""
        return sum_money(Decimal(line.property_amount or line.amount)
                         for line in self.first.line_items if line.kind == "energy")

    def monthly_actual_units(self) -> list[int]:
        """Actual units per month this bill measured: a bill that trued up k
        estimated months measured k + 1 months of consumption."""
        months = 1 + len(self.first.trued_up_periods or [])
        measured = int(self.first.actual_units if self.first.actual_units is not None
                       else self.first.units)
        average = (Decimal(measured) / months).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return [int(average)] * months


class PropertyHistory:
    def __init__(self, bills: Iterable[BillRecord]) -> None:
        firsts = {b.period: b for b in bills if int(b.share or 1) == 1}
        self.periods: list[PeriodBill] = [PeriodBill(period, bill)
                                          for period, bill in sorted(firsts.items())]

    def of(self, period: str) -> PeriodBill | None:
        return next((p for p in self.periods if p.period == period), None)

    def before(self, period: str) -> list[PeriodBill]:
        """Billed periods before `period`, oldest first."""
        return [p for p in self.periods if p.period < period]

    def last_actual(self, period: str) -> PeriodBill | None:
        actual = [p for p in self.before(period) if not p.estimated]
        return actual[-1] if actual else None

    def estimates_since_last_actual(self, period: str) -> list[PeriodBill]:
        last = self.last_actual(period)
        return [p for p in self.before(period)
                if p.estimated and (last is None or p.period > last.period)]

    def monthly_actual_units(self, period: str) -> list[int]:
        """Actual monthly units before `period`, oldest first (estimates excluded)."""
        return [units for p in self.before(period) if not p.estimated
                for units in p.monthly_actual_units()]


def window(period: BillingPeriod) -> list[BillingPeriod]:
    """`period` and the HISTORY_MONTHS periods before it."""
    periods = [period]
    for _ in range(HISTORY_MONTHS):
        periods.append(periods[-1].previous())
    return periods


def history_keys(wanted: Iterable[tuple[str, BillingPeriod]]) -> list[str]:
    """The bill ids that make up the histories of these (property_id, period) pairs."""
    return list(dict.fromkeys(bill_id_for(pid, str(p)) for pid, period in wanted
                              for p in window(period)))


def histories(wanted: Iterable[tuple[PropertyRecord, BillingPeriod]],
              bills: BillRepository, prefetched: Iterable[BillRecord] | None = None
              ) -> dict[tuple[str, str], PropertyHistory]:
    """The history of each (property, period) asked for, keyed by
    (property_id, "YYYY-MM"): one BatchGetItem per 100 keys for all of them, or
    none when the caller already fetched `history_keys` (`prefetched`)."""
    asked = {(prop.property_id, str(period)): (prop, period) for prop, period in wanted}
    found: dict[str, list[BillRecord]] = {pid: [] for pid, _ in asked}
    if prefetched is None:
        keys = history_keys((pid, period) for (pid, _), (_, period) in asked.items())
        prefetched = bills.get_many(keys) if keys else []
    for bill in prefetched:
        if bill.property_id in found:
            found[bill.property_id].append(bill)
    result = {}
    for (pid, text), (prop, period) in asked.items():
        known = found[pid]
        # No actual bill in the window, yet the property is older than it: its
        # last actual reading (if any) is further back. Rare: ask the index.
        actual_in_window = any(not b.estimated for b in known if b.period < text)
        if not actual_in_window and prop.created_at < window(period)[-1].start_utc:
            known = bills.for_property(pid)
        result[(pid, text)] = PropertyHistory(known)
    return result
