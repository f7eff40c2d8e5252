"""Properties through the HTTP API: registration, viewing, admin search,
meters attached by the meter service, and access by other customers."""

from __future__ import annotations

import pytest

from functions.core.accounts.sessions import issue_session
from functions.core.clock import utcnow
from functions.core.errors import Conflict
from functions.core.meters.models import MeterRecord
from functions.core.properties.service import attach_meter, detach_meter
from tests.fixtures.stack import create_user
from tests.integration.paging_support import every_page

HOME = {"line1": "12 MG Road", "line2": "Flat 4B", "city": "Bengaluru", "state": "Karnataka",
        "pincode": "560001", "category": "residential", "sanctioned_load_kw": "7.5"}


def register(client, **changes):
    response = client.post("/properties", json={**HOME, **changes})
    assert response.status_code == 201, response.text
    return response.json()


def test_verified_customer_registers_and_sees_the_property(customer):
    _, client = customer
    created = register(client)
    assert created["property_id"].startswith("prp_")
    assert created["address"] == {k: HOME[k] for k in ("line1", "line2", "city", "state",
                                                        "pincode")}
    assert created["category"] == "residential"
    assert created["sanctioned_load_kw"] == "7.5"  # exact, as text
    assert created["meter_status"] == "not_assigned" and created["meter_id"] is None
    assert created["tenant"] is None and created["latest_bill"] is None
    assert created["relationship"] == "owner"

    listed = client.get("/properties").json()
    assert [p["property_id"] for p in listed] == [created["property_id"]]
    one = client.get(f"/properties/{created['property_id']}")
    assert one.status_code == 200 and one.json() == created


def test_unverified_customer_and_admin_cannot_register(stack, admin):
    pending = create_user("customer", status="pending_review")
    client = stack.api.as_(issue_session(pending))
    response = client.post("/properties", json=HOME)
    assert response.status_code == 403, response.text
    assert client.get("/properties").json() == []  # nothing was written
    _, admin_client = admin
    assert admin_client.post("/properties", json=HOME).status_code == 403


@pytest.mark.parametrize("changes, field", [
    ({"pincode": "56001"}, "pincode"),
    ({"pincode": "056001"}, "pincode"),
    ({"pincode": "५६०००१"}, "pincode"),  # Devanagari digits are not a PIN code
    ({"category": "industrial"}, "category"),
    ({"sanctioned_load_kw": "0"}, "sanctioned_load_kw"),
    ({"sanctioned_load_kw": "-2"}, "sanctioned_load_kw"),
    ({"sanctioned_load_kw": "1000.01"}, "sanctioned_load_kw"),
    ({"sanctioned_load_kw": 7.5}, "sanctioned_load_kw"),  # a JSON float is not exact
    ({"sanctioned_load_kw": "lots"}, "sanctioned_load_kw"),
    ({"line1": "   "}, "line1"),
    ({"city": "x" * 101}, "city"),
    ({"owner_id": "usr_someone_else"}, "owner_id"),  # unknown field
])
def test_bad_property_input_is_400_and_writes_nothing(customer, changes, field):
    _, client = customer
    response = client.post("/properties", json={**HOME, **changes})
    assert response.status_code == 400, response.text
    assert field in {d["field"] for d in response.json()["details"]}
    assert client.get("/properties").json() == []


def test_load_limits_are_inclusive_of_1000_kw(customer):
    _, client = customer
    assert register(client, sanctioned_load_kw="1000")["sanctioned_load_kw"] == "1000"
    assert register(client, sanctioned_load_kw=3, category="commercial",
                    line2=None)["sanctioned_load_kw"] == "3"


def test_missing_field_is_400(customer):
    _, client = customer
    body = {k: v for k, v in HOME.items() if k != "city"}
    response = client.post("/properties", json=body)
    assert response.status_code == 400
    assert "city" in {d["field"] for d in response.json()["details"]}


