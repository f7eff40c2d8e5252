"""A prepaid month's daily debits add up to the postpaid bill to the paisa (issue 24),
one simulated month per tariff shape: slabs, fixed per kW, duty, subsidy."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from functions.core.billing_rules.daily_debits import daily_debit, month_bounds
from functions.core.billing_rules.fixtures import DERC_DOMESTIC_2019_20_JSON
from functions.core.billing_rules.tariff import TariffVersion, price_period
from functions.core.billing_rules.tariff_orders import tariff_order
from functions.core.money import sum_money

BASE = {k: v for k, v in DERC_DOMESTIC_2019_20_JSON.items()
        if k not in ("percentage_charges", "load_slabs")}
ZERO_FIXED = [{"from_kw": 0, "to_kw": None, "rate_per_kw": 0}]

SLABS = TariffVersion.model_validate(BASE | {"load_slabs": ZERO_FIXED})
FIXED_PER_KW = TariffVersion.model_validate(BASE | {
    "energy_slabs": [{"from_units": 0, "to_units": None, "rate_per_kwh": "5.35"}],
    "load_slabs": [{"from_kw": 0, "to_kw": 2, "rate_per_kw": "20"},
                   {"from_kw": 2, "to_kw": None, "rate_per_kw": "113.33"}]})
DUTY = TariffVersion.model_validate(DERC_DOMESTIC_2019_20_JSON | {
    "percentage_charges": [
        {"name": "Electricity Duty", "percent": "5", "base": "energy+fixed"},
        {"name": "Tax", "percent": "3.33", "base": "subtotal"}],
    "flat_charges": [{"name": "Meter rent", "amount": "17.77"}]})
SUBSIDY = tariff_order("derc_domestic_2019_20_subsidy")


def simulate_month(tariff: TariffVersion, month_first: date, daily_units: list[int],
                   load: Decimal) -> tuple[list[Decimal], Decimal]:
    """Each day's debit as the ledger would post it, and the postpaid bill."""
    posted: list[Decimal] = []
    to_date = 0
    for offset, units in enumerate(daily_units):
        to_date += units
        debit = daily_debit([tariff], tariff.category, month_first + timedelta(days=offset),
                            to_date, load, sum_money(posted))
        posted.append(debit.amount)
    first, last = month_bounds(month_first)
    bill = price_period([tariff], tariff.category, first, last, to_date, load)
    return posted, bill.total


def month_of_use(seed: int, days: int, low: int, high: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(low, high) for _ in range(days)]


@pytest.mark.parametrize("tariff,load,low,high", [
    pytest.param(SLABS, Decimal("3"), 3, 40, id="slabs"),
    pytest.param(FIXED_PER_KW, Decimal("7.5"), 0, 9, id="fixed-per-kw"),
    pytest.param(DUTY, Decimal("4"), 5, 33, id="duty"),
    pytest.param(SUBSIDY, Decimal("3"), 2, 17, id="subsidy"),
])
@pytest.mark.parametrize("month", [date(2024, 2, 1), date(2024, 3, 1)], ids=["feb29", "mar31"])
def test_a_months_debits_equal_the_postpaid_bill(tariff, load, low, high, month):
    days = month_bounds(month)[1].day
    for seed in range(3):
        debits, bill = simulate_month(tariff, month, month_of_use(seed, days, low, high), load)
        assert len(debits) == days
        assert sum_money(debits) == bill, (seed, debits)
        assert all(d == d.quantize(Decimal("0.01")) for d in debits)


def test_fixed_charges_accrue_per_day_not_on_the_first():
    debits, bill = simulate_month(FIXED_PER_KW, date(2024, 4, 1), [0] * 30, Decimal("3"))
    assert bill == Decimal("339.99")  # 3 kW x 113.33
    assert max(debits) - min(debits) <= Decimal("0.01")  # about 11.33 a day, every day


def test_a_missed_day_is_caught_up_by_the_next():
    use = month_of_use(7, 31, 4, 20)
    posted: list[Decimal] = []
    to_date = 0
    for offset, units in enumerate(use):
        to_date += units
        if offset == 10:  # the meter did not answer that day: no debit posted
            continue
        posted.append(daily_debit([DUTY], "residential", date(2024, 5, 1 + offset), to_date,
                                  Decimal("4"), sum_money(posted)).amount)
    bill = price_period([DUTY], "residential", date(2024, 5, 1), date(2024, 5, 31), to_date,
                        Decimal("4")).total
    assert sum_money(posted) == bill


def test_slabs_and_subsidy_bands_follow_the_months_pace():
    # Slab widths and subsidy bands accrue by day like the fixed charge, so a steady
    # consumer pays a steady amount (no cheap first week and dear last week).
    within_free_band, bill = simulate_month(SUBSIDY, date(2024, 6, 1), [6] * 30, Decimal("3"))
    assert bill == 0 and all(d == 0 for d in within_free_band)  # 180 units: 100% subsidy
    steady, bill = simulate_month(SUBSIDY, date(2024, 6, 1), [10] * 30, Decimal("3"))
    assert max(steady) - min(steady) <= Decimal("0.02") and sum_money(steady) == bill > 0
    assert "already debited" in daily_debit([SUBSIDY], "residential", date(2024, 6, 2), 20,
                                            Decimal("3"), Decimal("0")).explanation
