"""Pricing with the DERC domestic tariff FY2019-20 and the example commercial
tariff. Every expected value is worked out by hand in the test."""

from decimal import Decimal
from fractions import Fraction

import pytest

from functions.core.billing_rules.errors import BillingRuleError
from functions.core.billing_rules.fixtures import DERC_DOMESTIC_2019_20, EXAMPLE_COMMERCIAL
from functions.core.billing_rules.tariff import (
    PricedBill,
    TariffVersion,
    late_payment_surcharge,
    price,
)

D = Decimal


def amounts(bill: PricedBill) -> list[tuple[str, Decimal]]:
    return [(line.label, line.amount) for line in bill.lines]


def test_worked_example_3kw_300_units_is_1380():
    bill = price(DERC_DOMESTIC_2019_20, 300, D(3))
    assert amounts(bill) == [
        ("Energy 0-200 kWh", D("600.00")),  # 200 x 3.00
        ("Energy 201-400 kWh", D("450.00")),  # 100 x 4.50
        ("Fixed charge (above 2 kW up to 5 kW)", D("150.00")),  # 3 kW x 50
        ("Pension Trust Surcharge", D("84.00")),  # 7% of 1200
        ("Regulatory Asset Surcharge", D("96.00")),  # 8% of 1200
    ]
    assert bill.energy_total == D("1050.00")
    assert bill.fixed_total == D("150.00")
    assert bill.percentage_total == D("180.00")
    assert bill.flat_total == D("0.00")
    assert bill.total == D("1380.00")
    assert str(bill.total) == "1380.00"


def test_lines_carry_quantity_unit_and_rate():
    energy, _, fixed, pension, _ = price(DERC_DOMESTIC_2019_20, 300, D(3)).lines
    assert (energy.kind, energy.quantity, energy.unit, energy.rate) == (
        "energy", D(200), "kWh", D("3.00"))
    assert (fixed.kind, fixed.quantity, fixed.unit, fixed.rate) == ("fixed", D(3), "kW", D(50))
    assert (pension.kind, pension.quantity, pension.unit, pension.rate) == (
        "percentage", D("1200.00"), "INR", D(7))


@pytest.mark.parametrize(("units", "energy", "total"), [
    # units: energy by hand; total = energy + 150 fixed + 7% + 8% of (energy + 150)
    (0, "0.00", "172.50"),  # 150 + 10.50 + 12.00
    (1, "3.00", "175.95"),  # 153 + 10.71 + 12.24
    (200, "600.00", "862.50"),  # 750 + 52.50 + 60.00
    (201, "604.50", "867.68"),  # 754.50 + 52.815->52.82 + 60.36
    (400, "1500.00", "1897.50"),  # 600 + 200x4.50; 1650 + 115.50 + 132.00
    (401, "1506.50", "1904.98"),  # 1656.50 + 115.955->115.96 + 132.52
    (800, "4100.00", "4887.50"),  # 1500 + 400x6.50; 4250 + 297.50 + 340.00
    (1200, "6900.00", "8107.50"),  # 4100 + 400x7.00; 7050 + 493.50 + 564.00
    (1201, "6908.00", "8116.70"),  # 6900 + 8.00; 7058 + 494.06 + 564.64
    (1500, "9300.00", "10867.50"),  # 6900 + 300x8.00; 9450 + 661.50 + 756.00
])
def test_energy_slab_boundaries(units, energy, total):
    bill = price(DERC_DOMESTIC_2019_20, units, D(3))
    assert bill.energy_total == D(energy)
    assert bill.fixed_total == D("150.00")
    assert bill.total == D(total)


def test_zero_units_bills_only_the_fixed_charge_and_its_surcharges():
    bill = price(DERC_DOMESTIC_2019_20, 0, D(3))
    assert [line.kind for line in bill.lines] == ["fixed", "percentage", "percentage"]


def test_above_1200_units_uses_every_slab():
    bill = price(DERC_DOMESTIC_2019_20, 1500, D(3))
    energy = [(line.label, line.quantity, line.amount) for line in bill.lines
              if line.kind == "energy"]
    assert energy == [
        ("Energy 0-200 kWh", D(200), D("600.00")),
        ("Energy 201-400 kWh", D(200), D("900.00")),
        ("Energy 401-800 kWh", D(400), D("2600.00")),
        ("Energy 801-1200 kWh", D(400), D("2800.00")),
        ("Energy above 1200 kWh", D(300), D("2400.00")),
    ]


