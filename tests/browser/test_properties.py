"""Leasing in the browser: the owner invites a tenant by email, the tenant
accepts, the owner delists them; invited again, the tenant leaves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from functions.core.accounts.sessions import issue_session
from tests.browser.conftest import screenshot, start_session, watch_console
from tests.fixtures.stack import create_user

pytestmark = pytest.mark.browser


@pytest.fixture
def tenant_page(browser: Any, console: Any, portal: Any) -> Iterator[tuple[Page, Any]]:
    tenant = create_user("customer", name="Pooja Hegde")
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    ctx.on("page", lambda page: watch_console(page, console))
    page = ctx.new_page()
    start_session(page, portal, issue_session(tenant), tenant)
    yield page, tenant
    ctx.close()


def invite(owner: Page, email: str) -> None:
    form = owner.locator("#invite-form")
    form.get_by_label("Tenant's email address").fill(email)
    form.get_by_role("button", name="Lease to tenant").click()
    expect(owner.get_by_text(f"Invitation sent to {email}.")).to_be_visible()


def accept(tenant: Page, portal: Any) -> None:
    tenant.goto(portal.page_url("properties.html"))
    expect(tenant.get_by_text("You have a tenant invitation waiting.")).to_be_visible()
    tenant.get_by_role("link", name="See invitations").click()
    tenant.get_by_role("button", name="Accept invitation").click()
    expect(tenant.get_by_text("You are now the tenant of this property.")).to_be_visible()
    expect(tenant.get_by_role("heading", name="Your tenancy")).to_be_visible()


def test_lease_accept_delist_and_leave(page, portal, stack, tenant_page, console):
    console.expect_http(400)
    tenant, tenant_user = tenant_page
    owner_user = create_user("customer", name="Vikram Sethi")
    token = issue_session(owner_user)
    created = stack.api.as_(token).post("/properties", json={
        "line1": "3 Marine Drive", "city": "Mumbai", "state": "Maharashtra",
        "pincode": "400020", "category": "residential", "sanctioned_load_kw": "5"})
    assert created.status_code == 201, created.text
    property_id = created.json()["property_id"]
    start_session(page, portal, token, owner_user)
    page.goto(portal.page_url(f"property.html?id={property_id}"))

    # Inviting oneself is refused with the API's reason.
    page.locator("#invite-form").get_by_label("Tenant's email address").fill(owner_user.email)
    page.get_by_role("button", name="Lease to tenant").click()
    expect(page.locator("#invite-alert")).to_contain_text("cannot invite yourself")

    invite(page, tenant_user.email)
    expect(page.get_by_text("waiting for them to accept")).to_be_visible()
    accept(tenant, portal)
    screenshot(tenant, "tenant-property")

    page.reload()
    expect(page.get_by_text("Leased to Pooja Hegde")).to_be_visible()
    screenshot(page, "owner-property-leased")
    page.get_by_role("button", name="Delist tenant").click()
    page.get_by_role("button", name="Yes, delist").click()
    expect(page.get_by_text("The tenancy has ended.")).to_be_visible()
    history = page.get_by_role("table", name="Tenancy history")
    expect(history).to_contain_text("Delisted by owner")

    invite(page, tenant_user.email)
    accept(tenant, portal)
    tenant.get_by_role("button", name="Leave property").click()
    tenant.get_by_role("button", name="Yes, leave").click()
    expect(tenant.get_by_text("You have left the property.")).to_be_visible()
    expect(tenant).to_have_url(portal.page_url("properties.html?left=1"))

    page.reload()
    expect(page.get_by_text("Nobody rents this property.")).to_be_visible()
    expect(page.get_by_role("table", name="Tenancy history")).to_contain_text("Left by tenant")
    screenshot(page, "owner-property-history")
