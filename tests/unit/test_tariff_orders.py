"""Bills priced with three real tariff orders, every amount worked out by hand.

Sources (functions/core/billing_rules/tariff_orders.py has the transcription):
- DERC (Delhi) Tariff Order FY 2019-20, in force from 1 August 2019, domestic (Pension
  Trust Surcharge 3.80%, deficit surcharge 8%); with the GNCTD subsidy of 1 August 2019
  and DERC net metering (Regulations 2014; the year-end settlement rate, the discom's
  APPC, is a configured value).
- DERC (Delhi) Tata Power-DDL Tariff Order FY 2015-16, Non-Domestic LT 11-150 kVA, with
  its summer time-of-day rule.
- HERC (Haryana) order of 29 May 2014 for FY 2014-15, Domestic (categories I and II,
  monthly minimum charge) and Non-Domestic LT 5-20 kW.
- MERC (Maharashtra) MTR order in Case No. 226 of 2022 (31 March 2023), MSEDCL tariff
  for FY 2024-25, LT-I(B) Residential: slabs, fixed charge per connection, wheeling
  charge per kWh, FAC per kWh (configured), electricity duty 16%.
"""

from datetime import date
from decimal import Decimal

from functions.core.billing_rules.tariff import PricedBill, Usage, price
from functions.core.billing_rules.tariff_orders import (
    CONFIGURED_APPC_SETTLEMENT_RATE,
    tariff_order,
)

D = Decimal


def lines(bill: PricedBill) -> list[tuple[str, Decimal]]:
    return [(line.label, line.amount) for line in bill.lines]


