"""What a property's earlier bills say: the last actual reading, the estimated
periods since, and the monthly consumption that spike checks and estimates use.

Bills are the record of accepted readings: a reading is accepted exactly when
it is billed, and the bill keeps its register and time. So one query of the
property's bills (newest first) gives billing everything it needs to know
about the past.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from functions.core.bills.models import BillRecord
from functions.core.money import sum_money

# Bills fetched per property: 36 items cover at least a year even if every
# period was split three ways (the spike window is 6 months, estimates use 3).
HISTORY_ITEMS = 36


@dataclass(frozen=True)
class PeriodBill:
    """A property's bill for one period: one record, or the shares of a split."""

    period: str
    shares: tuple[BillRecord, ...]  # in share order; the first carries the plain id

    @property
    def first(self) -> BillRecord:
        return self.shares[0]

    @property
    def estimated(self) -> bool:
        return bool(self.first.estimated)

    @property
    def units(self) -> int:
        return int(self.first.units)

    @property
    def energy_total(self) -> Decimal:
        """The whole property's energy charge (the energy lines of every share)."""
        return sum_money(Decimal(line.amount) for share in self.shares
                         for line in share.line_items if line.kind == "energy")

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
        by_period: dict[str, list[BillRecord]] = {}
        for bill in bills:
            by_period.setdefault(bill.period, []).append(bill)
        self.periods: list[PeriodBill] = [
            PeriodBill(period, tuple(sorted(shares, key=lambda b: int(b.share))))
            for period, shares in sorted(by_period.items())
        ]

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
