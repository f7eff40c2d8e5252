"""Issue 17 in a real browser: bills priced by the billing service with the tariff orders'
rules show every line in ₹ with Indian grouping (ToD rebates and surcharges, demand,
subsidy with gross and net, net metering's bank), on the bill page and in its print view;
the admin tariff editor takes every rule, shows a rule's error by its field and previews
a draft with them."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from functions.core.accounts.sessions import issue_session
from functions.core.bills.service import BillingService
from functions.core.tariffs.service import TariffBook
from tests.browser.conftest import Portal, screenshot, start_session
from tests.fixtures.stack import Stack, create_user
from tests.integration.billing_support import a_meter, a_property
from tests.integration.test_tariff_rules_billing import a_category, bill, v2_reading

pytestmark = pytest.mark.browser


@pytest.fixture
def as_admin(stack: Stack) -> Any:
    return stack.api.as_(issue_session(create_user("admin", name="Tariff Admin")))


def test_a_commercial_bill_shows_tod_and_demand_lines_and_prints_them(
        page: Page, portal: Portal, stack: Stack, as_admin: Any) -> None:
    customer = create_user("customer", name="Gurpreet Sethi")
    category = a_category(as_admin, "derc_ndlt_2015_16", "ndlt")
    meter = a_meter(a_property(customer, category=category, load_kw="40"))
    service = BillingService(tariffs=TariffBook())
    may = [1_000_000, 2_000_000, 3_000_000, 4_000_000, 5_000_000, 6_000_000, 7_000_000]
    bill(service, v2_reading(meter, "2016-05", sum(may), tod_wh=may, md_w=30_000))
    use = [200_000, 500_000, 1_300_000, 1_200_000, 1_000_000, 1_300_000, 500_000]
    june_zones = [a + b for a, b in zip(may, use, strict=True)]
    june = bill(service, v2_reading(meter, "2016-06", sum(june_zones), tod_wh=june_zones,
                                    md_w=43_500))

    start_session(page, portal, issue_session(customer), customer)
    page.goto(portal.page_url(f"bill.html?id={june.bill_id}"))
    charges = page.get_by_role("table", name="Charges")
    for text in ("Energy (all units)", "₹51,000.00", "ToD rebate, off-peak 04:00-10:00 (1300 kWh)",
                 "-₹2,210.00", "-20%", "ToD surcharge, peak 14:00-17:00 (1000 kWh)", "₹1,700.00",
                 "Demand charge (billing demand 43.5 kW)", "43.5 kW", "₹5,002.50"):
        expect(charges).to_contain_text(text)
    expect(page.locator("#bill-total")).to_have_text("₹56,682.50")
    expect(page.locator("#bill-billing-demand")).to_have_text("43.5 kW")
    # May's bill (28,000 kWh from the fitted meter's 0: 2,38,000 + 40 kVA x 115) is unpaid:
    # arrears brought forward, in lakh grouping, and the total payable with them.
    expect(page.locator("#bill-arrears")).to_have_text("₹2,42,600.00")
    expect(page.locator("#bill-total-payable")).to_have_text("₹2,99,282.50")
    screenshot(page, "bill-tod-demand")
    page.emulate_media(media="print")
    expect(charges).to_be_visible()
    expect(charges).to_contain_text("-₹2,210.00")
    expect(page.locator("#bill-total")).to_be_visible()
    screenshot(page, "bill-tod-demand-print")


def test_a_solar_bill_shows_gross_subsidy_net_and_the_bank(
        page: Page, portal: Portal, stack: Stack, as_admin: Any) -> None:
    customer = create_user("customer", name="Anjali Bhatt")
    category = a_category(as_admin, "derc_domestic_2019_20_net_metering", "solar")
    meter = a_meter(a_property(customer, category=category, load_kw="3"))
    service = BillingService(tariffs=TariffBook())
    bill(service, v2_reading(meter, "2019-10", 150_000, export_wh=20_000))
    bill(service, v2_reading(meter, "2019-11", 350_000, export_wh=280_000))
    december = bill(service, v2_reading(meter, "2019-12", 850_000, export_wh=430_000))

    start_session(page, portal, issue_session(customer), customer)
    page.goto(portal.page_url(f"bill.html?id={december.bill_id}"))
    charges = page.get_by_role("table", name="Charges")
    expect(charges).to_contain_text("GNCTD subsidy (201-400 kWh)")
    expect(page.locator("#bill-gross")).to_have_text("₹1,291.29")
    expect(page.locator("#bill-subsidy")).to_have_text("-₹645.65")
    expect(page.locator("#bill-total")).to_have_text("₹645.64")
    card = page.locator("#tariff-rules")
    expect(card.get_by_role("heading", name="Net metering")).to_be_visible()
    expect(page.locator("#bill-banked-in")).to_have_text("60 kWh")
    expect(page.locator("#bill-billed-units")).to_have_text("290 kWh")
    expect(page.locator("#bill-banked-out")).to_have_text("0 kWh")
    expect(card).to_contain_text("Exported")
    screenshot(page, "bill-net-metering-subsidy")
    page.emulate_media(media="print")
    expect(page.locator("#bill-subsidy")).to_be_visible()
    expect(card).to_be_visible()
    screenshot(page, "bill-net-metering-subsidy-print")

    # Maharashtra: the same customer's home on MSEDCL's FY2024-25 residential tariff (MERC).
    page.emulate_media(media="screen")
    msedcl = a_category(as_admin, "merc_residential_2024_25", "msedcl")
    april = bill(service, v2_reading(a_meter(a_property(customer, category=msedcl, load_kw="3")),
                                     "2024-04", 350_000))
    page.goto(portal.page_url(f"bill.html?id={april.bill_id}"))
    charges = page.get_by_role("table", name="Charges")
    for text in ("Energy 101-300 kWh", "₹2,058.00", "Wheeling charge", "₹409.50", "FAC",
                 "Fixed charge per connection", "₹128.00", "Electricity duty", "₹618.24"):
        expect(charges).to_contain_text(text)
    expect(page.locator("#bill-total")).to_have_text("₹4,482.24")
    screenshot(page, "bill-msedcl-residential")
    page.emulate_media(media="print")
    expect(charges).to_contain_text("Electricity duty")
    expect(page.locator("#bill-total")).to_be_visible()


def test_the_tariff_editor_takes_every_rule(page: Page, portal: Portal, stack: Stack,
                                            console: Any) -> None:
    console.expect_http(400)
    admin = create_user("admin", name="Editor Admin")
    start_session(page, portal, issue_session(admin), admin)
    page.goto(portal.page_url("admin/tariffs.html"))
    form = page.locator("#tariff-form")
    form.get_by_role("button", name="Fill with the DERC 2019-20 example").click()
    form.get_by_label("Effective from").fill("2098-01-01")
    form.get_by_role("textbox", name="Name", exact=True).fill("Every rule (browser)")

    # ToD zones that overlap: the message is shown by the zones.
    for start, end, percent in ((0, 10, "-20"), (8, 24, "20")):
        form.get_by_role("button", name="Add zone").click()
        row = page.locator("#tod-zones [data-row]").last
        row.get_by_label("Zone", exact=True).fill("z")
        row.get_by_label("From hour (IST)").fill(str(start))
        row.get_by_label("To hour").fill(str(end))
        row.get_by_label("rebate, + surcharge").fill(percent)
    form.get_by_role("button", name="Create version").click()
    expect(page.locator("#tod-zones-error")).to_contain_text("overlapping")
    screenshot(page, "admin-tariffs-zone-error")
    page.locator('[data-field="time_of_day.zones.1.start_hour"]').fill("10")

    # Subsidy bands, a per-unit charge, demand, minimum charge, net metering.
    for low, high, share, cap in (("0", "200", "100", ""), ("200", "400", "50", "800"),
                                  ("400", "", "0", "")):
        form.get_by_role("button", name="Add subsidy band").click()
        row = page.locator("#subsidy-bands [data-row]").last
        row.get_by_label("From (kWh)").fill(low)
        row.get_by_label("To (kWh, empty = no limit)").fill(high)
        row.get_by_label("Percent", exact=True).fill(share)
        row.get_by_label("Cap ₹ (empty: none)").fill(cap)
    form.get_by_role("button", name="Add per-unit charge").click()
    unit = page.locator("#unit-charges [data-row]").last
    unit.get_by_label("Charge name").fill("FPPCA")
    unit.get_by_label("₹ per kWh").fill("0.25")
    form.get_by_label("₹ per kW of billing demand").fill("10")
    form.get_by_label("₹ per month", exact=True).fill("100")
    form.get_by_label("Metering").select_option("net")
    form.get_by_label("Settlement / feed-in ₹ per kWh").fill("3.00")

    preview = page.locator("#preview-form")
    preview.get_by_label("Units (kWh)").fill("350")
    preview.get_by_label("Load (kW)").fill("3")
    preview.get_by_label("Exported (kWh)").fill("0")
    preview.get_by_label("Price with").select_option("draft")
    preview.get_by_role("button", name="Preview").click()
    # 350 units: 600 + 675 energy; FPPCA 87.50; fixed 150 + demand 30 = 180;
    # 7% and 8% of 1455 = 101.85 + 116.40; gross 1760.75, 50% = 880.38 -> capped at 800
    expect(page.locator("#preview-total")).to_have_text("₹960.75")
    expect(page.locator("#preview-gross")).to_contain_text("Gross ₹1,760.75")
    expect(page.locator("#preview-net-metering")).to_contain_text("350 kWh billed")
    screenshot(page, "admin-tariffs-every-rule-preview")

    # A zone in ₹ per kWh, an energy table chosen by the load, a charge per connection.
    page.locator('[data-field="time_of_day.zones.0.percent"]').fill("")
    page.locator('[data-field="time_of_day.zones.0.rate_per_kwh"]').fill("-1.50")
    page.locator('[data-field="load_slabs.1.per_connection"]').fill("30")
    form.get_by_label("Energy slabs by sanctioned load").fill(
        '[{"from_kw": 0, "to_kw": null, "energy_slabs": '
        '[{"from_units": 0, "to_units": null, "rate_per_kwh": "5.00"}]}]')
    preview.get_by_label("kWh per ToD zone").fill("100,250")
    preview.get_by_role("button", name="Preview").click()
    # 350 x 5.00 = 1750; zone 1: 100 kWh x -1.50 = -150; zone 2: 250/350 of 1750 x 20% = 250;
    # FPPCA 87.50; fixed 150 + 30 per connection + demand 30; 7% and 8% of 2060 =
    # 144.20 + 164.80; gross 2456.50, 50% capped at 800
    expect(page.locator("#preview-total")).to_have_text("₹1,656.50")
    form.get_by_role("button", name="Create version").click()
    expect(page.get_by_text("takes effect on 1 Jan 2098")).to_be_visible()