class TestDercDomestic2019:
    """Residential: DERC FY 2019-20 with the GNCTD subsidy."""

    def test_up_to_200_units_the_whole_bill_is_subsidised(self):
        bill = price(tariff_order("derc_domestic_2019_20_subsidy"), 150, D(2))
        assert lines(bill) == [
            ("Energy 0-200 kWh", D("450.00")),  # 150 x 3.00
            ("Fixed charge (up to 2 kW)", D("40.00")),  # 2 kW x 20
            ("Pension Trust Surcharge", D("18.62")),  # 3.8% of 490
            ("Regulatory Asset Surcharge", D("39.20")),  # 8% of 490
            ("GNCTD subsidy (0-200 kWh)", D("-547.82")),  # 100% of 547.82
        ]
        assert (bill.gross_total, bill.subsidy_total, bill.total) == (
            D("547.82"), D("-547.82"), D("0.00"))

    def test_201_to_400_units_half_the_bill_up_to_rs_800(self):
        bill = price(tariff_order("derc_domestic_2019_20_subsidy"), 350, D(3))
        assert lines(bill) == [
            ("Energy 0-200 kWh", D("600.00")),  # 200 x 3.00
            ("Energy 201-400 kWh", D("675.00")),  # 150 x 4.50
            ("Fixed charge (above 2 kW up to 5 kW)", D("150.00")),  # 3 x 50
            ("Pension Trust Surcharge", D("54.15")),  # 3.8% of 1425
            ("Regulatory Asset Surcharge", D("114.00")),  # 8% of 1425
            ("GNCTD subsidy (201-400 kWh)", D("-796.58")),  # 50% of 1593.15 = 796.575
        ]
        assert (bill.gross_total, bill.total) == (D("1593.15"), D("796.57"))
        capped = price(tariff_order("derc_domestic_2019_20_subsidy"), 400, D(3))
        # 600 + 900 + 150 = 1650; 3.8% 62.70, 8% 132.00: gross 1844.70; 50% = 922.35
        assert lines(capped)[-1] == ("GNCTD subsidy (201-400 kWh, capped at 800.00)",
                                     D("-800.00"))
        assert (capped.gross_total, capped.total) == (D("1844.70"), D("1044.70"))

    def test_net_metering_bills_net_units_after_the_bank(self):
        tariff = tariff_order("derc_domestic_2019_20_net_metering")
        bill = price(tariff, 600, D(3), usage=Usage(export_units=150), banked_units=40,
                     first_day=date(2019, 10, 1), last_day=date(2019, 10, 31))
        # 600 - 150 = 450 net, 40 banked taken off: 410 units billed
        assert bill.net_metering is not None
        assert (bill.units, bill.net_metering.banked_used, bill.net_metering.banked_out) == (
            D(410), 40, 0)
        assert lines(bill) == [
            ("Energy 0-200 kWh", D("600.00")),
            ("Energy 201-400 kWh", D("900.00")),  # 200 x 4.50
            ("Energy 401-800 kWh", D("65.00")),  # 10 x 6.50
            ("Fixed charge (above 2 kW up to 5 kW)", D("150.00")),
            ("Pension Trust Surcharge", D("65.17")),  # 3.8% of 1715
            ("Regulatory Asset Surcharge", D("137.20")),  # 8% of 1715
        ]  # above 400 units: no subsidy
        assert bill.total == D("1917.37")

    def test_net_metering_surplus_is_banked_then_settled_in_march(self):
        tariff = tariff_order("derc_domestic_2019_20_net_metering")
        february = price(tariff, 200, D(3), usage=Usage(export_units=260), banked_units=100,
                         first_day=date(2020, 2, 1), last_day=date(2020, 2, 29))
        assert february.net_metering is not None
        assert february.net_metering.banked_out == 160  # 60 surplus + 100 banked
        assert february.total == D("0.00")  # 167.70 of fixed charges, all subsidised
        march = price(tariff, 200, D(3), usage=Usage(export_units=260), banked_units=100,
                      first_day=date(2020, 3, 1), last_day=date(2020, 3, 31))
        # The settlement rate is the configured APPC, not a figure of the order.
        assert CONFIGURED_APPC_SETTLEMENT_RATE == "3.00"
        assert lines(march) == [
            ("Fixed charge (above 2 kW up to 5 kW)", D("150.00")),
            ("Pension Trust Surcharge", D("5.70")),  # 3.8% of 150
            ("Regulatory Asset Surcharge", D("12.00")),
            # 160 x the configured 3.00
            ("Net metering: banked units settled at year end", D("-480.00")),
            ("GNCTD subsidy (0-200 kWh)", D("-167.70")),  # 100% of the charges, 167.70
        ]
        assert march.gross_total == D("-312.30")
        assert march.total == D("-480.00")  # a credit, carried to the next bill
        assert march.net_metering is not None and march.net_metering.banked_out == 0


class TestDercNonDomestic2015:
    """Commercial: TPDDL NDLT FY 2015-16, ToD in summer, fixed charge on billing demand."""

    ZONES = (200, 500, 1300, 1200, 1000, 1300, 500)  # kWh per zone register, 6000 in all

    def test_june_bill_with_tod_and_demand(self):
        bill = price(tariff_order("derc_ndlt_2015_16"), 6000, D(40),
                     usage=Usage(tod_units=self.ZONES, max_demand_kw=D("43.5")),
                     first_day=date(2016, 6, 1), last_day=date(2016, 6, 30))
        assert lines(bill) == [
            ("Energy (all units)", D("51000.00")),  # 6000 x 8.50
            # zone share of 51000 x the zone's percent
            ("ToD surcharge, peak 00:00-01:00 (200 kWh)", D("340.00")),  # 1700 x 20%
            ("ToD rebate, off-peak 04:00-10:00 (1300 kWh)", D("-2210.00")),  # 11050 x -20%
            ("ToD surcharge, peak 14:00-17:00 (1000 kWh)", D("1700.00")),  # 8500 x 20%
            ("ToD surcharge, peak 22:00-24:00 (500 kWh)", D("850.00")),  # 4250 x 20%
            ("Fixed charge (any load)", D("0.00")),
            # billing demand max(43.5 MD, 100% of 40) = 43.5 kVA x 115
            ("Demand charge (billing demand 43.5 kW)", D("5002.50")),
        ]
        assert bill.energy_total == D("51680.00")
        assert bill.total == D("56682.50")

    def test_december_has_no_tod_and_demand_at_least_the_sanctioned_load(self):
        bill = price(tariff_order("derc_ndlt_2015_16"), 6000, D(40),
                     usage=Usage(tod_units=self.ZONES, max_demand_kw=D("31.2")),
                     first_day=date(2016, 12, 1), last_day=date(2016, 12, 31))
        # 51000 + 40 kVA x 115 = 4600
        assert bill.total == D("55600.00")
        assert not [line for line in bill.lines if line.kind == "tod"]


