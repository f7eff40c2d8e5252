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
