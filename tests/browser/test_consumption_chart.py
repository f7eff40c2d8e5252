"""The customer's daily consumption chart in a real browser (issue 24 item 1): on the
property page of a postpaid customer and on the prepaid dashboard; each view (last 30 and
90 days, this month so far, the same month last year) shows one bar and one table row per
day read in it, and a month without reads says so."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from functions.core.accounts.sessions import issue_session
from functions.core.clock import IST, utcnow
from functions.core.prepaid.service import PrepaidService
from tests.browser.conftest import screenshot, start_session
from tests.browser.test_accessibility import axe_page, violations  # noqa: F401  (a fixture)
from tests.fixtures.meter_days import daily_reads, metered_property
from tests.fixtures.stack import create_user

pytestmark = pytest.mark.browser


def test_the_consumption_chart_switches_views(axe_page, portal, stack):  # noqa: F811
    page = axe_page  # the page with axe-core injectable (the CSP is checked by test_prepaid)
    customer = create_user("customer", name="Anil Deshpande")
    property_id, meter_id = metered_property(customer.user_id)
    today = utcnow().astimezone(IST).date()
    # The 40 days before today were read (today's closes at midnight); 1.25 kWh exported a day.
    daily_reads(meter_id, today - timedelta(days=40), today - timedelta(days=1),
                export_wh_per_day=1250)
    expected = {"30": 29, "90": 40, "month": today.day - 1}
    start_session(page, portal, issue_session(customer), customer)
    page.goto(portal.page_url(f"property.html?id={property_id}"))

    chart = page.locator("#consumption")
    points, rows = chart.locator(".consumption-point"), chart.locator("tbody tr")
    expect(points).to_have_count(expected["30"])
    expect(chart.locator(".consumption-summary")).to_contain_text("130.5 kWh used")  # 29 x 4.5
    expect(chart.locator(".consumption-summary")).to_contain_text("36.25 kWh exported")
    chart.get_by_text("Show as a table").click()
    expect(rows).to_have_count(expected["30"])
    screenshot(page, "consumption-chart-30-days")
    found = violations(page)
    assert not found, "\n".join(found)

    for view, label in (("90", "Last 90 days"), ("month", "This month so far")):
        chart.get_by_role("button", name=label).click()
        expect(chart.get_by_role("button", name=label)).to_have_attribute("aria-pressed", "true")
        expect(chart.locator("#consumption-view")).to_have_attribute("data-loaded", view)
        expect(points).to_have_count(expected[view])
        expect(rows).to_have_count(expected[view])

    chart.get_by_role("button", name="Same month last year").click()
    last_year = date(today.year - 1, today.month, 1).strftime("%B %Y")
    expect(chart).to_contain_text(f"No data for {last_year}.")
    expect(points).to_have_count(0)

    # The prepaid dashboard shows the same chart for the connection's meter.
    PrepaidService().set_mode("usr_admin", property_id, "prepaid", today.replace(day=1))
    page.goto(portal.page_url(f"prepaid.html?c={property_id}"))
    expect(page.locator("#consumption .consumption-point")).to_have_count(expected["30"])
