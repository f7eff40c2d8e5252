"""Property-based tests (hypothesis) of the pure billing rules (issue 18, item 4):
pricing is monotone in units, the lines add up to the total to the paisa, a split bill's
shares add up to the whole bill line by line, and the DERC tariff prices every consumption
as the hand computation of the end-to-end test does.

The number of examples follows HYPOTHESIS_EXAMPLES (default 100; README: run longer)."""

from __future__ import annotations

import os
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.core.billing_rules import (
    EnergySlab,
    FlatCharge,
    LoadSlab,
    OccupancySpan,
    PercentageCharge,
    TariffVersion,
    parse_period,
    price,
    split_by_days,
)
from functions.core.billing_rules.fixtures import DERC_DOMESTIC_2019_20_JSON
from functions.core.money import PAISA
from tests.integration.billing_support import derc_total

EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "100"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

DERC = TariffVersion.model_validate(DERC_DOMESTIC_2019_20_JSON)

rates = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("50"), places=2)
loads = st.decimals(min_value=Decimal("0.5"), max_value=Decimal("100"), places=1)
units = st.integers(min_value=0, max_value=50_000)


@st.composite
def tariffs(draw: st.DrawFn) -> TariffVersion:
    """Any valid tariff: telescopic energy slabs from 0, load slabs from 0 kW, percentage
    charges on every base, flat charges."""
    edges = sorted(draw(st.sets(st.integers(1, 3_000), max_size=5)))
    starts = [0, *edges]
    energy = [EnergySlab(from_units=start, to_units=end, rate_per_kwh=draw(rates))
              for start, end in zip(starts, [*edges, None], strict=True)]
    kw_edges = sorted(draw(st.sets(st.integers(1, 60), max_size=3)))
    kw_starts = [0, *kw_edges]
    load = [LoadSlab(from_kw=Decimal(start), to_kw=None if end is None else Decimal(end),
                     rate_per_kw=draw(rates))
            for start, end in zip(kw_starts, [*kw_edges, None], strict=True)]
    percentages = [PercentageCharge(name=f"duty {i}", base=base, percent=draw(st.decimals(
        min_value=Decimal("0.01"), max_value=Decimal("30"), places=2)))
        for i, base in enumerate(draw(st.lists(st.sampled_from(
            ["energy", "fixed", "energy+fixed", "subtotal"]), max_size=4)))]
    flats = [FlatCharge(name=f"rent {i}", amount=amount)
             for i, amount in enumerate(draw(st.lists(st.decimals(
                 min_value=Decimal("0"), max_value=Decimal("500"), places=2), max_size=2)))]
    return TariffVersion(name="generated", category="residential",
                         effective_from=date(2020, 1, 1), energy_slabs=tuple(energy),
                         load_slabs=tuple(load), percentage_charges=tuple(percentages),
                         flat_charges=tuple(flats), due_days=15,
                         late_payment_surcharge_percent=Decimal("1.5"))


def in_paise(amount: Decimal) -> bool:
    return amount == amount.quantize(PAISA)


@PROPERTY
@given(tariff=tariffs(), load=loads, a=units, b=units)
def test_pricing_is_monotone_in_units(tariff: TariffVersion, load: Decimal, a: int,
                                      b: int) -> None:
    low, high = sorted((a, b))
    cheaper, dearer = price(tariff, low, load), price(tariff, high, load)
    assert cheaper.total <= dearer.total
    assert cheaper.energy_total <= dearer.energy_total
    if high > low:  # every energy rate is at least a paisa: one more unit costs more
        assert cheaper.energy_total < dearer.energy_total


@PROPERTY
@given(tariff=tariffs(), load=loads, used=units)
def test_rounding_never_loses_or_invents_a_paisa(tariff: TariffVersion, load: Decimal,
                                                 used: int) -> None:
    bill = price(tariff, used, load)
    assert all(in_paise(line.amount) for line in bill.lines)
    assert bill.total == sum((line.amount for line in bill.lines), Decimal(0))
    assert bill.total == (bill.energy_total + bill.fixed_total + bill.percentage_total
                          + bill.flat_total)
    energy = [line.amount for line in bill.lines if line.kind == "energy"]
    assert sum(energy, Decimal(0)) == bill.energy_total


@st.composite
def occupancies(draw: st.DrawFn) -> tuple[str, list[OccupancySpan]]:
    """A period and 1-5 occupants tiling its days."""
    year, month = draw(st.integers(2020, 2030)), draw(st.integers(1, 12))
    period = parse_period(f"{year:04d}-{month:02d}")
    cuts = sorted(draw(st.sets(st.integers(1, period.days - 1), max_size=4)))
    starts = [0, *cuts]
    spans = [OccupancySpan(f"occupant-{i}", period.first_day + timedelta(days=start),
                           period.first_day + timedelta(days=end - 1))
             for i, (start, end) in enumerate(zip(starts, [*cuts, period.days], strict=True))]
    return str(period), spans


@PROPERTY
@given(tariff=tariffs(), load=loads, used=units, occupancy=occupancies())
def test_split_shares_sum_to_the_whole_bill_to_the_paisa(
        tariff: TariffVersion, load: Decimal, used: int,
        occupancy: tuple[str, list[OccupancySpan]]) -> None:
    period_text, spans = occupancy
    period = parse_period(period_text)
    bill = price(tariff, used, load)
    shares = split_by_days(bill, spans, period)
    assert sum((share.total for share in shares), Decimal(0)) == bill.total
    assert sum(share.days for share in shares) == period.days
    for i, line in enumerate(bill.lines):
        parts = [share.lines[i].amount for share in shares]
        assert all(in_paise(part) for part in parts)
        assert sum(parts, Decimal(0)) == line.amount, line.label
        # each part is its days' share of the line, within a paisa
        for share, part in zip(shares, parts, strict=True):
            exact = line.amount * share.days / period.days
            assert abs(part - exact) <= PAISA


@PROPERTY
@given(used=st.integers(0, 20_000), load=st.sampled_from(
    ["1", "2", "2.5", "3", "4.5", "5", "7.5", "15", "20", "25", "30"]))
def test_the_derc_tariff_prices_as_the_hand_computation(used: int, load: str) -> None:
    assert price(DERC, used, Decimal(load)).total == derc_total(used, Decimal(load))
