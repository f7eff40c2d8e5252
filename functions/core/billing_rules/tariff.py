"""Tariff versions and pricing a month's consumption.

A tariff version belongs to one property category and takes effect on a date;
the version in force on a date is the one with the latest `effective_from` on or
before it (`select_tariff`).

Slabs are half-open at the bottom and closed at the top: an energy slab
{from_units: 200, to_units: 400} holds units 201..400, a load slab
{from_kw: 2, to_kw: 5} holds loads above 2 kW up to and including 5 kW. The first
slab starts at 0, each next slab starts where the previous one ends, and only
the last slab is (and must be) open-ended (`to_* = null`).

- Energy is telescopic: each slab's units are charged at that slab's rate.
- The fixed charge is NOT telescopic: the sanctioned load falls in one load slab
  and the whole load is charged at that slab's rate (DERC: 3 kW x Rs 50 = Rs 150).
  The rate is per kW per billing period (month).
- Percentage charges (duties, surcharges, taxes) are applied in the listed order,
  each on an explicit base:
    "energy"        the energy charge (after any estimate true-up credit)
    "fixed"         the fixed charge
    "energy+fixed"  energy + fixed
    "subtotal"      energy + fixed + every percentage charge listed before it
                    (for a tax on a bill that already carries surcharges)
  Flat charges are added after them and are never a base.
- Flat charges (meter rent, ...) are fixed amounts per billing period.

Rates: energy rates must be > 0 (a free slab is a subsidy, which is not a tariff
rate); fixed-charge rates may be 0 (tariffs without a fixed charge). Numbers are
accepted as ints or numeric strings ("4.50"); JSON floats are rejected because
4.5 as a float is not an exact amount of money. See functions/core/money.py for
the rounding rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from functions.core.billing_rules.errors import BillingRuleError, TariffNotFound
from functions.core.money import (
    ZERO,
    ExactDecimal,
    exact_decimal,
    percent_of,
    round_paise,
    sum_money,
)

Category = Literal["residential", "commercial"]
PercentBase = Literal["energy", "fixed", "energy+fixed", "subtotal"]
LineKind = Literal["energy", "credit", "fixed", "percentage", "flat"]

Name = Annotated[str, Field(min_length=1, max_length=80)]
Rate = Annotated[ExactDecimal, Field(decimal_places=4, max_digits=12)]
Percent = Annotated[ExactDecimal, Field(decimal_places=4, ge=0, le=100)]
Amount = Annotated[ExactDecimal, Field(decimal_places=2, max_digits=12, ge=0)]
Kilowatts = Annotated[ExactDecimal, Field(decimal_places=3, max_digits=9, ge=0)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class EnergySlab(_Frozen):
    from_units: StrictInt = Field(ge=0)
    to_units: StrictInt | None = None
    rate_per_kwh: Rate = Field(gt=0)


class LoadSlab(_Frozen):
    from_kw: Kilowatts
    to_kw: Kilowatts | None = None
    rate_per_kw: Rate = Field(ge=0)


class PercentageCharge(_Frozen):
    name: Name
    percent: Percent = Field(gt=0)
    base: PercentBase


class FlatCharge(_Frozen):
    name: Name
    amount: Amount


class TariffVersion(_Frozen):
    name: Name
    category: Category
    effective_from: date
    energy_slabs: tuple[EnergySlab, ...] = Field(min_length=1)
    load_slabs: tuple[LoadSlab, ...] = Field(min_length=1)
    percentage_charges: tuple[PercentageCharge, ...] = ()
    flat_charges: tuple[FlatCharge, ...] = ()
    due_days: StrictInt = Field(ge=1, le=90)
    late_payment_surcharge_percent: Percent

    @field_validator("energy_slabs")
    @classmethod
    def _energy_slabs_tile_from_zero(
        cls, slabs: tuple[EnergySlab, ...]
    ) -> tuple[EnergySlab, ...]:
        _check_slabs([(s.from_units, s.to_units) for s in slabs], "energy_slabs", "kWh")
        return slabs

    @field_validator("load_slabs")
    @classmethod
    def _load_slabs_tile_from_zero(cls, slabs: tuple[LoadSlab, ...]) -> tuple[LoadSlab, ...]:
        _check_slabs([(s.from_kw, s.to_kw) for s in slabs], "load_slabs", "kW")
        return slabs

    @model_validator(mode="after")
    def _charge_names_are_unique(self) -> TariffVersion:
        names = [c.name.casefold() for c in self.percentage_charges]
        names += [c.name.casefold() for c in self.flat_charges]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(
                f"charge names must be unique across percentage and flat charges: {duplicates}"
            )
        return self


def _check_slabs(bounds: Sequence[tuple[Decimal | int, Decimal | int | None]],
                 field: str, unit: str) -> None:
    if bounds[0][0] != 0:
        raise ValueError(f"{field}[0] must start at 0 {unit}, not {bounds[0][0]}")
    for i, (start, end) in enumerate(bounds):
        is_last = i == len(bounds) - 1
        if end is None and not is_last:
            raise ValueError(f"{field}[{i}] is open-ended but is not the last slab")
        if end is None:
            continue
        if end <= start:
            raise ValueError(f"{field}[{i}] ends at {end} {unit}, not after its start {start}")
        if is_last:
            raise ValueError(f"{field}[{i}] is the last slab and must be open-ended "
                             "(to = null), or larger values could not be priced")
        next_start = bounds[i + 1][0]
        if next_start < end:
            raise ValueError(f"{field}[{i + 1}] starts at {next_start} {unit}, overlapping "
                             f"{field}[{i}] which ends at {end}")
        if next_start > end:
            raise ValueError(f"{field}[{i + 1}] starts at {next_start} {unit}, leaving a gap "
                             f"after {field}[{i}] which ends at {end}")


class LineItem(_Frozen):
    """One printed line of a bill: quantity (in `unit`) x rate = amount.

    energy: kWh x rupees per kWh; fixed: kW x rupees per kW; percentage: the
    rupee base (unit "INR") x the percent in `rate`; flat and credit lines carry
    only an amount."""

    kind: LineKind
    label: str
    quantity: Decimal | None = None
    unit: str | None = None
    rate: Decimal | None = None
    amount: Decimal


class PricedBill(_Frozen):
    tariff_name: str
    category: Category
    tariff_effective_from: date
    units: Decimal
    sanctioned_load_kw: Decimal
    days_fraction: str | None = None  # "15/31" when pro-rated
    lines: tuple[LineItem, ...]
    energy_total: Decimal  # energy lines + true-up credit
    fixed_total: Decimal
    percentage_total: Decimal
    flat_total: Decimal
    total: Decimal


def select_tariff(versions: Iterable[TariffVersion], category: Category,
                  on_date: date) -> TariffVersion:
    """The version of `category` in force on `on_date` (for a bill: the period's
    first day): the latest effective_from on or before it."""
    candidates = [v for v in versions if v.category == category and v.effective_from <= on_date]
    if not candidates:
        raise TariffNotFound(f"no {category} tariff is in force on {on_date.isoformat()}")
    latest = max(v.effective_from for v in candidates)
    in_force = [v for v in candidates if v.effective_from == latest]
    if len(in_force) > 1:
        raise BillingRuleError(
            f"{len(in_force)} {category} tariff versions take effect on {latest.isoformat()}"
        )
    return in_force[0]


def price(tariff: TariffVersion, units: int | Decimal, sanctioned_load_kw: int | Decimal,
          days_fraction: Fraction | None = None,
          estimate_credit: Decimal = ZERO) -> PricedBill:
    """Price one property's consumption for one billing period.

    `days_fraction` pro-rates a partial period (a connection that started or
    ended inside the month): the energy slab widths, the fixed charge and the
    flat charges are all scaled by it, so half a month's use is not pushed into
    higher slabs. Splitting a full-period bill between occupants is a different
    thing: see occupancy.split_by_days.

    `estimate_credit` (rupees, >= 0) is the true-up credit for units that
    earlier estimated bills over-charged (estimates.true_up); it is deducted
    from the energy charge before percentage charges, so the surcharges charged
    on those units are refunded too. The total may then be negative (a credit).
    """
    exact_units = _exact_units(units)
    load = _positive_load(sanctioned_load_kw)
    fraction = _check_fraction(days_fraction)
    credit = _check_credit(estimate_credit)

    energy_lines = _energy_lines(tariff.energy_slabs, exact_units, fraction)
    if credit:
        energy_lines.append(LineItem(kind="credit", label="Credit for units over-estimated",
                                     amount=-round_paise(credit)))
    fixed_line = _fixed_line(tariff.load_slabs, load, fraction)
    energy_total = sum_money(line.amount for line in energy_lines)
    percentage_lines = _percentage_lines(tariff.percentage_charges, energy_total,
                                         fixed_line.amount)
    flat_lines = _flat_lines(tariff.flat_charges, fraction)

    lines = (*energy_lines, fixed_line, *percentage_lines, *flat_lines)
    return PricedBill(
        tariff_name=tariff.name,
        category=tariff.category,
        tariff_effective_from=tariff.effective_from,
        units=_display_quantity(exact_units),
        sanctioned_load_kw=load,
        days_fraction=None if fraction == 1 else str(fraction),
        lines=lines,
        energy_total=energy_total,
        fixed_total=fixed_line.amount,
        percentage_total=sum_money(line.amount for line in percentage_lines),
        flat_total=sum_money(line.amount for line in flat_lines),
        total=sum_money(line.amount for line in lines),
    )


def late_payment_surcharge(bill_total: Decimal, percent: Decimal) -> Decimal:
    """One-time surcharge on a bill unpaid after its due date: `percent`% of the
    bill total, rounded to paise. A credit (negative) bill attracts none."""
    if bill_total <= 0:
        return ZERO
    return percent_of(bill_total, percent)


def _energy_lines(slabs: Sequence[EnergySlab], units: Fraction,
                  fraction: Fraction) -> list[LineItem]:
    lines = []
    for slab in slabs:
        start = slab.from_units * fraction
        end = None if slab.to_units is None else slab.to_units * fraction
        in_slab = _clamp(units - start, end - start if end is not None else None)
        if in_slab <= 0:
            break  # slabs are contiguous, so nothing reaches the later ones
        lines.append(LineItem(
            kind="energy",
            label=f"Energy {_energy_slab_label(slab)}",
            quantity=_display_quantity(in_slab),
            unit="kWh",
            rate=slab.rate_per_kwh,
            amount=round_paise(in_slab * Fraction(slab.rate_per_kwh)),
        ))
    return lines


def _fixed_line(slabs: Sequence[LoadSlab], load: Decimal, fraction: Fraction) -> LineItem:
    slab = next(s for s in slabs if s.to_kw is None or load <= s.to_kw)
    return LineItem(
        kind="fixed",
        label=f"Fixed charge ({_load_slab_label(slab)})",
        quantity=load,
        unit="kW",
        rate=slab.rate_per_kw,
        amount=round_paise(Fraction(load) * Fraction(slab.rate_per_kw) * fraction),
    )


def _percentage_lines(charges: Sequence[PercentageCharge], energy: Decimal,
                      fixed: Decimal) -> list[LineItem]:
    lines = []
    subtotal = energy + fixed  # grows by each charge, for the "subtotal" base
    for charge in charges:
        base = {
            "energy": energy,
            "fixed": fixed,
            "energy+fixed": energy + fixed,
            "subtotal": subtotal,
        }[charge.base]
        amount = percent_of(base, charge.percent)
        subtotal += amount
        lines.append(LineItem(kind="percentage", label=charge.name, quantity=base,
                              unit="INR", rate=charge.percent, amount=amount))
    return lines


def _flat_lines(charges: Sequence[FlatCharge], fraction: Fraction) -> list[LineItem]:
    return [
        LineItem(kind="flat", label=charge.name,
                 amount=round_paise(Fraction(charge.amount) * fraction))
        for charge in charges
    ]


def _clamp(value: Fraction, upper: Fraction | None) -> Fraction:
    value = max(value, Fraction(0))
    return value if upper is None else min(value, upper)


def _energy_slab_label(slab: EnergySlab) -> str:
    if slab.to_units is None and slab.from_units == 0:
        return "(all units)"
    if slab.to_units is None:
        return f"above {slab.from_units} kWh"
    first = 0 if slab.from_units == 0 else slab.from_units + 1
    return f"{first}-{slab.to_units} kWh"


def _load_slab_label(slab: LoadSlab) -> str:
    if slab.to_kw is None and slab.from_kw == 0:
        return "any load"
    if slab.to_kw is None:
        return f"above {slab.from_kw} kW"
    if slab.from_kw == 0:
        return f"up to {slab.to_kw} kW"
    return f"above {slab.from_kw} kW up to {slab.to_kw} kW"


def _display_quantity(value: Fraction) -> Decimal:
    """Exact when whole, otherwise to 3 decimals (amounts use the exact value)."""
    if value.denominator == 1:
        return Decimal(value.numerator)
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def _exact_units(units: int | Decimal) -> Fraction:
    if isinstance(units, bool) or not isinstance(units, int | Decimal):
        raise TypeError(f"units must be int or Decimal, not {type(units).__name__}")
    if not Decimal(units).is_finite() or units < 0:
        raise BillingRuleError(f"units must be a non-negative number, got {units}")
    return Fraction(units)


def _positive_load(load: int | Decimal) -> Decimal:
    kw = exact_decimal(load, what="sanctioned load")
    if kw <= 0:
        raise BillingRuleError(f"sanctioned load must be above 0 kW, got {load}")
    return kw


def _check_fraction(days_fraction: Fraction | None) -> Fraction:
    if days_fraction is None:
        return Fraction(1)
    if not isinstance(days_fraction, Fraction):
        raise TypeError("days_fraction must be a Fraction, e.g. Fraction(days, period_days)")
    if not 0 < days_fraction <= 1:
        raise BillingRuleError(f"days_fraction must be in (0, 1], got {days_fraction}")
    return days_fraction


def _check_credit(credit: Decimal) -> Decimal:
    if not isinstance(credit, Decimal) or credit < 0:
        raise BillingRuleError("estimate_credit must be a Decimal of at least 0")
    return credit
