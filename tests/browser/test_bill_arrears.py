"""Issue 16 in the browser: the bill shows the meter's registers (the installation
register on a first bill), the arrears brought forward and the total payable; the
owner states a tenant's move-in day on the invite form."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from functions.core.accounts.sessions import issue_session
from functions.core.bills.repository import BillRepository
from tests.browser.conftest import screenshot, start_session
from tests.integration.billing_support import (
    a_customer,
    a_meter,
    a_property,
    decided,
    ensure_reference_tariffs,
    send_readings,
    stored_reading,
)

pytestmark = pytest.mark.browser


def test_a_bill_shows_registers_arrears_and_total_payable(page, portal, stack, admin: Any):
    ensure_reference_tariffs(admin[1])
    owner = a_customer(name="Meera Iyer")
    prop = a_property(owner)
    meter = a_meter(prop, initial_register_wh=2_500_000)
    for period, register, read_at in (("2024-07", 2_700_000, datetime(2024, 8, 1, tzinfo=UTC)),
                                      ("2024-08", 3_000_000, datetime(2024, 9, 1, tzinfo=UTC))):
        reading = stored_reading(meter, period, register, read_at)
        send_readings([reading])
        assert decided(reading).status == "accepted"
        if period == "2024-07":
            assert BillRepository().mark_overdue(f"BILL-{prop.property_id}-2024-07", 2_500,
                                                 datetime(2024, 8, 20, tzinfo=UTC))
    start_session(page, portal, issue_session(owner), owner)
    page.goto(portal.page_url(f"bill.html?id=BILL-{prop.property_id}-2024-07"))
    registers = page.get_by_role("table", name="Meter registers")
    expect(registers).to_contain_text("installation register")
    expect(registers).to_contain_text("2500.000 kWh")

    august = stack.api.as_(issue_session(owner)).get(
        f"/bills/BILL-{prop.property_id}-2024-08").json()
    page.goto(portal.page_url(f"bill.html?id=BILL-{prop.property_id}-2024-08"))
    expect(page.locator("#bill-arrears")).to_have_text(
        "\u20b9" + f"{Decimal(august['arrears']):,.2f}")
    expect(page.get_by_text("incl. late-payment surcharge \u20b925.00")).to_be_visible()
    expect(page.locator("#bill-total-payable")).to_have_text(august["total_payable_display"])
    screenshot(page, "bill-arrears-total-payable")


def test_the_owner_states_the_move_in_day_when_inviting(page, portal, stack):
    owner = a_customer(name="Arjun Rao")
    token = issue_session(owner)
    created = stack.api.as_(token).post("/properties", json={
        "line1": "9 Residency Road", "city": "Bengaluru", "state": "Karnataka",
        "pincode": "560025", "category": "residential", "sanctioned_load_kw": "4"})
    assert created.status_code == 201, created.text
    property_id = created.json()["property_id"]
    start_session(page, portal, token, owner)
    page.goto(portal.page_url(f"property.html?id={property_id}"))
    form = page.locator("#invite-form")
    form.get_by_label("Tenant's email address").fill("moving.in@example.com")
    form.get_by_label("Move-in day (optional)").fill("2025-02-11")
    form.get_by_role("button", name="Lease to tenant").click()
    expect(page.get_by_text("Invitation sent to moving.in@example.com.")).to_be_visible()
    [tenancy] = stack.api.as_(token).get(f"/properties/{property_id}/tenancies").json()
    assert tenancy["move_in_date"] == "2025-02-11"
