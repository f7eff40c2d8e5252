"""The meter registry through the admin API: register, assign, activate, deactivate,
replace, rotate a meter key, and the server key with its rotation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from device_client import crypto as meter_crypto
from device_client.meter import Meter, MeterConfig
from device_client.sender import Sender
from device_client.state import StateStore
from functions.core import crypto as server_crypto
from functions.core.accounts.sessions import issue_session
from functions.core.clock import utcnow
from functions.core.meters.server_key import key_store
from functions.core.meters.service import replacement_into
from functions.core.settings import get_settings
from tests.fixtures.stack import create_user
from tests.integration.meters_support import (
    current_server_key,
    fitted_meter,
    new_property,
    new_serial,
    register_meter,
)

pytestmark = pytest.mark.usefixtures("meters_retired_after_each_test")


def test_admin_registers_a_meter_and_finds_it(admin):
    _, as_admin = admin
    key = meter_crypto.generate_private_key()
    serial = new_serial()
    response = as_admin.post("/admin/meters", json={
        "serial": serial, "public_key": meter_crypto.public_key_b64(key), "model": "EM-3000",
        "firmware": "1.4.2", "endpoint_url": "https://meters.example.in/m/1",
        "initial_register_wh": 1250})
    assert response.status_code == 201, response.text
    meter = response.json()
    assert meter["meter_id"].startswith("mtr-")
    assert meter["serial"] == serial and meter["status"] == "registered"
    assert meter["public_key"] == meter_crypto.public_key_b64(key)
    assert meter["public_key_id"] == meter_crypto.key_id(key)
    assert meter["initial_register_wh"] == 1250 and meter["property_id"] is None

    assert as_admin.get(f"/admin/meters/{meter['meter_id']}").json() == meter
    registered = as_admin.get("/admin/meters", params={"status": "registered",
                                                        "serial": meter["serial"]}).json()["meters"]
    assert meter["meter_id"] in [m["meter_id"] for m in registered]
    active = as_admin.get("/admin/meters", params={"status": "active",
                                                   "serial": meter["serial"]}).json()["meters"]
    assert meter["meter_id"] not in [m["meter_id"] for m in active]
    assert as_admin.get("/admin/meters/mtr-0000000000000000").status_code == 404


def test_serial_and_public_key_are_unique(admin):
    _, as_admin = admin
    first, key = register_meter(as_admin)
    same_serial = as_admin.post("/admin/meters", json={
        "serial": first["serial"], "model": "m", "firmware": "f",
        "public_key": meter_crypto.public_key_b64(meter_crypto.generate_private_key()),
        "endpoint_url": "https://x.example.in/"})
    assert same_serial.status_code == 409, same_serial.text
    same_key = as_admin.post("/admin/meters", json={
        "serial": new_serial(), "model": "m", "firmware": "f",
        "public_key": meter_crypto.public_key_b64(key), "endpoint_url": "https://x.example.in/"})
    assert same_key.status_code == 409, same_key.text
    serials = [m["serial"] for m in as_admin.get(
        "/admin/meters", params={"serial": first["serial"]}).json()["meters"]]
    assert serials.count(first["serial"]) == 1


@pytest.mark.parametrize("public_key, reason", [
    # x = 5: x^3 + 7 is not a square mod p, so no curve point has it
    ("AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAF", "pubkey_not_on_curve"),
    # an uncompressed (0x04) prefix is refused: one encoding per key
    ("041111111111111111111111111111111111111111111111111111111111111111", "pubkey_prefix"),
    ("not base64!", "pubkey_encoding"),
    ("AAAA", "pubkey_length"),
])
def test_a_public_key_that_is_not_a_curve_point_is_refused(admin, public_key, reason):
    _, as_admin = admin
    serial = new_serial()
    response = as_admin.post("/admin/meters", json={
        "serial": serial, "public_key": public_key, "model": "m", "firmware": "f",
        "endpoint_url": "https://x.example.in/"})
    assert response.status_code == 400, response.text
    assert response.json()["details"] == [{"field": "public_key", "message": reason}]
    assert serial not in [m["serial"] for m in as_admin.get(
        "/admin/meters", params={"serial": serial}).json()["meters"]]


def test_unknown_fields_and_bad_urls_are_400(admin):
    _, as_admin = admin
    key = meter_crypto.public_key_b64(meter_crypto.generate_private_key())
    base = {"serial": new_serial(), "public_key": key, "model": "m", "firmware": "f",
            "endpoint_url": "https://x.example.in/"}
    assert as_admin.post("/admin/meters", json={**base, "colour": "red"}).status_code == 400
    assert as_admin.post("/admin/meters", json={**base, "endpoint_url": "ftp://x"}
                         ).status_code == 400
    assert as_admin.post("/admin/meters", json={**base, "serial": "has space"}
                         ).status_code == 400
    assert as_admin.post("/admin/meters", json={**base, "initial_register_wh": -1}
                         ).status_code == 400


def test_assignment_gives_the_provisioning_config(admin, customer):
    _, as_admin = admin
    owner, as_customer = customer
    meter, _ = register_meter(as_admin)
    property_id = new_property(as_customer)
    response = as_admin.post(f"/admin/meters/{meter['meter_id']}/assign",
                             json={"property_id": property_id})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meter"]["property_id"] == property_id
    assert body["meter"]["owner_id"] == owner.user_id
    assert body["meter"]["status"] == "registered"  # assigned, not yet activated
    provisioning = body["provisioning"]
    assert provisioning["meter_id"] == meter["meter_id"]
    assert provisioning["reading_url"] == get_settings().api_base_url + "/device/readings"
    assert provisioning["server_sender_id"] == "server"
    assert provisioning["protocol_version"] == 1
    current = [k for k in provisioning["server_public_keys"] if k["status"] == "current"]
    assert current[0]["public_key"] == current_server_key(as_admin)
    # the key is a real curve point the meter can use
    meter_crypto.load_public_key_b64(current[0]["public_key"])
    # the customer sees the meter on the property
    seen = as_customer.get(f"/properties/{property_id}").json()
    assert seen["meter_id"] == meter["meter_id"]
    again = as_admin.get(f"/admin/meters/{meter['meter_id']}/provisioning").json()
    assert again == provisioning


def test_assignment_needs_a_verified_owner_and_a_free_property(stack, admin, customer):
    _, as_admin = admin
    _, as_customer = customer
    meter, _ = register_meter(as_admin)
    assert as_admin.post(f"/admin/meters/{meter['meter_id']}/assign",
                         json={"property_id": "prp_nope"}).status_code == 404

    # a property whose owner is no longer verified
    suspended = create_user("customer")
    property_id = new_property(stack.api.as_(issue_session(suspended)))
    suspended.update(actions=[type(suspended).status.set("suspended")])
    response = as_admin.post(f"/admin/meters/{meter['meter_id']}/assign",
                             json={"property_id": property_id})
    assert response.status_code == 409, response.text

    # a property that already has a meter
    fitted, _, _ = fitted_meter(as_admin, as_customer)
    response = as_admin.post(f"/admin/meters/{meter['meter_id']}/assign",
                             json={"property_id": fitted["property_id"]})
    assert response.status_code == 409, response.text
    assert as_admin.get(f"/admin/meters/{meter['meter_id']}").json()["property_id"] is None


def test_activate_deactivate_and_list_by_status(admin, customer):
    _, as_admin = admin
    _, as_customer = customer
    meter, _ = register_meter(as_admin)
    meter_id = meter["meter_id"]
    # not assigned yet: cannot be activated
    assert as_admin.post(f"/admin/meters/{meter_id}/activate").status_code == 409
    property_id = new_property(as_customer)
    as_admin.post(f"/admin/meters/{meter_id}/assign", json={"property_id": property_id})
    activated = as_admin.post(f"/admin/meters/{meter_id}/activate")
    assert activated.status_code == 200 and activated.json()["status"] == "active"
    assert activated.json()["activated_at"]
    active = as_admin.get("/admin/meters", params={"status": "active",
                                                   "serial": meter["serial"]}).json()["meters"]
    assert meter_id in [m["meter_id"] for m in active]
    by_property = as_admin.get("/admin/meters",
                               params={"property_id": property_id}).json()["meters"]
    assert [m["meter_id"] for m in by_property] == [meter_id]

    deactivated = as_admin.post(f"/admin/meters/{meter_id}/deactivate")
    assert deactivated.status_code == 200 and deactivated.json()["status"] == "inactive"
    active = as_admin.get("/admin/meters", params={"status": "active",
                                                   "serial": meter["serial"]}).json()["meters"]
    assert meter_id not in [m["meter_id"] for m in active]
    assert as_admin.post(f"/admin/meters/{meter_id}/activate").json()["status"] == "active"


def test_replacement_records_both_registers(admin, customer):
    _, as_admin = admin
    _, as_customer = customer
    old, _, _ = fitted_meter(as_admin, as_customer, initial_register_wh=500)
    new, _ = register_meter(as_admin, initial_register_wh=0)
    response = as_admin.post(f"/admin/meters/{old['meter_id']}/replace", json={
        "new_meter_id": new["meter_id"], "final_register_wh": 812_345,
        "first_register_wh": 12})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["old_meter"]["status"] == "replaced"
    assert body["old_meter"]["final_register_wh"] == 812_345
    assert body["old_meter"]["replaced_by"] == new["meter_id"]
    assert body["new_meter"]["status"] == "active"
    assert body["new_meter"]["property_id"] == old["property_id"]
    assert body["new_meter"]["initial_register_wh"] == 12
    assert body["replacement"]["old_meter_id"] == old["meter_id"]
    assert body["replacement"]["first_register_wh"] == 12
    assert body["provisioning"]["meter_id"] == new["meter_id"]

    # what billing reads
    replacement = replacement_into(new["meter_id"])
    assert replacement is not None
    assert (replacement.old_meter_id, replacement.final_register_wh,
            replacement.first_register_wh) == (old["meter_id"], 812_345, 12)
    assert replacement_into(old["meter_id"]) is None
    # the property now shows the new meter
    seen = as_customer.get(f"/properties/{old['property_id']}").json()
    assert seen["meter_id"] == new["meter_id"]
    # a replaced meter stays replaced
    again = as_admin.post(f"/admin/meters/{old['meter_id']}/replace", json={
        "new_meter_id": register_meter(as_admin)[0]["meter_id"], "final_register_wh": 1,
        "first_register_wh": 0})
    assert again.status_code == 409
    assert as_admin.post(f"/admin/meters/{old['meter_id']}/activate").status_code == 409


def test_replacement_refuses_a_meter_fitted_elsewhere(admin, customer):
    _, as_admin = admin
    _, as_customer = customer
    old, _, _ = fitted_meter(as_admin, as_customer)
    elsewhere, _, _ = fitted_meter(as_admin, as_customer)
    response = as_admin.post(f"/admin/meters/{old['meter_id']}/replace", json={
        "new_meter_id": elsewhere["meter_id"], "final_register_wh": 10,
        "first_register_wh": 0})
    assert response.status_code == 409
    assert as_admin.get(f"/admin/meters/{old['meter_id']}").json()["status"] == "active"


def test_rotating_a_meter_key(admin, customer):
    _, as_admin = admin
    _, as_customer = customer
    meter, _, _ = fitted_meter(as_admin, as_customer)
    new_key = meter_crypto.generate_private_key()
    response = as_admin.post(f"/admin/meters/{meter['meter_id']}/rotate-key",
                             json={"public_key": meter_crypto.public_key_b64(new_key)})
    assert response.status_code == 200, response.text
    rotated = response.json()
    assert rotated["public_key_id"] == meter_crypto.key_id(new_key)
    assert rotated["key_version"] == 2 and rotated["key_rotated_at"]
    # another meter's key cannot be taken over
    _, other_key = register_meter(as_admin)
    taken = as_admin.post(f"/admin/meters/{meter['meter_id']}/rotate-key",
                          json={"public_key": meter_crypto.public_key_b64(other_key)})
    assert taken.status_code == 409
    bad = as_admin.post(f"/admin/meters/{meter['meter_id']}/rotate-key",
                        json={"public_key": "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAF"})
    assert bad.status_code == 400
    assert as_admin.get(f"/admin/meters/{meter['meter_id']}").json()["public_key_id"] == \
        meter_crypto.key_id(new_key)


def test_customers_cannot_use_the_registry(admin, customer):
    _, as_admin = admin
    _, as_customer = customer
    meter, _ = register_meter(as_admin)
    meter_id = meter["meter_id"]
    calls = [
        ("post", "/admin/meters", {"serial": new_serial(), "model": "m", "firmware": "f",
                                   "public_key": meter_crypto.public_key_b64(
                                       meter_crypto.generate_private_key()),
                                   "endpoint_url": "https://x.example.in/"}),
        ("get", "/admin/meters", None),
        ("get", f"/admin/meters/{meter_id}", None),
        ("post", f"/admin/meters/{meter_id}/assign", {"property_id": "prp_x"}),
        ("post", f"/admin/meters/{meter_id}/activate", None),
        ("post", f"/admin/meters/{meter_id}/deactivate", None),
        ("post", f"/admin/meters/{meter_id}/replace", {"new_meter_id": "mtr-x",
                                                       "final_register_wh": 1,
                                                       "first_register_wh": 0}),
        ("post", f"/admin/meters/{meter_id}/rotate-key", {"public_key": meter["public_key"]}),
        ("get", f"/admin/meters/{meter_id}/provisioning", None),
        ("get", "/admin/meter-rejections", None),
        ("get", "/admin/server-keys", None),
        ("post", "/admin/server-keys/rotate", {}),
    ]
    for method, path, body in calls:
        response = getattr(as_customer, method)(path, json=body)
        assert response.status_code == 403, (method, path, response.text)
    assert as_admin.get(f"/admin/meters/{meter_id}").json()["status"] == "registered"


def test_server_key_rotation_is_endorsed_by_the_root_key_and_revocation_is_immediate(
        admin, customer, tmp_path):
    """Rotation through the API: the new key comes with an endorsement signed by the
    offline root key, which a meter provisioned with the root's public key follows; an
    endorsement signed by the (stolen) online server key is ignored; a root revocation
    makes the meter drop the revoked key at once."""
    _, as_admin = admin
    _, as_customer = customer
    _, _, provisioning = fitted_meter(as_admin, as_customer)
    assert provisioning["root_public_keys"]
    assert provisioning["max_key_overlap_seconds"] == 30 * 86400
    meter = Meter(MeterConfig(serial="ROT-1", private_key=meter_crypto.generate_private_key()),
                  StateStore(tmp_path), Sender(workers=1))
    meter.provision("mtr-rotation", provisioning["server_public_keys"][:1],
                    root_public_keys=provisioning["root_public_keys"],
                    max_key_overlap_seconds=provisioning["max_key_overlap_seconds"])
    before = meter.state.server_keys[0].public_key

    assert as_admin.post("/admin/server-keys/rotate",
                         json={"grace_days": 31}).status_code == 400  # beyond the meters' bound
    response = as_admin.post("/admin/server-keys/rotate", json={"grace_days": 7})
    assert response.status_code == 200, response.text
    view = response.json()
    keys = view["keys"]
    assert [k["status"] for k in keys[:2]] == ["current", "previous"]
    assert keys[1]["public_key"] == before and keys[1]["accept_until"]
    endorsement = view["endorsements"][-1]
    assert endorsement["signer_key_id"] == view["root_public_keys"][0]["key_id"]
    # the meter follows the root's endorsement ...
    header = server_crypto.encode_statements_header(view["endorsements"], view["revocations"])
    meter.apply_statements(header, now=utcnow())
    assert meter.state.server_keys[0].public_key == keys[0]["public_key"]
    # ... and ignores one signed by the online server key (whoever stole it)
    stolen = key_store().keys(refresh=True).current.private
    attacker = server_crypto.generate_private_key()
    forged = server_crypto.make_endorsement(
        stolen, attacker, replaces_key_id=keys[0]["key_id"],
        replaces_until=utcnow() + timedelta(days=1), issued_at=utcnow() + timedelta(seconds=1))
    ignored = meter.apply_statements(server_crypto.encode_statements_header([forged], []),
                                     now=utcnow() + timedelta(seconds=2))
    assert ignored == [[0, "untrusted_signer"]]
    assert server_crypto.key_id(attacker) not in [k.key_id for k in meter.state.server_keys]

    # revoking the previous key: every request from now on carries the revocation
    previous_id = keys[1]["key_id"]
    revoked = as_admin.post("/admin/server-keys/revoke", json={"key_id": previous_id})
    assert revoked.status_code == 200, revoked.text
    assert previous_id not in [k["key_id"] for k in revoked.json()["keys"]]
    statements = key_store().keys(refresh=True).statements_header()
    assert statements is not None
    meter.apply_statements(statements, now=utcnow() + timedelta(seconds=3))
    assert previous_id in meter.state.revoked_key_ids
    assert previous_id not in [k.key_id for k in meter.state.server_keys]
    assert as_admin.post("/admin/server-keys/revoke",
                         json={"key_id": "0123456789abcdef"}).status_code == 404
