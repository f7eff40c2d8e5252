"""Signed-out pages render without console errors, and the API's CORS lets the
portal's origin (and only it) read answers."""

from __future__ import annotations

import pytest

from frontend.pages import PAGES
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

PUBLIC = [page for page in PAGES if page.area == "public"]


@pytest.mark.parametrize("entry", PUBLIC, ids=lambda p: p.path)
def test_public_page_renders(page, portal, entry):
    page.goto(portal.page_url(entry.path))
    page.wait_for_load_state("networkidle")
    assert page.title().startswith(entry.title)
    assert page.locator("h1").first.is_visible()
    screenshot(page, f"public-{entry.path.replace('/', '-').removesuffix('.html')}")


def test_the_api_answers_the_portal_origin(page, portal, stack):
    page.goto(portal.page_url("index.html"))
    # A request with an Authorization header is preflighted (OPTIONS) first.
    result = page.evaluate(
        """async (api) => {
             const open = await fetch(api + "/health");
             const guarded = await fetch(api + "/health", {headers: {Authorization: "Bearer x"}});
             return [open.status, guarded.status];
           }""", stack.api.base_url)
    assert result == [200, 200]


def test_another_origin_cannot_read_the_api(page, portal, stack, console):
    # Same files, other origin: localhost is not 127.0.0.1 to a browser.
    other = portal.url.replace("127.0.0.1", "localhost")
    page.goto(f"{other}/index.html")
    console.expect_cors_block()
    blocked = page.evaluate(
        """async (api) => { try { await fetch(api + "/health"); return false; }
                           catch (e) { return true; } }""", stack.api.base_url)
    assert blocked


def test_the_api_reference_renders_the_live_document(page, portal, stack):
    # Swagger UI (npm swagger-ui-dist, at /docs/) under the portal's CSP, reading the API's
    # own /openapi.json: every tag and, in one, its operations with their operationIds.
    page.goto(portal.page_url("docs/"))
    # 1.7 MB of script and the whole document: allow a busy machine
    page.locator(".opblock-tag").first.wait_for(timeout=90_000)
    page.locator(".opblock-tag", has_text="Bills").first.click()
    bills = page.locator(".opblock-summary-path", has_text="/bills/{bill_id}")
    bills.first.wait_for()
    tags = stack.api.get("/openapi.json").json()["tags"]
    assert page.locator(".opblock-tag").count() == len(tags)
    assert page.locator(".opblock-summary-operation-id", has_text="bill_detail").count() == 1
    screenshot(page, "api-reference", full_page=False)
