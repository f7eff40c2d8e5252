"""format.js in the browser: rupees with Indian digit grouping, exactly from the
decimal strings the API sends, and times in IST whatever the browser's zone
(the test browser runs in Europe/London)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from functions.core.money import format_inr

pytestmark = pytest.mark.browser

AMOUNTS = ["0", "0.5", "1380.00", "123456.78", "1234567.89", "99999999999.99", "-1500",
           "100000", "0.01"]


@pytest.fixture
def fmt(page, portal):
    page.goto(portal.page_url("index.html"))

    def call(function: str, *args: object) -> object:
        return page.evaluate(
            "async ([fn, args]) => (await import('./static/js/format.js'))[fn](...args)",
            [function, list(args)])

    return call


@pytest.mark.parametrize("amount", AMOUNTS)
def test_rupees_match_the_server_format(fmt, amount):
    assert fmt("rupees", amount) == format_inr(Decimal(amount))


def test_rupees_of_big_amounts_are_exact(fmt):
    # 2^53 + 1 paise would lose its last digit as a float.
    assert fmt("rupees", "90071992547409.93") == "₹9,00,71,99,25,47,409.93"
    assert fmt("sumRupees", ["0.10", "0.20"]) == "₹0.30"


def test_times_are_shown_in_ist(fmt):
    assert fmt("dateTimeIST", "2026-03-31T20:00:00Z") == "1 Apr 2026, 1:30 am IST"
    assert fmt("dateIST", "2026-03-31T20:00:00Z") == "1 Apr 2026"
    assert fmt("dateIST", "2026-12-13") == "13 Dec 2026"  # a calendar day stays that day
    assert fmt("period", "2026-03") == "March 2026"


def test_garbage_is_shown_as_a_dash(fmt):
    assert fmt("rupees", "12abc") == "—"
    assert fmt("dateIST", "not a date") == "—"