@pytest.mark.parametrize(("load_kw", "fixed", "total"), [
    # the whole load at its one slab's rate; 300 units = 1050 energy
    ("1", "20.00", "1230.50"),  # 1 x 20; 1070 + 74.90 + 85.60
    ("2", "40.00", "1253.50"),  # 2 x 20 (2 kW is still "up to 2 kW"); 1090 + 76.30 + 87.20
    ("2.5", "125.00", "1351.25"),  # 2.5 x 50; 1175 + 82.25 + 94.00
    ("5", "250.00", "1495.00"),  # 5 x 50; 1300 + 91.00 + 104.00
    ("5.5", "550.00", "1840.00"),  # 5.5 x 100; 1600 + 112.00 + 128.00
    ("25", "5000.00", "6957.50"),  # 25 x 200; 6050 + 423.50 + 484.00
    ("30", "7500.00", "9832.50"),  # 30 x 250; 8550 + 598.50 + 684.00
])
def test_load_slab_boundaries(load_kw, fixed, total):
    bill = price(DERC_DOMESTIC_2019_20, 300, D(load_kw))
    assert bill.fixed_total == D(fixed)
    assert bill.total == D(total)


def test_single_rate_commercial_with_subtotal_tax_and_meter_rent():
    bill = price(EXAMPLE_COMMERCIAL, 100, D(4))
    assert amounts(bill) == [
        ("Energy (all units)", D("850.00")),  # 100 x 8.50
        ("Fixed charge (any load)", D("1000.00")),  # 4 x 250
        ("Regulatory Asset Surcharge", D("148.00")),  # 8% of 1850
        ("Electricity Tax", D("99.90")),  # 5% of the subtotal 1850 + 148 = 1998
        ("Meter Rent", D("25.00")),  # flat, never a base
    ]
    assert bill.total == D("2122.90")
    assert bill.flat_total == D("25.00")


def test_bases_energy_and_fixed_alone():
    tariff = TariffVersion.model_validate({
        **DERC_DOMESTIC_2019_20.model_dump(),
        "percentage_charges": [
            {"name": "Energy Duty", "percent": "5", "base": "energy"},
            {"name": "Fixed Duty", "percent": "10", "base": "fixed"},
            {"name": "Tax", "percent": "2", "base": "subtotal"},
        ],
    })
    bill = price(tariff, 300, D(3))
    assert amounts(bill)[3:] == [
        ("Energy Duty", D("52.50")),  # 5% of 1050
        ("Fixed Duty", D("15.00")),  # 10% of 150
        ("Tax", D("25.35")),  # 2% of 1050 + 150 + 52.50 + 15.00 = 1267.50
    ]
    assert bill.total == D("1292.85")


def test_each_line_is_rounded_and_the_total_is_their_sum():
    tariff = TariffVersion.model_validate({
        "name": "Odd rates", "category": "commercial", "effective_from": "2020-01-01",
        "energy_slabs": [{"from_units": 0, "to_units": None, "rate_per_kwh": "3.3333"}],
        "load_slabs": [{"from_kw": 0, "to_kw": None, "rate_per_kw": "10.005"}],
        "percentage_charges": [{"name": "Duty", "percent": "1", "base": "energy+fixed"}],
        "due_days": 10, "late_payment_surcharge_percent": "2",
    })
    bill = price(tariff, 7, D(1))
    # energy 7 x 3.3333 = 23.3331 -> 23.33; fixed 1 x 10.005 -> 10.01 (half up);
    # duty 1% of the ROUNDED 33.34 = 0.3334 -> 0.33 (the exact 33.3381 would be the same
    # here, but the base shown on the bill is 33.34); total 23.33 + 10.01 + 0.33
    assert amounts(bill) == [("Energy (all units)", D("23.33")),
                             ("Fixed charge (any load)", D("10.01")),
                             ("Duty", D("0.33"))]
    assert bill.lines[2].quantity == D("33.34")
    assert bill.total == D("33.67")


def test_decimal_units_are_priced_exactly():
    bill = price(DERC_DOMESTIC_2019_20, D("200.5"), D(3))
    assert bill.energy_total == D("602.25")  # 600 + 0.5 x 4.50
    assert bill.units == D("200.5")