class TestHerc2014:
    def test_category_i_telescopic(self):
        bill = price(tariff_order("herc_domestic_2014_15"), 300, D(5))
        assert lines(bill)[:3] == [
            ("Energy 0-40 kWh", D("108.00")),  # 40 x 2.70
            ("Energy 41-250 kWh", D("945.00")),  # 210 x 4.50
            ("Energy 251-500 kWh", D("262.50")),  # 50 x 5.25
        ]
        assert bill.total == D("1315.50")  # above the minimum of 5 x 60 = 300

    def test_category_ii_every_unit_at_one_rate(self):
        tariff = tariff_order("herc_domestic_2014_15")
        # 800 units: 108 + 945 + 1312.50 + 300 x 5.98 = 1794 -> 4159.50
        assert price(tariff, 800, D(5)).total == D("4159.50")
        bill = price(tariff, 900, D(5))
        assert lines(bill)[0] == (
            "Energy, all units (above 800 kWh: no slab benefit)", D("5382.00"))  # 900 x 5.98
        assert bill.total == D("5382.00")

    def test_monthly_minimum_charge(self):
        bill = price(tariff_order("herc_domestic_2014_15"), 30, D(5))
        assert lines(bill) == [
            ("Energy 0-40 kWh", D("81.00")),  # 30 x 2.70
            ("Fixed charge (any load)", D("0.00")),
            ("Minimum charge shortfall (minimum 300.00)", D("219.00")),  # 300 - 81
        ]
        assert bill.total == D("300.00")

    def test_non_domestic(self):
        bill = price(tariff_order("herc_non_domestic_2014_15"), 1000, D(10))
        assert bill.total == D("6100.00")  # 1000 x 6.10


class TestMercResidential2024:
    """Residential: MERC MTR order (Case 226 of 2022) for MSEDCL, FY 2024-25, LT-I(B),
    single-phase connection of 3 kW; FAC at its configured April and May values."""

    def test_april_bill_with_wheeling_fac_and_duty(self):
        bill = price(tariff_order("merc_residential_2024_25"), 350, D(3),
                     first_day=date(2024, 4, 1), last_day=date(2024, 4, 30))
        assert lines(bill) == [
            ("Energy 0-100 kWh", D("471.00")),  # 100 x 4.71
            ("Energy 101-300 kWh", D("2058.00")),  # 200 x 10.29
            ("Energy 301-500 kWh", D("727.50")),  # 50 x 14.55
            ("Wheeling charge", D("409.50")),  # 350 x 1.17
            ("FAC", D("70.00")),  # 350 x 0.20 (April, configured)
            ("Fixed charge per connection", D("128.00")),
            # 16% of 3256.50 + 409.50 + 70.00 + 128.00 = 16% of 3864.00
            ("Electricity duty", D("618.24")),
        ]
        assert bill.total == D("4482.24")

    def test_may_bill_takes_the_revised_fac(self):
        bill = price(tariff_order("merc_residential_2024_25"), 80, D(3),
                     first_day=date(2024, 5, 1), last_day=date(2024, 5, 31))
        assert lines(bill) == [
            ("Energy 0-100 kWh", D("376.80")),  # 80 x 4.71
            ("Wheeling charge", D("93.60")),  # 80 x 1.17
            ("FAC", D("28.00")),  # 80 x 0.35 (from May, configured)
            ("Fixed charge per connection", D("128.00")),
            ("Electricity duty", D("100.22")),  # 16% of 626.40 = 100.224
        ]
        assert bill.total == D("726.62")
