"""Who sees which bill: a customer sees the bills they pay (owner of untenanted
days, tenant of their own tenancy), nobody else's; admins search them all."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from functions.core.accounts.sessions import issue_session
from tests.integration.billing_support import (
    a_customer,
    a_meter,
    a_property,
    a_tenancy,
    decided,
    ensure_reference_tariffs,
    send_readings,
    stored_reading,
)


@pytest.fixture
def split_bill(stack, admin):
    """A property whose owner let it from 16 Jun 2021 (IST): two shares."""
    ensure_reference_tariffs(admin[1])
    owner, tenant = a_customer(), a_customer()
    prop = a_property(owner)
    meter = a_meter(prop)
    a_tenancy(prop, tenant, start=datetime(2021, 6, 15, 19, 0, tzinfo=UTC))  # 16 Jun IST
    reading = stored_reading(meter, "2021-06", 250_000, datetime(2021, 7, 1, tzinfo=UTC))
    send_readings([reading])
    assert decided(reading).status == "accepted"
    return (stack.api.as_(issue_session(owner)), stack.api.as_(issue_session(tenant)),
            owner, tenant, prop)


def test_owner_and_tenant_each_see_only_their_share(split_bill, customer):
    as_owner, as_tenant, _, _, prop = split_bill
    owner_bills = as_owner.get("/bills").json()["bills"]
    tenant_bills = as_tenant.get("/bills").json()["bills"]
    assert [b["bill_id"] for b in owner_bills] == [f"BILL-{prop.property_id}-2021-06"]
    assert [b["bill_id"] for b in tenant_bills] == [f"BILL-{prop.property_id}-2021-06-2"]
    assert owner_bills[0]["period_label"] == "June 2021"
    assert owner_bills[0]["status"] == "issued" and tenant_bills[0]["share_count"] == 2

    tenant_detail = as_tenant.get(f"/bills/{tenant_bills[0]['bill_id']}").json()
    assert tenant_detail["share_days_display"] == "16 Jun 2021 to 30 Jun 2021"
    assert tenant_detail["days_fraction"] == "15/30"
    assert tenant_detail["tariff_version"] == "residential@2019-08-01"
    assert all(line["property_amount"] for line in tenant_detail["line_items"])
    # Neither may open the other's share, nor may a stranger: all 404, ids reveal nothing.
    assert as_tenant.get(f"/bills/{owner_bills[0]['bill_id']}").status_code == 404
    assert as_owner.get(f"/bills/{tenant_bills[0]['bill_id']}").status_code == 404
    _, stranger = customer
    assert stranger.get(f"/bills/{owner_bills[0]['bill_id']}").status_code == 404
    assert stranger.get("/bills/BILL-nope-2021-06").status_code == 404
    assert stranger.get("/bills").json() == {"bills": [], "cursor": None}


def test_customers_filter_their_bills_and_admins_search(split_bill, admin, customer):
    as_owner, _, owner, _, prop = split_bill
    assert as_owner.get("/bills?period=2021-06").json()["bills"][0]["period"] == "2021-06"
    assert as_owner.get("/bills?period=2021-05").json()["bills"] == []
    assert as_owner.get("/bills?status=paid").json()["bills"] == []
    assert as_owner.get("/bills?status=lost").status_code == 400
    assert as_owner.get("/admin/bills?period=2021-06").status_code == 403

    _, as_admin = admin
    by_property = as_admin.get(f"/admin/bills?property_id={prop.property_id}").json()
    assert by_property["totals"]["bills"] == 2
    shares = [Decimal(b["total"]) for b in by_property["bills"]]
    assert Decimal(by_property["totals"]["total"]) == sum(shares)
    by_period = as_admin.get("/admin/bills?period=2021-06&status=issued").json()
    assert {b["bill_id"] for b in by_property["bills"]} <= {
        b["bill_id"] for b in by_period["bills"]}
    by_payer = as_admin.get(f"/admin/bills?payer_id={owner.user_id}").json()
    assert [b["payer_id"] for b in by_payer["bills"]] == [owner.user_id]
    assert as_admin.get("/admin/bills").status_code == 400
    assert as_admin.get("/admin/bills?period=June").status_code == 400
    detail = as_admin.get(f"/bills/BILL-{prop.property_id}-2021-06").json()
    assert detail["current_reading"]["register_wh"] == 250_000
    assert detail["current_reading"]["read_at_display"] == "01 Jul 2021, 05:30 AM IST"
