"""Tariff versions and pricing a month's consumption.

A tariff version belongs to one property category (categories are data an
admin manages: functions/core/tariffs/categories.py) and takes effect on a
date. The version that prices a period is the one in force on its first day;
a version that takes effect inside the period prices its days of it: the
period is split pro rata by days (`price_period`).

Slabs are half-open at the bottom and closed at the top: an energy slab
{from_units: 200, to_units: 400} holds units 201..400, a load slab
{from_kw: 2, to_kw: 5} holds loads above 2 kW up to and including 5 kW. The first
slab starts at 0, each next slab starts where the previous one ends, and only
the last slab is (and must be) open-ended (`to_* = null`).

- Energy is telescopic by default: each slab's units are charged at that slab's
  rate. With `energy_slab_mode: "non_telescopic"` the slabs are bands: the band
  the TOTAL units fall in sets the rate of every unit (HERC, many LT orders).
- Energy tables by sanctioned load (`energy_by_load`, optional): bands of load,
  each with its own energy slabs (and slab mode); the band the connection's
  sanctioned load falls in replaces `energy_slabs` (LT non-domestic orders price
  0-20 kW, 20-50 kW and above 50 kW connections with different tables). Bands tile
  from 0 kW like load slabs; a load outside every band cannot occur.
- The fixed charge is NOT telescopic: the sanctioned load falls in one load slab
  and the whole load is charged at that slab's rate (DERC: 3 kW x Rs 50 = Rs 150).
  The rate is per kW per billing period (month). A slab may also carry a charge
  per connection per month (`per_connection`: MSEDCL's Rs 128 a single-phase
  connection), its own fixed-charge line.
- Then, in this order (tariff_rules.py has each rule): time-of-day rebates and
  surcharges on the energy charge by zone; per-unit charges with their own
  effective dates (FPPCA, wheeling, duty per kWh); demand charge and excess
  demand penalty; the minimum monthly charge; percentage charges; flat charges;
  gross-metering export credit or net-metering settlement; the subsidy.
- Percentage charges (duties, surcharges, taxes) are applied in the listed order,
  each on an explicit base:
    "energy"              the energy charge (after ToD and any estimate credit)
    "fixed"               the fixed charge + demand charges + minimum-charge shortfall
    "units"               the per-unit charges
    "energy+fixed"        energy + fixed
    "energy+fixed+units"  energy + fixed + per-unit charges
    "subtotal"            energy + fixed + per-unit charges + every percentage
                          charge listed before it (a tax on a bill that already
                          carries surcharges)
  Flat charges are added after them and are never a base.
- Flat charges (meter rent, ...) are fixed amounts per billing period.
- The bill's gross total is every line but the subsidy; total = gross - subsidy.

Rates: energy and per-unit rates must be > 0 (a free slab is a subsidy, which is
not a tariff rate); fixed-charge rates may be 0 (tariffs without a fixed
charge); no rate is negative. Numbers are accepted as ints or numeric strings
("4.50"); JSON floats are rejected because 4.5 as a float is not an exact amount
of money. See functions/core/money.py for the rounding rule: every line is
computed exactly and rounded once to paise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from functions.core.billing_rules.errors import BillingRuleError, TariffNotFound
from functions.core.billing_rules.tariff_rules import (
    DemandCharge,
    MinimumCharge,
    NetMetering,
    NetUnits,
    SingleRateAbove,
    Subsidy,
    SubsidyBand,
    TimeOfDay,
    UnitCharge,
    check_bounds,
    check_unit_charges,
    net_units,
)
from functions.core.money import (
    ZERO,
    ExactDecimal,
    exact_decimal,
    percent_of,
    round_paise,
    sum_money,
)

# A category is data (an admin adds one); its name is a short lowercase key.
Category = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
PercentBase = Literal["energy", "fixed", "units", "energy+fixed", "energy+fixed+units",
                      "subtotal"]
LineKind = Literal["energy", "tod", "credit", "unit", "fixed", "demand", "minimum",
                   "percentage", "flat", "export", "subsidy"]
SlabMode = Literal["telescopic", "non_telescopic"]

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
    per_connection: Amount = Decimal(0)  # rupees per connection per billing period


class LoadEnergyTable(_Frozen):
    """The energy slabs of connections whose sanctioned load is in (from_kw, to_kw]."""

    from_kw: Kilowatts
    to_kw: Kilowatts | None = None
    energy_slab_mode: SlabMode = "telescopic"
    energy_slabs: tuple[EnergySlab, ...] = Field(min_length=1)

    @field_validator("energy_slabs")
    @classmethod
    def _slabs_tile_from_zero(cls, slabs: tuple[EnergySlab, ...]) -> tuple[EnergySlab, ...]:
        check_bounds([(s.from_units, s.to_units) for s in slabs], "energy_slabs", "kWh")
        return slabs


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
    energy_slab_mode: SlabMode = "telescopic"
    energy_slabs: tuple[EnergySlab, ...] = Field(min_length=1)
    energy_by_load: tuple[LoadEnergyTable, ...] = ()
    no_slab_benefit_above: SingleRateAbove | None = None
    load_slabs: tuple[LoadSlab, ...] = Field(min_length=1)
    unit_charges: tuple[UnitCharge, ...] = ()
    time_of_day: TimeOfDay | None = None
    demand: DemandCharge | None = None
    minimum_charge: MinimumCharge | None = None
    percentage_charges: tuple[PercentageCharge, ...] = ()
    flat_charges: tuple[FlatCharge, ...] = ()
    metering: NetMetering | None = None
    subsidy: Subsidy | None = None
    due_days: StrictInt = Field(ge=1, le=90)
    late_payment_surcharge_percent: Percent

    @field_validator("energy_slabs")
    @classmethod
    def _energy_slabs_tile_from_zero(
        cls, slabs: tuple[EnergySlab, ...]
    ) -> tuple[EnergySlab, ...]:
        check_bounds([(s.from_units, s.to_units) for s in slabs], "energy_slabs", "kWh")
        return slabs

    @field_validator("load_slabs")
    @classmethod
    def _load_slabs_tile_from_zero(cls, slabs: tuple[LoadSlab, ...]) -> tuple[LoadSlab, ...]:
        check_bounds([(s.from_kw, s.to_kw) for s in slabs], "load_slabs", "kW")
        return slabs

    @field_validator("energy_by_load")
    @classmethod
    def _load_tables_tile_from_zero(
        cls, tables: tuple[LoadEnergyTable, ...]
    ) -> tuple[LoadEnergyTable, ...]:
        if tables:
            check_bounds([(t.from_kw, t.to_kw) for t in tables], "energy_by_load", "kW", "band")
        return tables

    def energy_table(self, load_kw: Decimal) -> tuple[SlabMode, tuple[EnergySlab, ...]]:
        """The slab mode and energy slabs that price a connection of this load."""
        for table in self.energy_by_load:
            if table.to_kw is None or load_kw <= table.to_kw:
                return table.energy_slab_mode, table.energy_slabs
        return self.energy_slab_mode, self.energy_slabs

    @field_validator("unit_charges")
    @classmethod
    def _unit_charges_do_not_overlap(
        cls, charges: tuple[UnitCharge, ...]
    ) -> tuple[UnitCharge, ...]:
        check_unit_charges(charges)
        return charges

    @model_validator(mode="after")
    def _charge_names_are_unique(self) -> TariffVersion:
        names = [c.name.casefold() for c in self.percentage_charges]
        names += [c.name.casefold() for c in self.flat_charges]
        names += sorted({c.name.casefold() for c in self.unit_charges})
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(
                "charge names must be unique across unit, percentage and flat charges: "
                f"{duplicates}"
            )
        return self


class LineItem(_Frozen):
    """One printed line of a bill: quantity (in `unit`) x rate = amount.

    energy, unit: kWh x rupees per kWh; fixed, demand: kW x rupees per kW;
    percentage, tod, subsidy: the rupee base (unit "INR") x the percent in
    `rate`, except a ToD zone priced per kWh (unit "kWh", rate in rupees);
    export: kWh x the export rate (a negative amount); flat, minimum, credit and
    per-connection fixed lines carry only an amount."""

    kind: LineKind
    label: str
    quantity: Decimal | None = None
    unit: str | None = None
    rate: Decimal | None = None
    amount: Decimal


class Usage(_Frozen):
    """A period's other registers (protocol v2 snapshot), None when the meter has none."""

    export_units: StrictInt | None = Field(default=None, ge=0)
    tod_units: tuple[StrictInt, ...] | None = None
    max_demand_kw: Kilowatts | None = None


