"""Accessibility of every page, checked with axe-core (the npm package, from
node_modules) against WCAG 2.1 A and AA: labels, names, contrast, landmarks,
ARIA use. Serious and critical findings fail the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from frontend.build import ROOT
from frontend.pages import PAGES
from tests.browser.conftest import query_for, start_session, watch_console

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture
def axe_page(browser: Any, console: Any) -> Iterator[Any]:
    # axe is injected as an inline script, which the portal's CSP rightly forbids:
    # only this test's context bypasses the CSP.
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    watch_console(page, console)
    yield page
    ctx.close()
    assert not console.unexpected(), "\n".join(console.unexpected())


def violations(page: Any) -> list[str]:
    page.add_script_tag(content=Path(AXE).read_text(encoding="utf-8"))
    result = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))", TAGS)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}" for v in result
            if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("entry", PAGES, ids=lambda p: p.path)
def test_page_meets_wcag_aa(axe_page, portal, people, entry):
    if entry.area != "public":
        user, token = people["admin" if entry.area == "admin" else "customer"]
        start_session(axe_page, portal, token, user)
    axe_page.goto(portal.page_url(entry.path + query_for(entry.path, people)))
    axe_page.wait_for_load_state("networkidle")
    axe_page.wait_for_function("!document.querySelector('[aria-busy=true]')")
    found = violations(axe_page)
    assert not found, "\n".join(found)
