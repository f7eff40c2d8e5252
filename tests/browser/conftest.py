"""Browser tests: Debian's Chromium driven by Playwright for Python against the
running local stack (emulator, API over HTTP, event runner) and the built
portal served on the origin the API's CORS allows (tests/conftest.py fixes
PORTAL_ORIGIN)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from devstack.static_server import StaticSite
from frontend.build import build
from functions.core.accounts.sessions import issue_session
from functions.core.settings import get_settings
from tests.fixtures.stack import Stack, create_user

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# The browser runs in another time zone on purpose: the portal must show IST anyway.
BROWSER_TIME_ZONE = "Europe/London"
# What the page shows after an API call can take longer than Playwright's 5 s default
# on two busy CI cores (each has failed a run there). An expectation polls, so a
# passing one is no slower; only a failing one waits the whole 15 s.
expect.set_options(timeout=15_000)


@dataclass
class Portal:
    url: str
    root: Path

    def page_url(self, path: str) -> str:
        return f"{self.url}/{path.lstrip('/')}"


@pytest.fixture(scope="session")
def portal(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    origin = get_settings().portal_origin
    port = int(origin.rsplit(":", 1)[1])
    root = tmp_path_factory.mktemp("portal")
    build(root, stack.api.base_url)
    site = StaticSite(root, port).start()
    assert site.url == origin, "the portal must be served on the origin the API allows"
    yield Portal(site.url, root)
    site.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run devstack/ensure_test_tools.sh "
                    "(apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class ConsoleWatch:
    """Console errors and uncaught exceptions of a page. An API answer of 4xx
    that a test provokes on purpose is logged by Chromium as a console error
    ("Failed to load resource"): tests declare those with expect_http()."""

    errors: list[str] = field(default_factory=list)
    allowed_statuses: set[int] = field(default_factory=set)

    allow_cors_block: bool = False

    def expect_http(self, *statuses: int) -> None:
        self.allowed_statuses.update(statuses)

    def expect_cors_block(self) -> None:
        self.allow_cors_block = True

    def unexpected(self) -> list[str]:
        found = []
        for message in self.errors:
            status = re.search(r"status of (\d{3})", message)
            if status and int(status.group(1)) in self.allowed_statuses:
                continue
            if self.allow_cors_block and ("CORS policy" in message
                                          or "net::ERR_FAILED" in message):
                continue
            found.append(message)
        return found


def watch_console(page: Any, watch: ConsoleWatch) -> None:
    def on_console(message: Any) -> None:
        if message.type == "error":
            watch.errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: watch.errors.append(f"page error: {error}"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    """On a failure, keep a screenshot of every open page (test-artifacts/screenshots/)."""
    report = yield
    if report.when == "call" and report.failed:
        ctx = item.funcargs.get("context") if hasattr(item, "funcargs") else None
        for index, open_page in enumerate(getattr(ctx, "pages", []) if ctx else []):
            try:
                screenshot(open_page, f"FAILED-{item.name}-{index}")
            except Exception:  # noqa: S112 - a screenshot must not hide the failure
                continue
    return report


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


@pytest.fixture
def context(browser: Any, console: ConsoleWatch) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-IN",
                              timezone_id=BROWSER_TIME_ZONE)
    ctx.set_default_timeout(15_000)
    ctx.on("page", lambda page: watch_console(page, console))
    yield ctx
    ctx.close()
    assert not console.unexpected(), "\n".join(console.unexpected())


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


def screenshot(page: Any, name: str, full_page: bool = True) -> Path:
    """Save a screenshot as a test artifact (test-artifacts/screenshots/<name>.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def start_session(page: Any, portal: Portal, token: str, user: Any = None) -> None:
    """Sign the tab in with a token issued by the test (as the login page would)."""
    page.goto(portal.page_url("index.html"))
    me = None
    if user is not None:
        me = {"user_id": user.user_id, "name": user.name, "email": user.email,
              "role": user.role, "status": user.status}
    page.evaluate("([token, me]) => { sessionStorage.setItem('iotbill.token', token);"
                  " if (me) sessionStorage.setItem('iotbill.me', JSON.stringify(me)); }",
                  [token, me])


@pytest.fixture(scope="session")
def people(stack: Stack) -> dict[str, Any]:
    """Somebody for every page: a verified customer with a property, a ticket and
    a bill, an admin, and a billing run (of a month no other test bills)."""
    from tests.integration.payments_support import make_bill

    customer = create_user("customer", name="Meera Iyer")
    admin = create_user("admin", name="Arjun Rao")
    customer_token, admin_token = issue_session(customer), issue_session(admin)
    api = stack.api.as_(customer_token)
    prop = api.post("/properties", json={
        "line1": "14 Lodhi Road", "city": "New Delhi", "state": "Delhi", "pincode": "110003",
        "category": "residential", "sanctioned_load_kw": "3"})
    assert prop.status_code == 201, prop.text
    ticket = api.post("/tickets", json={"category": "meter", "subject": "Meter display is blank",
                                        "description": "Since Monday the display shows nothing."})
    assert ticket.status_code == 201, ticket.text
    bill = make_bill(customer.user_id, total="1234567.89", period="2018-06")
    run = stack.api.as_(admin_token).post("/admin/runs", json={"period": "2018-05"})
    assert run.status_code == 202, run.text
    return {"customer": (customer, customer_token), "admin": (admin, admin_token),
            "property_id": prop.json()["property_id"], "ticket_id": ticket.json()["ticket_id"],
            "bill_id": bill.bill_id, "run_id": run.json()["run"]["run_id"]}


def query_for(path: str, people: dict[str, Any]) -> str:
    """The query string that makes a page show one of `people`'s things."""
    return {
        "property.html": f"?id={people['property_id']}",
        "ticket.html": f"?id={people['ticket_id']}",
        "admin/ticket.html": f"?id={people['ticket_id']}",
        "bill.html": f"?id={people['bill_id']}",
        "pay.html": f"?bill={people['bill_id']}",
        "admin/run.html": f"?id={people['run_id']}",
    }.get(path, "")
