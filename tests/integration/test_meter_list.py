"""The admin's meter list and a customer's bills come a page at a time, followed by their
cursor: the meter list newest registered first (by status too) and searchable by the start
of a serial, in any case, whatever else the fleet holds."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.core.accounts.sessions import issue_session
from functions.core.meters.models import METER_INACTIVE, MeterRecord
from tests.fixtures.stack import create_user
from tests.integration.payments_support import make_bill

FLEET = 250  # more than two pages of 100


@pytest.fixture(scope="module")
def fleet(stack: Any) -> Iterator[list[MeterRecord]]:
    """250 inactive meters written straight to the table (cheap), registered in 2099 so
    that they are the newest of the inactive ones; deleted afterwards, so no other test
    sees them."""
    tag = secrets.token_hex(3).upper()
    start = datetime(2099, 1, 1, tzinfo=UTC)
    meters = [MeterRecord(
        meter_id=f"mtr-{tag.lower()}{number:010x}", serial=f"PG{tag}-{number:04d}",
        public_key="unused", public_key_id=f"unused-{tag}-{number}", model="SIM",
        firmware="sim-1", endpoint_url="http://127.0.0.1:9/none", status=METER_INACTIVE,
        registered_at=start + timedelta(seconds=number)) for number in range(FLEET)]
    with MeterRecord.batch_write() as batch:
        for meter in meters:
            batch.save(meter)
    yield meters
    with MeterRecord.batch_write() as batch:
        for meter in meters:
            batch.delete(meter)


def follow(client: Any, path: str, key: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a list (each answer checked), or the first pages holding `want`."""
    want = params.pop("want", None)
    found: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        answer = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        found.append(answer.json()[key])
        assert len(found[-1]) <= params["limit"]
        cursor = answer.json()["cursor"]
        if cursor is None or (want and sum(map(len, found)) >= want):
            return found


def test_a_serial_prefix_finds_its_meters_in_serial_order_page_by_page(admin, fleet):
    _, as_admin = admin
    prefix = fleet[0].serial.split("-")[0]
    pages = follow(as_admin, "/admin/meters", "meters", serial=prefix.lower(), limit=100)
    serials = [m["serial"] for page in pages for m in page]
    print(f"{len(serials)} meters found by serial prefix in {len(pages)} page(s)")
    assert serials == sorted(m.serial for m in fleet)  # each once, in order, any case
    assert len(pages) <= 4

    exact = as_admin.get("/admin/meters", params={"serial": fleet[42].serial})
    assert [m["meter_id"] for m in exact.json()["meters"]] == [fleet[42].meter_id]
    assert exact.json()["cursor"] is None
    none = as_admin.get("/admin/meters", params={"serial": f"{prefix}-9"}).json()
    assert none == {"meters": [], "cursor": None}
    # A status filters the search's finds.
    assert as_admin.get("/admin/meters", params={"serial": fleet[42].serial,
                                                 "status": "active"}).json()["meters"] == []


def test_the_list_is_newest_registered_first_by_status_with_a_cursor(admin, fleet):
    _, as_admin = admin
    pages = follow(as_admin, "/admin/meters", "meters", status="inactive", limit=100,
                   want=FLEET)
    listed = [m["meter_id"] for page in pages for m in page]
    assert listed[:FLEET] == [m.meter_id for m in reversed(fleet)]
    assert all(m["status"] == "inactive" for page in pages for m in page)
    everything = as_admin.get("/admin/meters", params={"limit": 3}).json()
    assert [m["meter_id"] for m in everything["meters"]] == \
        [m.meter_id for m in reversed(fleet[-3:])]
    assert everything["cursor"]


def test_a_cursor_the_list_did_not_give_out_is_a_400(admin, fleet):
    _, as_admin = admin
    properties = as_admin.get("/admin/properties", params={"limit": 1}).json()
    for cursor in ("not-a-cursor", properties["cursor"] or "eyJzIjowfQ"):
        answer = as_admin.get("/admin/meters", params={"cursor": cursor})
        assert answer.status_code == 400, answer.text
    assert as_admin.get("/admin/meters", params={"serial": "has space"}).status_code == 400
    assert as_admin.get("/admin/meters", params={"limit": 101}).status_code == 400


def test_my_bills_come_newest_first_a_page_at_a_time(stack):
    payer = create_user("customer", name="Meera Iyer")
    periods = ["2015-01", "2015-02", "2015-03", "2015-04", "2015-05"]
    for period in periods:
        make_bill(payer.user_id, period=period)
    as_payer = stack.api.as_(issue_session(payer))
    pages = follow(as_payer, "/bills", "bills", limit=2)
    assert [[b["period"] for b in page] for page in pages] == \
        [["2015-05", "2015-04"], ["2015-03", "2015-02"], ["2015-01"]]
    one = as_payer.get("/bills", params={"period": "2015-03"}).json()
    assert [b["period"] for b in one["bills"]] == ["2015-03"] and one["cursor"] is None
