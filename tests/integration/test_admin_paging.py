"""Admin lists that can hold a whole fleet come a page at a time: a period's bills,
followed by their cursor; a cursor that the list did not give out is a 400."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from functions.core.accounts.sessions import issue_session
from functions.core.clock import utcnow
from functions.core.properties.models import PropertyRecord
from functions.core.properties.repositories import PropertyRepository
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


def test_properties_and_tickets_page_by_page(admin):
    """The admin property search and ticket list read an index a page at a time (no
    scan): followed by their cursors, they list every match once."""
    _, as_admin = admin
    owner = a_customer()
    pincode = str(100000 + secrets.randbelow(900000))
    ours = set()
    for i in range(3):
        record = PropertyRecord(
            property_id=f"prp_{secrets.token_hex(8)}", owner_id=owner.user_id,
            line1=f"{i + 1} Paging Lane", city="Pune", state="Maharashtra", pincode=pincode,
            category="residential", sanctioned_load_kw="3", created_at=utcnow())
        PropertyRepository().create(record)
        ours.add(record.property_id)

    property_pages = pages(as_admin, f"/admin/properties?pincode={pincode}", "properties",
                           limit=2)
    assert len(property_pages) >= 2 and all(len(page) <= 2 for page in property_pages)
    listed = [p["property_id"] for page in property_pages for p in page]
    assert sorted(listed) == sorted(ours)  # each once, none lost between pages

    as_owner = as_admin.as_(issue_session(owner))
    raised = [as_owner.post("/tickets", json={"category": "other", "subject": f"Paging {i}",
                                              "description": "A question."}).json()["ticket_id"]
              for i in range(3)]
    mine = pages(as_admin, f"/admin/tickets?customer_id={owner.user_id}", "tickets", limit=1)
    assert [t["ticket_id"] for page in mine for t in page] == raised  # the oldest first
    open_pages = pages(as_admin, "/admin/tickets?status=open", "tickets", limit=2)
    assert len(open_pages) >= 2
    listed = [t["ticket_id"] for page in open_pages for t in page]
    assert set(raised) <= set(listed) and len(listed) == len(set(listed))
    every = [t["ticket_id"] for page in pages(as_admin, "/admin/tickets?category=other",
                                               "tickets", limit=2) for t in page]
    assert set(raised) <= set(every) and len(every) == len(set(every))