class PricedBill(_Frozen):
    tariff_name: str
    category: str
    tariff_effective_from: date
    units: Decimal  # units priced (after net metering)
    sanctioned_load_kw: Decimal
    days_fraction: str | None = None  # "15/31" when pro-rated
    lines: tuple[LineItem, ...]
    energy_total: Decimal  # energy lines + ToD + true-up credit
    fixed_total: Decimal
    percentage_total: Decimal
    flat_total: Decimal
    unit_charges_total: Decimal = ZERO
    demand_total: Decimal = ZERO  # demand charge + excess penalty
    export_total: Decimal = ZERO  # export credit / net-metering settlement (<= 0)
    gross_total: Decimal = ZERO  # every line but the subsidy
    subsidy_total: Decimal = ZERO  # <= 0
    total: Decimal  # gross + subsidy: what the bill asks
    billing_demand_kw: Decimal | None = None
    net_metering: NetUnits | None = None
    # "category@effective_from 2025-04-01..2025-04-14" per version, when split
    segments: tuple[str, ...] = ()


def select_tariff(versions: Iterable[TariffVersion], category: str,
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


@dataclass(frozen=True)
class Segment:
    """The days of a period one version prices."""

    version: TariffVersion
    first_day: date
    last_day: date

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def versions_in_period(versions: Iterable[TariffVersion], category: str,
                       first_day: date, last_day: date) -> list[Segment]:
    """The versions that price a period, each with its days: the one in force on
    the first day, then each that takes effect inside the period."""
    versions = list(versions)
    first = select_tariff(versions, category, first_day)
    later = sorted((v for v in versions if v.category == category
                    and first_day < v.effective_from <= last_day),
                   key=lambda v: v.effective_from)
    chosen = [first, *later]
    starts = [first_day, *(v.effective_from for v in later)]
    ends = [*(s.fromordinal(s.toordinal() - 1) for s in starts[1:]), last_day]
    return [Segment(v, s, e) for v, s, e in zip(chosen, starts, ends, strict=True)]


def price(tariff: TariffVersion, units: int | Decimal, sanctioned_load_kw: int | Decimal,
          days_fraction: Fraction | None = None,
          estimate_credit: Decimal = ZERO, *, usage: Usage | None = None,
          first_day: date | None = None, last_day: date | None = None,
          banked_units: int = 0) -> PricedBill:
    """Price one property's consumption for one billing period with one version.

    `days_fraction` pro-rates a partial period (a connection that started or
    ended inside the month): the energy slab widths, the fixed, demand, minimum
    and flat charges and the subsidy bands and caps are all scaled by it, so
    half a month's use is not pushed into higher slabs. Splitting a full-period
    bill between occupants is a different thing: see occupancy.split_by_days.

    `estimate_credit` (rupees, >= 0) is the true-up credit for units that
    earlier estimated bills over-charged (estimates.true_up); it is deducted
    from the energy charge before percentage charges, so the surcharges charged
    on those units are refunded too. The total may then be negative (a credit).

    `usage`: the snapshot's export, zone and demand registers; `first_day` and
    `last_day`: the period (dated per-unit charges and the net-metering
    settlement month need it); `banked_units`: net-metering units carried
    forward from the previous bill.
    """
    fraction = _check_fraction(days_fraction)
    segment = Segment(tariff, first_day or tariff.effective_from,
                      last_day or first_day or tariff.effective_from)
    return _price([(segment, fraction, Fraction(1))], units, sanctioned_load_kw,
                  estimate_credit, usage, banked_units, dated=first_day is not None)


def price_period(versions: Iterable[TariffVersion], category: str, first_day: date,
                 last_day: date, units: int | Decimal, sanctioned_load_kw: int | Decimal,
                 estimate_credit: Decimal = ZERO, *, usage: Usage | None = None,
                 banked_units: int = 0) -> PricedBill:
    """Price a whole period with the versions in force in it: a version revised
    mid-period prices its days, units and every per-period amount split pro
    rata by days (each segment's lines are labelled with its days)."""
    segments = versions_in_period(versions, category, first_day, last_day)
    period_days = (last_day - first_day).days + 1
    parts = [(s, Fraction(s.days, period_days), Fraction(s.days, period_days))
             for s in segments]
    return _price(parts, units, sanctioned_load_kw, estimate_credit, usage, banked_units,
                  dated=True)


def late_payment_surcharge(bill_total: Decimal, percent: Decimal) -> Decimal:
    """One-time surcharge on a bill unpaid after its due date: `percent`% of the
    bill total, rounded to paise. A credit (negative) bill attracts none."""
    if bill_total <= 0:
        return ZERO
    return percent_of(bill_total, percent)


# ---- the computation ------------------------------------------------------------

@dataclass
class _Parts:
    lines: list[LineItem]
    subsidy: list[LineItem]


def _price(parts: Sequence[tuple[Segment, Fraction, Fraction]], units: int | Decimal,
           sanctioned_load_kw: int | Decimal, estimate_credit: Decimal,
           usage: Usage | None, banked_units: int, dated: bool) -> PricedBill:
    """parts: (segment, width, share): `width` scales slab widths and per-period
    amounts, `share` is the segment's share of the period's units."""
    exact_units = _exact_units(units)
    load = _positive_load(sanctioned_load_kw)
    credit = _check_credit(estimate_credit)
    usage = usage or Usage()
    last = parts[-1][0]
    metering = last.version.metering

    billed = exact_units
    net: NetUnits | None = None
    if metering is not None and metering.scheme == "net" and usage.export_units is not None:
        if exact_units.denominator != 1:
            raise BillingRuleError("net metering needs whole units")
        if banked_units < 0:
            raise BillingRuleError("banked units cannot be negative")
        settle = dated and last.last_day.month == metering.settlement_month
        net = net_units(int(exact_units), usage.export_units, banked_units, settle)
        billed = Fraction(net.billed_units)

    collected = _Parts([], [])
    md = usage.max_demand_kw
    billing_demand: Decimal | None = None
    for index, (segment, width, share) in enumerate(parts):
        suffix = "" if len(parts) == 1 else (
            f" ({segment.first_day:%d %b}-{segment.last_day:%d %b}, {segment.version.name})")
        billing_demand = _segment(collected, segment, billed * share, load, width, usage, md,
                                  credit if index == 0 else ZERO, suffix, dated) \
            or billing_demand

    lines = collected.lines
    if metering is not None and metering.scheme == "gross" and usage.export_units:
        lines.append(LineItem(
            kind="export", label="Export credit (gross metering)",
            quantity=Decimal(usage.export_units), unit="kWh", rate=metering.export_rate_per_kwh,
            amount=-round_paise(usage.export_units * Fraction(metering.export_rate_per_kwh))))
    if net is not None and net.settled_units:
        lines.append(LineItem(
            kind="export", label="Net metering: banked units settled at year end",
            quantity=Decimal(net.settled_units), unit="kWh",
            rate=metering.export_rate_per_kwh if metering else None,
            amount=-round_paise(net.settled_units * Fraction(
                metering.export_rate_per_kwh if metering else 0))))
    gross_total = sum_money(line.amount for line in lines)
    all_lines = (*lines, *collected.subsidy)

    def total_of(*kinds: str) -> Decimal:
        return sum_money(line.amount for line in all_lines if line.kind in kinds)

    widths = sum(width for _, width, _ in parts)
    return PricedBill(
        tariff_name=last.version.name,
        category=last.version.category,
        tariff_effective_from=last.version.effective_from,
        units=_display_quantity(billed),
        sanctioned_load_kw=load,
        days_fraction=None if widths == 1 else str(widths),
        lines=all_lines,
        energy_total=total_of("energy", "tod", "credit"),
        fixed_total=total_of("fixed"),
        percentage_total=total_of("percentage"),
        flat_total=total_of("flat"),
        unit_charges_total=total_of("unit"),
        demand_total=total_of("demand"),
        export_total=total_of("export"),
        gross_total=gross_total,
        subsidy_total=total_of("subsidy"),
        total=sum_money(line.amount for line in all_lines),
        billing_demand_kw=billing_demand,
        net_metering=net,
        segments=() if len(parts) == 1 else tuple(
            f"{s.version.category}@{s.version.effective_from.isoformat()} "
            f"{s.first_day.isoformat()}..{s.last_day.isoformat()}" for s, _, _ in parts),
    )


def _segment(out: _Parts, segment: Segment, units: Fraction, load: Decimal, width: Fraction,
             usage: Usage, md: Decimal | None, credit: Decimal, suffix: str,
             dated: bool) -> Decimal | None:
    tariff = segment.version
    lines: list[LineItem] = []
    energy_lines = _energy_lines(tariff, units, width, load)
    slab_energy = sum_money(line.amount for line in energy_lines)
    lines += energy_lines
    month = segment.last_day.month if dated else None
    lines += _tod_lines(tariff.time_of_day, slab_energy, units, usage.tod_units, load, month)
    if credit:
        lines.append(LineItem(kind="credit", label="Credit for units over-estimated",
                              amount=-round_paise(credit)))
    energy = sum_money(line.amount for line in lines)

    unit_lines = _unit_lines(tariff.unit_charges, units, segment, dated)
    unit_total = sum_money(line.amount for line in unit_lines)

    fixed_lines = _fixed_lines(tariff.load_slabs, load, width)
    billing_demand = None
    if tariff.demand is not None:
        billing_demand, demand_lines = _demand_lines(tariff.demand, md, load, width)
        fixed_lines += demand_lines
    fixed = sum_money(line.amount for line in fixed_lines)
    if tariff.minimum_charge is not None:
        minimum = round_paise(tariff.minimum_charge.of(load, width))
        if energy + fixed < minimum:
            fixed_lines.append(LineItem(
                kind="minimum", label=f"Minimum charge shortfall (minimum {minimum:.2f})",
                amount=minimum - (energy + fixed)))
            fixed = minimum - energy

    percentage_lines = _percentage_lines(tariff.percentage_charges, energy, fixed, unit_total)
    flat_lines = _flat_lines(tariff.flat_charges, width)
    segment_lines = [*lines, *unit_lines, *fixed_lines, *percentage_lines, *flat_lines]
    subsidy_lines = []
    if tariff.subsidy is not None:
        gross = sum_money(line.amount for line in segment_lines)
        subsidy_lines = _subsidy_lines(tariff.subsidy, units, width, energy, fixed, gross)
    if suffix:
        segment_lines = [line.model_copy(update={"label": line.label + suffix})
                         for line in segment_lines]
        subsidy_lines = [line.model_copy(update={"label": line.label + suffix})
                         for line in subsidy_lines]
    out.lines += segment_lines
    out.subsidy += subsidy_lines
    return billing_demand


def _energy_lines(tariff: TariffVersion, units: Fraction, fraction: Fraction,
                  load: Decimal) -> list[LineItem]:
    mode, slabs = tariff.energy_table(load)
    single = tariff.no_slab_benefit_above
    if single is not None and units > single.from_units * fraction:
        return [LineItem(
            kind="energy", label=f"Energy, all units (above {single.from_units} kWh: "
                                 "no slab benefit)",
            quantity=_display_quantity(units), unit="kWh", rate=single.rate_per_kwh,
            amount=round_paise(units * Fraction(single.rate_per_kwh)))]
    if mode == "non_telescopic":
        return _band_lines(slabs, units, fraction)
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


def _band_lines(slabs: Sequence[EnergySlab], units: Fraction,
                fraction: Fraction) -> list[LineItem]:
    """Non-telescopic: every unit at the rate of the band the total falls in."""
    if units <= 0:
        return []
    band = next(s for s in slabs if s.to_units is None or units <= s.to_units * fraction)
    return [LineItem(
        kind="energy", label=f"Energy, all units (band {_energy_slab_label(band)})",
        quantity=_display_quantity(units), unit="kWh", rate=band.rate_per_kwh,
        amount=round_paise(units * Fraction(band.rate_per_kwh)))]


def _tod_lines(tod: TimeOfDay | None, energy: Decimal, units: Fraction,
               zone_units: Sequence[int] | None, load: Decimal,
               month: int | None) -> list[LineItem]:
    """Each zone's share of the energy charge (by its units) x its percent, or its
    share of the units billed x its rate per kWh. A meter without zone registers,
    with another number of zones, a load below the rule's minimum or a month
    outside its season: no line (the normal rate)."""
    if tod is None or not zone_units or len(zone_units) != len(tod.zones) \
            or load < tod.min_load_kw or energy == 0:
        return []
    if tod.months and month is not None and month not in tod.months:
        return []
    total = sum(zone_units)
    if total <= 0:
        return []
    lines = []
    for zone, zone_kwh in zip(tod.zones, zone_units, strict=True):
        if zone.rate_per_kwh is not None:
            if zone.rate_per_kwh == 0 or zone_kwh == 0:
                continue
            # The zone's share of the units this bill (or segment) prices: equal to
            # the register's units unless net metering or a mid-period split applies.
            kwh = units * Fraction(zone_kwh, total)
            kind = "rebate" if zone.rate_per_kwh < 0 else "surcharge"
            lines.append(LineItem(
                kind="tod",
                label=f"ToD {kind}, {zone.name} {zone.start_hour:02d}:00-"
                      f"{zone.end_hour:02d}:00",
                quantity=_display_quantity(kwh), unit="kWh", rate=zone.rate_per_kwh,
                amount=round_paise(kwh * Fraction(zone.rate_per_kwh))))
            continue
        if zone.percent == 0 or zone_kwh == 0:
            continue
        base = round_paise(Fraction(energy) * Fraction(zone_kwh, total))
        kind = "rebate" if zone.percent < 0 else "surcharge"
        lines.append(LineItem(
            kind="tod",
            label=f"ToD {kind}, {zone.name} {zone.start_hour:02d}:00-{zone.end_hour:02d}:00 "
                  f"({zone_kwh} kWh)",
            quantity=base, unit="INR", rate=zone.percent,
            amount=round_paise(Fraction(base) * Fraction(zone.percent) / 100)))
    return lines


def _unit_lines(charges: Sequence[UnitCharge], units: Fraction, segment: Segment,
                dated: bool) -> list[LineItem]:
    lines = []
    for charge in charges:
        if dated:
            days = charge.days_in(segment.first_day, segment.last_day)
            covered = Fraction(days, segment.days)
        else:  # no period given (a bare price): undated charges only
            covered = Fraction(1 if charge.effective_from is None
                               and charge.effective_to is None else 0)
        if covered == 0 or units == 0:
            continue
        quantity = units * covered
        when = ""
        if covered != 1:
            when = f" ({days} of {segment.days} days)"
        lines.append(LineItem(
            kind="unit", label=f"{charge.name}{when}", quantity=_display_quantity(quantity),
            unit="kWh", rate=charge.rate_per_kwh,
            amount=round_paise(quantity * Fraction(charge.rate_per_kwh))))
    return lines


def _demand_lines(demand: DemandCharge, md: Decimal | None, load: Decimal,
                  fraction: Fraction) -> tuple[Decimal, list[LineItem]]:
    """Billing demand = max(recorded MD, contract_percent% of the sanctioned load);
    without an MD register, the sanctioned load (the contract demand)."""
    floor = load * demand.contract_percent / 100
    billing = max(md, floor) if md is not None else load
    lines = [LineItem(
        kind="demand", label=f"Demand charge (billing demand {_kw(billing)} kW)",
        quantity=_kw(billing), unit="kW", rate=demand.rate_per_kw,
        amount=round_paise(Fraction(billing) * Fraction(demand.rate_per_kw) * fraction))]
    if md is not None and md > load and demand.excess_rate_per_kw > 0:
        excess = md - load
        lines.append(LineItem(
            kind="demand", label=f"Excess demand penalty ({_kw(excess)} kW above sanctioned)",
            quantity=_kw(excess), unit="kW", rate=demand.excess_rate_per_kw,
            amount=round_paise(Fraction(excess) * Fraction(demand.excess_rate_per_kw)
                               * fraction)))
    return _kw(billing), lines


def _subsidy_lines(subsidy: Subsidy, units: Fraction, fraction: Fraction, energy: Decimal,
                   fixed: Decimal, gross: Decimal) -> list[LineItem]:
    band = subsidy.band_for(units, fraction)
    if band.percent == 0:
        return []
    base = {"energy": energy, "energy+fixed": energy + fixed, "gross": gross}[subsidy.base]
    if base <= 0:
        return []
    amount = percent_of(base, band.percent)
    capped = ""
    if band.cap is not None:
        cap = round_paise(Fraction(band.cap) * fraction)
        if amount > cap:
            amount, capped = cap, f", capped at {cap:.2f}"
    return [LineItem(kind="subsidy",
                     label=f"{subsidy.name} ({_band_label(band)}{capped})",
                     quantity=base, unit="INR", rate=band.percent, amount=-amount)]


def _fixed_lines(slabs: Sequence[LoadSlab], load: Decimal,
                 fraction: Fraction) -> list[LineItem]:
    """The per-kW line (kept at 0.00 when the order has no fixed charge, so the bill
    says so), or only the per-connection line when the slab is charged that way."""
    slab = next(s for s in slabs if s.to_kw is None or load <= s.to_kw)
    lines = []
    if slab.rate_per_kw > 0 or slab.per_connection == 0:
        lines.append(LineItem(
            kind="fixed",
            label=f"Fixed charge ({_load_slab_label(slab)})",
            quantity=load,
            unit="kW",
            rate=slab.rate_per_kw,
            amount=round_paise(Fraction(load) * Fraction(slab.rate_per_kw) * fraction),
        ))
    if slab.per_connection > 0:
        lines.append(LineItem(
            kind="fixed", label="Fixed charge per connection",
            amount=round_paise(Fraction(slab.per_connection) * fraction)))
    return lines


def _percentage_lines(charges: Sequence[PercentageCharge], energy: Decimal,
                      fixed: Decimal, units: Decimal = ZERO) -> list[LineItem]:
    lines = []
    subtotal = energy + fixed + units  # grows by each charge, for the "subtotal" base
    for charge in charges:
        base = {
            "energy": energy,
            "fixed": fixed,
            "units": units,
            "energy+fixed": energy + fixed,
            "energy+fixed+units": energy + fixed + units,
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


def _band_label(band: SubsidyBand) -> str:
    start, end = band.from_units, band.to_units
    if end is None:
        return f"above {start} kWh"
    return f"{0 if start == 0 else start + 1}-{end} kWh"


def _load_slab_label(slab: LoadSlab) -> str:
    if slab.to_kw is None and slab.from_kw == 0:
        return "any load"
    if slab.to_kw is None:
        return f"above {slab.from_kw} kW"
    if slab.from_kw == 0:
        return f"up to {slab.to_kw} kW"
    return f"above {slab.from_kw} kW up to {slab.to_kw} kW"


def _kw(value: Decimal) -> Decimal:
    """kW to at most 3 decimals, without trailing zeros."""
    return exact_decimal(value.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP).normalize(),
                         what="kW")


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
