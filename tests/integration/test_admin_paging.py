"""Admin lists that can hold a whole fleet come a page at a time: a period's bills,
followed by their cursor; a cursor that the list did not give out is a 400."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.integration.billing_support import (
    a_customer,
    a_meter,
    a_property,
    decided,
    ensure_reference_tariffs,
    retire,
    send_readings,
    stored_reading,
)


def pages(as_admin, path: str, key: str, limit: int) -> list[list[dict]]:
    found, cursor = [], None
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        answer = as_admin.get(path, params=params)
        assert answer.status_code == 200, answer.text
        found.append(answer.json()[key])
        cursor = answer.json()["cursor"]
        if cursor is None:
            return found


def test_a_periods_bills_page_by_page(admin):
    _, as_admin = admin
    ensure_reference_tariffs(as_admin)
    meters = [a_meter(a_property(a_customer())) for _ in range(3)]
    try:
        readings = [stored_reading(m, "2021-11", 120_000,
                                   datetime(2021, 12, 1, tzinfo=UTC)) for m in meters]
        send_readings(readings)
        assert all(decided(r).status == "accepted" for r in readings)
    finally:
        retire(meters)
    ours = {m.property_id for m in meters}

    bill_pages = pages(as_admin, "/admin/bills?period=2021-11", "bills", limit=1)
    assert all(len(page) <= 1 for page in bill_pages)
    listed = [b["property_id"] for page in bill_pages for b in page if b["property_id"] in ours]
    assert sorted(listed) == sorted(ours)  # each once, none lost between pages
    first = as_admin.get("/admin/bills", params={"period": "2021-11", "limit": 1}).json()
    assert first["totals"]["bills"] == len(first["bills"]) == 1  # the page's own total

    for bad in ("not-a-cursor", "eyJzIjo5OTksImsiOm51bGx9"):  # garbage; shard 999
        refused = as_admin.get("/admin/bills", params={"period": "2021-11", "cursor": bad})
        assert refused.status_code == 400, refused.text
        assert "cursor" in refused.json()["message"]
