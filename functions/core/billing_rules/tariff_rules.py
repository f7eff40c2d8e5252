"""The rules of a tariff beyond energy slabs and fixed charges, as Indian state
regulators' tariff orders write them (issue 17). Models (validated at the edge,
a 400 naming the field) and the pure arithmetic each rule adds to a bill.

- UnitCharge: a charge per kWh billed with its own effective dates (FPPCA/FPPAS,
  fuel adjustment, wheeling, electricity duty per kWh). Several entries of one
  name cover successive date ranges (the FPPCA changes every month or quarter);
  an entry applies to the days of the period inside its range, pro rata by days.
- MinimumCharge: a minimum monthly charge (per kW of sanctioned load and/or a
  flat amount): when energy + fixed (incl. demand) charges fall short of it,
  the shortfall is billed as its own line.
- Subsidy: a government subsidy as a share of the bill, in bands chosen by the
  total units (Delhi: 100% up to 200 units, 50% capped at Rs 800 up to 400).
  The bill shows the gross amount, the subsidy line and the net amount.
- TimeOfDay: zones of the IST day (whole hours, in order, covering 00-24 once),
  each a rebate (negative) or surcharge (positive) on the units imported in it,
  from the meter's zone registers: either a % of the energy charge (DERC) or
  rupees per kWh (MERC: -1.50 Rs/kWh at night, +1.10 Rs/kWh in the evening peak).
  A meter without zone registers (or with another number of zones) pays the
  normal rate.
- DemandCharge: billing demand = max(recorded maximum demand, a % of the
  contract demand (the sanctioned load)) x rate; demand above the sanctioned
  load also pays a penalty rate per kW.
- Metering: net metering (billed units = import - export - banked units;
  a surplus is banked and carried forward; the bank is settled at the end of
  the settlement year at a stated rate) or gross metering (every import billed,
  every export credited at the feed-in rate).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from functions.core.money import ExactDecimal

Name = Annotated[str, Field(min_length=1, max_length=80)]
PositiveRate = Annotated[ExactDecimal, Field(decimal_places=4, max_digits=12, gt=0)]
NonNegativeRate = Annotated[ExactDecimal, Field(decimal_places=4, max_digits=12, ge=0)]
Percent = Annotated[ExactDecimal, Field(decimal_places=4, ge=0, le=100)]
SignedPercent = Annotated[ExactDecimal, Field(decimal_places=4, ge=-100, le=100)]
# A ToD adjustment in rupees per kWh: negative is a rebate (bounded so a typo is caught).
SignedRate = Annotated[ExactDecimal, Field(decimal_places=4, ge=-100, le=100)]
Amount = Annotated[ExactDecimal, Field(decimal_places=2, max_digits=12, ge=0)]
Kilowatts = Annotated[ExactDecimal, Field(decimal_places=3, max_digits=9, ge=0)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# ---- models -------------------------------------------------------------------

class UnitCharge(_Frozen):
    name: Name
    rate_per_kwh: PositiveRate
    effective_from: date | None = None  # None: from the tariff's own effective date
    effective_to: date | None = None  # inclusive; None: open-ended

    @model_validator(mode="after")
    def _range(self) -> UnitCharge:
        if self.effective_from and self.effective_to and self.effective_to < self.effective_from:
            raise ValueError(f"effective_to {self.effective_to} is before effective_from "
                             f"{self.effective_from}")
        return self

    def days_in(self, first: date, last: date) -> int:
        start = max(first, self.effective_from or first)
        end = min(last, self.effective_to or last)
        return max(0, (end - start).days + 1)


def check_unit_charges(charges: Sequence[UnitCharge]) -> None:
    """Entries of one name must not overlap in time (one rate per day)."""
    by_name: dict[str, list[tuple[int, UnitCharge]]] = {}
    for i, charge in enumerate(charges):
        by_name.setdefault(charge.name.casefold(), []).append((i, charge))
    for entries in by_name.values():
        ordered = sorted(entries, key=lambda e: e[1].effective_from or date.min)
        for (i, a), (j, b) in pairwise(ordered):
            a_end = a.effective_to or date.max
            b_start = b.effective_from or date.min
            if b_start <= a_end:
                raise ValueError(f"unit_charges[{j}] ({b.name}) overlaps unit_charges[{i}]: "
                                 "entries of one charge must cover separate dates")


class MinimumCharge(_Frozen):
    amount: Amount = Decimal(0)  # per billing period
    per_kw: NonNegativeRate = Decimal(0)  # per kW of sanctioned load per billing period

    @model_validator(mode="after")
    def _something(self) -> MinimumCharge:
        if self.amount == 0 and self.per_kw == 0:
            raise ValueError("a minimum charge needs an amount or a per_kw rate above 0")
        return self

    def of(self, load_kw: Decimal, fraction: Fraction) -> Fraction:
        return (Fraction(self.amount) + Fraction(self.per_kw) * Fraction(load_kw)) * fraction


SubsidyBase = Literal["energy", "energy+fixed", "gross"]


class SubsidyBand(_Frozen):
    from_units: StrictInt = Field(ge=0)
    to_units: StrictInt | None = None
    percent: Percent
    cap: Amount | None = None  # rupees per billing period


class Subsidy(_Frozen):
    name: Name = "Government subsidy"
    base: SubsidyBase = "gross"
    bands: tuple[SubsidyBand, ...] = Field(min_length=1)

    @field_validator("bands")
    @classmethod
    def _tile(cls, bands: tuple[SubsidyBand, ...]) -> tuple[SubsidyBand, ...]:
        check_bounds([(b.from_units, b.to_units) for b in bands], "bands", "kWh", "band")
        return bands

    def band_for(self, units: Fraction, fraction: Fraction) -> SubsidyBand:
        """NOT telescopic: the band the total units fall in sets the share of
        the whole base (band widths scale with a partial period)."""
        for band in self.bands:
            if band.to_units is None or units <= band.to_units * fraction:
                return band
        raise AssertionError("the last band is open-ended")


class TodZone(_Frozen):
    name: Name
    start_hour: StrictInt = Field(ge=0, le=23)
    end_hour: StrictInt = Field(ge=1, le=24)
    # One of: a % of the energy charge, or rupees per kWh of the zone's units.
    # Negative: rebate; positive: surcharge.
    percent: SignedPercent = Decimal(0)
    rate_per_kwh: SignedRate | None = None

    @model_validator(mode="after")
    def _percent_or_rate(self) -> TodZone:
        if self.rate_per_kwh is not None and self.percent != 0:
            raise ValueError("give the zone a percent or a rate_per_kwh, not both")
        return self


class TimeOfDay(_Frozen):
    zones: tuple[TodZone, ...] = Field(min_length=1, max_length=8)
    min_load_kw: Kilowatts = Decimal(0)  # applies to connections of at least this load
    # The months (1-12) it applies in, e.g. DERC's summer May-September; empty: all year.
    months: tuple[Annotated[StrictInt, Field(ge=1, le=12)], ...] = ()

    @field_validator("months")
    @classmethod
    def _months_once(cls, months: tuple[int, ...]) -> tuple[int, ...]:
        if len(set(months)) != len(months):
            raise ValueError("a month is listed twice")
        return months

    @field_validator("zones")
    @classmethod
    def _cover_the_day(cls, zones: tuple[TodZone, ...]) -> tuple[TodZone, ...]:
        hour = 0
        for i, zone in enumerate(zones):
            if zone.end_hour <= zone.start_hour:
                raise ValueError(f"zones[{i}] ends at {zone.end_hour}:00, not after its start "
                                 f"{zone.start_hour}:00 (split a zone that spans midnight "
                                 "in two)")
            if zone.start_hour < hour:
                raise ValueError(f"zones[{i}] starts at {zone.start_hour}:00, overlapping "
                                 f"zones[{i - 1}] which ends at {hour}:00")
            if zone.start_hour > hour:
                raise ValueError(f"zones[{i}] starts at {zone.start_hour}:00, leaving "
                                 f"{hour}:00-{zone.start_hour}:00 not covered")
            hour = zone.end_hour
        if hour != 24:
            raise ValueError(f"the zones end at {hour}:00: they must cover the whole day "
                             "(00:00-24:00)")
        return zones


class SingleRateAbove(_Frozen):
    """Above `from_units` in total, every unit at one rate: no slab benefit (HERC
    domestic: 801 units and more, all at the last rate)."""

    from_units: StrictInt = Field(ge=1)
    rate_per_kwh: PositiveRate


class DemandCharge(_Frozen):
    rate_per_kw: NonNegativeRate  # per kW (kVA) of billing demand per month
    contract_percent: Percent = Decimal(0)  # billing demand is at least this % of the load
    excess_rate_per_kw: NonNegativeRate = Decimal(0)  # penalty per kW of MD above the load


class NetMetering(_Frozen):
    scheme: Literal["net", "gross"]
    # net: the rate at which units still banked are paid at settlement;
    # gross: the feed-in rate of every exported unit.
    export_rate_per_kwh: PositiveRate
    settlement_month: StrictInt = Field(default=3, ge=1, le=12)  # net: the year's last month


def check_bounds(bounds: Sequence[tuple[Decimal | int, Decimal | int | None]],
                 field: str, unit: str, noun: str = "slab") -> None:
    """Bands/slabs: from 0, contiguous, no gap, no overlap, the last open-ended."""
    if bounds[0][0] != 0:
        raise ValueError(f"{field}[0] must start at 0 {unit}, not {bounds[0][0]}")
    for i, (start, end) in enumerate(bounds):
        is_last = i == len(bounds) - 1
        if end is None and not is_last:
            raise ValueError(f"{field}[{i}] is open-ended but is not the last {noun}")
        if end is None:
            continue
        if end <= start:
            raise ValueError(f"{field}[{i}] ends at {end} {unit}, not after its start {start}")
        if is_last:
            raise ValueError(f"{field}[{i}] is the last {noun} and must be open-ended "
                             "(to = null), or larger values could not be priced")
        next_start = bounds[i + 1][0]
        if next_start < end:
            raise ValueError(f"{field}[{i + 1}] starts at {next_start} {unit}, overlapping "
                             f"{field}[{i}] which ends at {end}")
        if next_start > end:
            raise ValueError(f"{field}[{i + 1}] starts at {next_start} {unit}, leaving a gap "
                             f"after {field}[{i}] which ends at {end}")


# ---- net metering: the banked units carried from bill to bill -------------------

class NetUnits(_Frozen):
    """What net metering makes of a period's registers (whole kWh)."""

    import_units: int
    export_units: int
    banked_in: int  # carried forward from the previous bill
    banked_used: int  # taken off this period's net import
    banked_added: int  # surplus export of this period
    settled_units: int  # paid out at the settlement month (0 otherwise)
    banked_out: int  # carried to the next bill
    billed_units: int


def net_units(import_units: int, export_units: int, banked_in: int,
              settle: bool) -> NetUnits:
    net = import_units - export_units
    used = min(banked_in, net) if net > 0 else 0
    added = -net if net < 0 else 0
    bank = banked_in - used + added
    settled = bank if settle else 0
    return NetUnits(import_units=import_units, export_units=export_units, banked_in=banked_in,
                    banked_used=used, banked_added=added, settled_units=settled,
                    banked_out=bank - settled, billed_units=max(net, 0) - used)