def test_another_customer_gets_404_on_every_property_route(customer, other_customer):
    _, owner = customer
    _, stranger = other_customer
    prop = register(owner)
    pid = prop["property_id"]
    invite = owner.post(f"/properties/{pid}/tenants/invite", json={"email": "t@example.in"})
    tid = invite.json()["tenancy_id"]

    attempts = [
        stranger.get(f"/properties/{pid}"),
        stranger.get(f"/properties/{pid}/tenancies"),
        stranger.post(f"/properties/{pid}/tenants/invite", json={"email": "x@example.in"}),
        stranger.delete(f"/properties/{pid}/invitations/{tid}"),
        stranger.delete(f"/properties/{pid}/tenant"),
        stranger.post(f"/properties/{pid}/leave"),
    ]
    for response in attempts:
        assert response.status_code == 404, (response.request.url, response.text)
    missing = stranger.get("/properties/prp_doesnotexist").json()
    assert stranger.get(f"/properties/{pid}").json()["message"] == missing["message"]
    assert stranger.get("/properties").json() == []
    # The stranger's attempts changed nothing.
    assert owner.get(f"/properties/{pid}").json()["pending_invitation"]["tenancy_id"] == tid


def test_customer_routes_need_a_session(stack):
    assert stack.api.get("/properties").status_code == 401
    assert stack.api.post("/properties", json=HOME).status_code == 401


def test_admin_searches_all_properties(customer, other_customer, admin):
    owner, client = customer
    other, other_client = other_customer
    _, admin_client = admin
    mine = register(client, city="Mysuru", pincode="570001")
    theirs = register(other_client, category="commercial", city="Mysuru", pincode="570002")

    found, _ = every_page(admin_client, "/admin/properties", "properties", city="mysuru",
                          limit=500)
    by_id = {p["property_id"]: p for p in found}
    assert {mine["property_id"], theirs["property_id"]} <= set(by_id)
    assert by_id[mine["property_id"]]["owner_id"] == owner.user_id

    commercial = admin_client.get("/admin/properties", params={"owner_id": other.user_id,
                                                               "category": "commercial"}).json()
    assert [p["property_id"] for p in commercial["properties"]] == [theirs["property_id"]]
    text = admin_client.get("/admin/properties", params={"q": mine["property_id"]}).json()
    assert [p["property_id"] for p in text["properties"]] == [mine["property_id"]]
    one = admin_client.get(f"/admin/properties/{mine['property_id']}")
    assert one.status_code == 200 and one.json()["owner_id"] == owner.user_id

    assert admin_client.get("/admin/properties", params={"limit": "0"}).status_code == 400
    assert admin_client.get("/admin/properties", params={"colour": "red"}).status_code == 400
    assert client.get("/admin/properties").status_code == 403
    assert admin_client.get("/admin/properties/prp_nope").status_code == 404


def test_meter_attached_by_the_meter_service_shows_on_the_property(customer, admin):
    _, client = customer
    _, admin_client = admin
    pid = register(client)["property_id"]

    attach_meter(pid, "mtr_0001")
    view = client.get(f"/properties/{pid}").json()
    assert view["meter_id"] == "mtr_0001" and view["meter_status"] == "assigned"
    attach_meter(pid, "mtr_0001")  # attaching the same meter again is harmless
    with pytest.raises(Conflict):
        attach_meter(pid, "mtr_0002")
    with_meter = admin_client.get("/admin/properties",
                                  params={"has_meter": "true", "q": pid}).json()
    assert [p["property_id"] for p in with_meter["properties"]] == [pid]

    detach_meter(pid)
    view = client.get(f"/properties/{pid}").json()
    assert view["meter_id"] is None and view["meter_status"] == "not_assigned"
    assert admin_client.get("/admin/properties", params={"has_meter": "true", "q": pid}).json() \
        == {"properties": [], "cursor": None}


def test_meter_status_comes_from_the_meter_registry(customer):
    _, client = customer
    pid = register(client)["property_id"]
    MeterRecord(meter_id="mtr_live_1", serial="SN-LIVE-1", public_key="AA", public_key_id="k",
                model="M1", firmware="1.0", endpoint_url="http://127.0.0.1:1/",
                status="active", property_id=pid, registered_at=utcnow()).save()
    attach_meter(pid, "mtr_live_1")
    try:
        view = client.get(f"/properties/{pid}").json()
    finally:
        # a fake meter must not stay active: later billing runs would ask it
        live = MeterRecord(meter_id="mtr_live_1")
        live.update(actions=live.status_actions("inactive"))
    assert (view["meter_id"], view["meter_status"]) == ("mtr_live_1", "active")
