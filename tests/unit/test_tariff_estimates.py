"""Estimated bills and the true-up when the next actual reading arrives."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from functions.core.billing_rules.estimates import (
    TrueUp,
    credit_amount,
    estimate_units,
    true_up,
)
from functions.core.billing_rules.fixtures import DERC_DOMESTIC_2019_20
from functions.core.billing_rules.readings import RegisterReading, validate_reading
from functions.core.billing_rules.tariff import price

D = Decimal


class TestEstimateUnits:
    @pytest.mark.parametrize(("history", "expected"), [
        ([250], 250),
        ([200, 301], 251),  # 250.5 rounds half up
        ([100, 101, 101], 101),  # 100.67
        ([100, 100, 101], 100),  # 100.33
        ([900, 100, 200, 300], 200),  # only the last 3 months: (100 + 200 + 300) / 3
        ([0, 0, 0], 0),
    ])
    def test_mean_of_last_three_actual_months(self, history, expected):
        assert estimate_units(history) == expected

    def test_no_history_no_estimate(self):
        assert estimate_units([]) is None

    def test_negative_history(self):
        with pytest.raises(ValueError):
            estimate_units([100, -1])


class TestTrueUp:
    def test_bill_the_difference(self):
        assert true_up(650, [300]) == TrueUp(units_to_bill=350, credit_units=0)

    def test_exactly_as_estimated(self):
        assert true_up(600, [300, 300]) == TrueUp(units_to_bill=0, credit_units=0)

    def test_over_estimate_becomes_a_credit_never_negative_units(self):
        assert true_up(250, [300]) == TrueUp(units_to_bill=0, credit_units=50)
        assert true_up(250, [200, 100]) == TrueUp(units_to_bill=0, credit_units=50)

    def test_negative_input(self):
        with pytest.raises(ValueError):
            true_up(-1, [300])
        with pytest.raises(ValueError):
            true_up(100, [-300])


class TestCreditAmount:
    def test_at_the_average_energy_rate_of_the_estimates(self):
        # estimate of 300 units charged 1050.00 energy: 3.50 a unit; 50 x 3.50
        assert credit_amount(50, 300, D("1050.00")) == D("175.00")
        # 301 units charged 600 + 101 x 4.50 = 1054.50; 7 x 1054.50 / 301 = 24.523..
        assert credit_amount(7, 301, D("1054.50")) == D("24.52")

    def test_nothing_to_credit(self):
        assert credit_amount(0, 300, D("1050.00")) == D("0.00")

    @pytest.mark.parametrize("credit_units", [-1, 301])
    def test_credit_within_the_units_estimated(self, credit_units):
        with pytest.raises(ValueError):
            credit_amount(credit_units, 300, D("1050.00"))


def test_estimated_month_then_actual_reading_end_to_end():
    # September: actual reading 5,000,000 Wh. October: the meter is silent, estimate
    # from history (280, 300, 320) = 300 units -> the 1380.00 bill.
    estimated_units = estimate_units([280, 300, 320])
    assert estimated_units == 300
    october = price(DERC_DOMESTIC_2019_20, estimated_units, D(3))
    assert october.total == D("1380.00")

    # November: actual 5,250,000 Wh, checked against SEPTEMBER's actual reading over
    # two months (so 250 units is no spike against a 300/month history).
    check = validate_reading(
        RegisterReading(5_250_000, datetime(2026, 11, 1, 6, tzinfo=UTC)),
        RegisterReading(5_000_000, datetime(2026, 9, 1, 6, tzinfo=UTC)),
        now=datetime(2026, 11, 1, 7, tzinfo=UTC), history_units=[280, 300, 320],
        months_covered=2)
    assert check.units == 250

    adjustment = true_up(check.units, [estimated_units])
    assert adjustment == TrueUp(units_to_bill=0, credit_units=50)
    credit = credit_amount(adjustment.credit_units, estimated_units, october.energy_total)
    assert credit == D("175.00")  # 50 x 1050 / 300

    november = price(DERC_DOMESTIC_2019_20, adjustment.units_to_bill, D(3),
                     estimate_credit=credit)
    # energy -175.00 + fixed 150.00 = -25.00; 7% -1.75; 8% -2.00
    assert november.total == D("-28.75")