class TestProRating:
    def test_half_period_halves_slabs_fixed_charge(self):
        bill = price(DERC_DOMESTIC_2019_20, 300, D(3), days_fraction=Fraction(15, 30))
        # slabs become 0-100 @3, 100-200 @4.50, 200-400 @6.50
        assert amounts(bill) == [
            ("Energy 0-200 kWh", D("300.00")),  # 100 x 3.00
            ("Energy 201-400 kWh", D("450.00")),  # 100 x 4.50
            ("Energy 401-800 kWh", D("650.00")),  # 100 x 6.50
            ("Fixed charge (above 2 kW up to 5 kW)", D("75.00")),  # 150 x 1/2
            ("Pension Trust Surcharge", D("103.25")),  # 7% of 1475
            ("Regulatory Asset Surcharge", D("118.00")),  # 8% of 1475
        ]
        assert [line.quantity for line in bill.lines[:3]] == [D(100), D(100), D(100)]
        assert bill.total == D("1696.25")
        assert bill.days_fraction == "1/2"

    def test_fraction_is_applied_exactly_before_rounding(self):
        bill = price(EXAMPLE_COMMERCIAL, 100, D(4), days_fraction=Fraction(15, 31))
        assert amounts(bill) == [
            ("Energy (all units)", D("850.00")),
            ("Fixed charge (any load)", D("483.87")),  # 1000 x 15/31 = 483.870...
            ("Regulatory Asset Surcharge", D("106.71")),  # 8% of 1333.87 = 106.7096
            ("Electricity Tax", D("72.03")),  # 5% of 1440.58 = 72.029
            ("Meter Rent", D("12.10")),  # 25 x 15/31 = 12.096...
        ]
        assert bill.total == D("1524.71")

    def test_pro_rated_slab_quantities_show_three_decimals(self):
        bill = price(DERC_DOMESTIC_2019_20, 150, D(1), days_fraction=Fraction(20, 31))
        # first slab 200 x 20/31 = 129.032... kWh, the rest in the second slab
        first, second = (line for line in bill.lines if line.kind == "energy")
        assert first.quantity == D("129.032")
        assert second.quantity == D("20.968")
        # amounts from exact quantities: 4000/31 x 3 = 387.096.. ; (150 - 4000/31) x 4.5
        assert first.amount == D("387.10")
        assert second.amount == D("94.35")  # 650/31 x 4.5 = 94.354..

    def test_whole_period_fraction_is_the_same_as_none(self):
        assert price(DERC_DOMESTIC_2019_20, 300, D(3), days_fraction=Fraction(31, 31)) == \
            price(DERC_DOMESTIC_2019_20, 300, D(3))

    @pytest.mark.parametrize("fraction", [Fraction(0), Fraction(32, 31), Fraction(-1, 2)])
    def test_fraction_must_be_in_zero_one(self, fraction):
        with pytest.raises(BillingRuleError, match="days_fraction"):
            price(DERC_DOMESTIC_2019_20, 300, D(3), days_fraction=fraction)

    def test_fraction_must_be_a_fraction(self):
        with pytest.raises(TypeError):
            price(DERC_DOMESTIC_2019_20, 300, D(3), days_fraction=0.5)  # type: ignore[arg-type]


class TestEstimateCredit:
    def test_credit_reduces_energy_before_surcharges(self):
        bill = price(DERC_DOMESTIC_2019_20, 100, D(3), estimate_credit=D("120.00"))
        assert amounts(bill) == [
            ("Energy 0-200 kWh", D("300.00")),
            ("Credit for units over-estimated", D("-120.00")),
            ("Fixed charge (above 2 kW up to 5 kW)", D("150.00")),
            ("Pension Trust Surcharge", D("23.10")),  # 7% of 180 + 150
            ("Regulatory Asset Surcharge", D("26.40")),  # 8% of 330
        ]
        assert bill.energy_total == D("180.00")
        assert bill.total == D("379.50")

    def test_credit_larger_than_the_bill_gives_a_negative_total(self):
        bill = price(DERC_DOMESTIC_2019_20, 0, D(3), estimate_credit=D("200.00"))
        # energy -200 + fixed 150 = -50; surcharges -3.50 and -4.00 are refunds
        assert bill.total == D("-57.50")

    def test_negative_credit_is_refused(self):
        with pytest.raises(BillingRuleError, match="estimate_credit"):
            price(DERC_DOMESTIC_2019_20, 0, D(3), estimate_credit=D("-1"))


class TestPriceInputs:
    def test_negative_units(self):
        with pytest.raises(BillingRuleError, match="non-negative"):
            price(DERC_DOMESTIC_2019_20, -1, D(3))

    @pytest.mark.parametrize("units", [300.0, True, "300"])
    def test_units_must_be_int_or_decimal(self, units):
        with pytest.raises(TypeError):
            price(DERC_DOMESTIC_2019_20, units, D(3))

    @pytest.mark.parametrize("load", [D(0), D("-1")])
    def test_load_must_be_positive(self, load):
        with pytest.raises(BillingRuleError, match="sanctioned load"):
            price(DERC_DOMESTIC_2019_20, 300, load)

    def test_load_must_not_be_a_float(self):
        with pytest.raises(TypeError):
            price(DERC_DOMESTIC_2019_20, 300, 3.0)  # type: ignore[arg-type]


def test_priced_bill_round_trips_through_json():
    bill = price(EXAMPLE_COMMERCIAL, 100, D(4), days_fraction=Fraction(15, 31))
    assert PricedBill.model_validate_json(bill.model_dump_json()) == bill


class TestLatePaymentSurcharge:
    @pytest.mark.parametrize(("total", "percent", "surcharge"), [
        ("1380.00", "1.5", "20.70"),
        ("867.68", "1.5", "13.02"),  # 13.0152
        ("1.00", "0.5", "0.01"),  # exactly half a paisa rounds up
        ("0.00", "1.5", "0.00"),
        ("-57.50", "1.5", "0.00"),  # a credit attracts no surcharge
    ])
    def test_percent_of_total_rounded_half_up(self, total, percent, surcharge):
        assert late_payment_surcharge(D(total), D(percent)) == D(surcharge)

    def test_uses_the_tariff_percent(self):
        bill = price(DERC_DOMESTIC_2019_20, 300, D(3))
        assert late_payment_surcharge(
            bill.total, DERC_DOMESTIC_2019_20.late_payment_surcharge_percent) == D("20.70")
