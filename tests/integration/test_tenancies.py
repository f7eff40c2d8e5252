"""Leasing through the HTTP API: invite, accept, leave, delist, cancel, with
the emails the emulator captured, and the occupants billing will read."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from functions.core.accounts.sessions import issue_session
from functions.core.bills.models import BillRecord
from functions.core.meters.repositories import MeterRepository
from functions.core.properties.models import TenancyRecord
from functions.core.properties.repositories import PropertyRepository
from functions.core.properties.service import current_payer, occupants
from tests.fixtures.stack import create_user, unique_email

HOME = {"line1": "7 Park Street", "city": "Kolkata", "state": "West Bengal",
        "pincode": "700016", "category": "residential", "sanctioned_load_kw": "5"}


def new_property(client) -> str:
    response = client.post("/properties", json=HOME)
    assert response.status_code == 201, response.text
    return response.json()["property_id"]


def invite(client, pid: str, email: str) -> str:
    response = client.post(f"/properties/{pid}/tenants/invite", json={"email": email})
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "invited"
    return response.json()["tenancy_id"]


def signed_in(stack, **fields):
    user = create_user("customer", **fields)
    return user, stack.api.as_(issue_session(user))


def test_full_lease_lifecycle_invite_before_signup_accept_leave_then_delist(stack, customer):
    owner, owner_client = customer
    pid = new_property(owner_client)

    # The tenant has no account yet: the invitation waits for their email.
    email = unique_email("tenant")
    tid = invite(owner_client, pid, email.upper())  # matched case-insensitively
    [mail] = stack.wait_for_emails(email, "invited to be a tenant")  # queued: it follows
    assert "invited you to be the tenant" in mail["body"] and "7 Park Street" in mail["body"]
    pending = owner_client.get(f"/properties/{pid}").json()["pending_invitation"]
    assert pending["tenancy_id"] == tid and pending["email"] == email

    tenant, tenant_client = signed_in(stack, email=email, name="Asha Tenant")
    invitations = tenant_client.get("/tenancies/invitations").json()
    assert [(i["tenancy_id"], i["property_id"]) for i in invitations] == [(tid, pid)]
    assert tenant_client.get(f"/properties/{pid}").status_code == 404  # not a tenant yet

    accepted = tenant_client.post(f"/tenancies/{tid}/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["relationship"] == "tenant"
    assert accepted.json()["tenancy"]["status"] == "active"
    assert tenant_client.get("/tenancies/invitations").json() == []
    assert any("Asha Tenant accepted" in m["body"]
               for m in stack.wait_for_emails(owner.email, "Tenancy update"))

    # The owner sees the tenant's name; the tenant sees basics and their own tenancy only.
    owner_view = owner_client.get(f"/properties/{pid}").json()
    assert owner_view["tenant"]["name"] == "Asha Tenant"
    assert owner_view["pending_invitation"] is None
    tenant_view = tenant_client.get(f"/properties/{pid}").json()
    assert tenant_view["relationship"] == "tenant"
    assert tenant_view["address"]["line1"] == "7 Park Street"
    assert tenant_view["tenancy"]["tenancy_id"] == tid
    for owner_only in ("owner_id", "tenant", "pending_invitation", "created_at"):
        assert owner_only not in tenant_view
    assert [p["property_id"] for p in tenant_client.get("/properties").json()] == [pid]
    assert current_payer(pid) == tenant.user_id
    # A tenant may not act as the owner.
    assert tenant_client.get(f"/properties/{pid}/tenancies").status_code == 403
    assert tenant_client.delete(f"/properties/{pid}/tenant").status_code == 403
    assert tenant_client.post(f"/properties/{pid}/tenants/invite",
                              json={"email": unique_email()}).status_code == 403
    # ...and the owner may not "leave" their own property.
    assert owner_client.post(f"/properties/{pid}/leave").status_code == 409

    # The tenant leaves.
    left = tenant_client.post(f"/properties/{pid}/leave")
    assert left.status_code == 200, left.text
    assert left.json()["status"] == "ended" and left.json()["ended_reason"] == "left_by_tenant"
    assert tenant_client.get(f"/properties/{pid}").status_code == 404
    assert tenant_client.get("/properties").json() == []
    assert owner_client.get(f"/properties/{pid}").json()["tenant"] is None
    assert current_payer(pid) == owner.user_id
    assert tenant_client.post(f"/properties/{pid}/leave").status_code == 404

    # A second tenant, delisted by the owner.
    second, second_client = signed_in(stack, name="Ravi Second")
    tid2 = invite(owner_client, pid, second.email)
    assert second_client.post(f"/tenancies/{tid2}/accept").status_code == 200
    delisted = owner_client.delete(f"/properties/{pid}/tenant")
    assert delisted.status_code == 200, delisted.text
    assert delisted.json()["ended_reason"] == "delisted_by_owner"
    assert any("ended your tenancy" in m["body"]
               for m in stack.wait_for_emails(second.email, "Your tenancy has ended"))
    assert second_client.get(f"/properties/{pid}").status_code == 404
    assert owner_client.delete(f"/properties/{pid}/tenant").status_code == 409  # none left

    # History is kept, with dates, for both tenancies.
    history = owner_client.get(f"/properties/{pid}/tenancies").json()
    assert [(h["tenancy_id"], h["status"], h["tenant_name"]) for h in history] == [
        (tid, "ended", "Asha Tenant"), (tid2, "ended", "Ravi Second")]
    for entry in history:
        assert entry["start_date"] <= entry["end_date"]
    mine = tenant_client.get("/tenancies").json()
    assert [(t["tenancy_id"], t["status"]) for t in mine] == [(tid, "ended")]


def test_only_a_verified_customer_with_the_invited_email_can_accept(stack, customer,
                                                                    other_customer):
    _, owner_client = customer
    _, stranger_client = other_customer
    pid = new_property(owner_client)
    email = unique_email("tenant")
    tid = invite(owner_client, pid, email)

    assert stranger_client.post(f"/tenancies/{tid}/accept").status_code == 404
    assert stranger_client.get("/tenancies/invitations").json() == []
    _, unverified = signed_in(stack, email=email, status="pending_review")
    assert unverified.post(f"/tenancies/{tid}/accept").status_code == 403
    assert owner_client.get(f"/properties/{pid}").json()["tenant"] is None


def test_owner_cancels_a_pending_invitation(stack, customer):
    _, owner_client = customer
    pid = new_property(owner_client)
    tenant, tenant_client = signed_in(stack)
    tid = invite(owner_client, pid, tenant.email)

    # One pending invitation at a time.
    again = owner_client.post(f"/properties/{pid}/tenants/invite", json={"email": unique_email()})
    assert again.status_code == 409

    cancelled = owner_client.delete(f"/properties/{pid}/invitations/{tid}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert tenant_client.get("/tenancies/invitations").json() == []
    assert tenant_client.post(f"/tenancies/{tid}/accept").status_code == 409
    assert owner_client.delete(f"/properties/{pid}/invitations/{tid}").status_code == 409
    assert owner_client.delete(f"/properties/{pid}/invitations/ten_nope").status_code == 404
    invite(owner_client, pid, tenant.email)  # a new invitation is possible again


def test_invite_input_and_rules(customer):
    owner, owner_client = customer
    pid = new_property(owner_client)
    for body in ({"email": "not-an-email"}, {}, {"email": unique_email(), "role": "x"}):
        assert owner_client.post(f"/properties/{pid}/tenants/invite", json=body).status_code \
            == 400
    myself = owner_client.post(f"/properties/{pid}/tenants/invite", json={"email": owner.email})
    assert myself.status_code == 400


def test_at_most_one_active_tenancy_even_with_two_open_invitations(stack, customer):
    _, owner_client = customer
    pid = new_property(owner_client)
    first, first_client = signed_in(stack)
    second, second_client = signed_in(stack)
    tid1 = invite(owner_client, pid, first.email)
    # A second open invitation, as a race between two invites could leave behind.
    TenancyRecord(property_id=pid, tenancy_id="ten_raced", owner_id=first.user_id,
                  invite_email=second.email, status="invited",
                  invited_at=datetime.now(UTC)).save()

    assert first_client.post(f"/tenancies/{tid1}/accept").status_code == 200
    refused = second_client.post("/tenancies/ten_raced/accept")
    assert refused.status_code == 409, refused.text
    assert TenancyRecord.get(pid, "ten_raced").status == "invited"  # no partial write
    assert owner_client.get(f"/properties/{pid}").json()["tenant"]["name"] == first.name
    # Already an active tenant: another invitation is refused too.
    assert owner_client.post(f"/properties/{pid}/tenants/invite",
                             json={"email": unique_email()}).status_code == 409


def test_occupants_follow_the_stored_tenancy_dates(stack, customer):
    owner, owner_client = customer
    pid = new_property(owner_client)
    tenant, tenant_client = signed_in(stack)
    tid = invite(owner_client, pid, tenant.email)
    assert tenant_client.post(f"/tenancies/{tid}/accept").status_code == 200
    # Move the tenancy's start into October 2026: 5 Oct, 08:30 IST.
    record = TenancyRecord.get(pid, tid)
    record.update(actions=[TenancyRecord.start_date.set(datetime(2026, 10, 5, 3, 0,
                                                                 tzinfo=UTC))])

    stretches = [(o.payer_id, o.start, o.end, o.days) for o in occupants(pid, "2026-10")]
    assert stretches == [(owner.user_id, date(2026, 10, 1), date(2026, 10, 4), 4),
                         (tenant.user_id, date(2026, 10, 5), date(2026, 10, 31), 27)]
    assert [o.payer_id for o in occupants(pid, "2026-09")] == [owner.user_id]


def bill(pid: str, period: str, payer_id: str, owner_id: str, paise: int, share: int = 1):
    suffix = "" if share == 1 else f"-{share}"
    BillRecord(bill_id=f"BILL-{pid}-{period}{suffix}", property_id=pid, period=period,
               payer_id=payer_id, owner_id=owner_id, meter_id="mtr_t", run_id=period,
               issued_at=datetime.now(UTC), due_date=f"{period}-28", category="residential",
               tariff_name="Test", tariff_version="residential@2026-04-01",
               sanctioned_load_kw="5", late_payment_surcharge_percent="1.25", units=100,
               share=share, share_first_day=f"{period}-01", share_last_day=f"{period}-28",
               total=f"{paise // 100}.{paise % 100:02d}", total_paise=paise).save()


def test_each_occupant_sees_the_latest_bill_they_pay(stack, customer):
    owner, owner_client = customer
    pid = new_property(owner_client)
    tenant, tenant_client = signed_in(stack)
    tid = invite(owner_client, pid, tenant.email)
    assert tenant_client.post(f"/tenancies/{tid}/accept").status_code == 200
    assert owner_client.get(f"/properties/{pid}").json()["latest_bill"] is None

    bill(pid, "2026-08", owner.user_id, owner.user_id, 90000)
    bill(pid, "2026-09", owner.user_id, owner.user_id, 41050)  # split: owner's share...
    bill(pid, "2026-09", tenant.user_id, owner.user_id, 52025, share=2)  # ...and the tenant's
    bill(pid, "2026-10", tenant.user_id, owner.user_id, 99900)

    owners = owner_client.get(f"/properties/{pid}").json()["latest_bill"]
    assert (owners["period"], owners["total"], owners["status"]) == ("2026-09", "410.50", "issued")
    tenants = tenant_client.get(f"/properties/{pid}").json()["latest_bill"]
    assert (tenants["period"], tenants["total"]) == ("2026-10", "999.00")
    listed = tenant_client.get("/properties").json()
    assert listed[0]["latest_bill"]["bill_id"] == f"BILL-{pid}-2026-10"


# ---- issue 16, item 6: the owner states move-in and move-out days ----------------

def _bill_month(prop_id: str, meter_id: str, period: str, register_wh: int,
                read_at: datetime) -> list[BillRecord]:
    from tests.integration.billing_support import decided, send_readings, stored_reading

    meter = MeterRepository().get(meter_id)
    assert meter is not None
    reading = stored_reading(meter, period, register_wh, read_at)
    send_readings([reading])
    assert decided(reading).status == "accepted", decided(reading).validation_detail
    return sorted((b for b in BillRecord.by_property.query(prop_id) if b.period == period),
                  key=lambda b: int(b.share))


def test_the_owner_states_move_in_and_move_out_and_bills_split_by_them(stack, customer,
                                                                         admin):
    from tests.integration.billing_support import a_meter, ensure_reference_tariffs

    ensure_reference_tariffs(admin[1])
    owner, owner_client = customer
    pid = new_property(owner_client)
    record = PropertyRepository().get(pid)
    assert record is not None
    meter = a_meter(record)
    email = unique_email("tenant")
    # The tenant moved in on 11 March 2025; the owner invites them weeks later.
    invited = owner_client.post(f"/properties/{pid}/tenants/invite",
                                json={"email": email, "move_in": "2025-03-11"})
    assert invited.status_code == 201, invited.text
    assert invited.json()["move_in_date"] == "2025-03-11"
    tenant, tenant_client = signed_in(stack, email=email)
    accepted = tenant_client.post(f"/tenancies/{invited.json()['tenancy_id']}/accept")
    assert accepted.status_code == 200, accepted.text
    tenancy = accepted.json()["tenancy"]
    assert tenancy["start_date"] == "2025-03-10T18:30:00Z"  # 00:00 IST on 11 March
    assert tenancy["move_in_display"] == "11 Mar 2025"

    march = _bill_month(pid, meter.meter_id, "2025-03", 310_000,
                        datetime(2025, 4, 1, 1, tzinfo=UTC))
    assert [(b.payer_id, b.days_fraction) for b in march] == [
        (owner.user_id, "10/31"), (tenant.user_id, "21/31")]

    # March is billed: a move-out inside it is refused; 21 April is not.
    too_early = owner_client.delete(f"/properties/{pid}/tenant?move_out=2025-03-20")
    assert too_early.status_code == 409 and "final" in too_early.text
    ended = owner_client.delete(f"/properties/{pid}/tenant?move_out=2025-04-21")
    assert ended.status_code == 200, ended.text
    assert ended.json()["end_date"] == "2025-04-20T18:30:00Z"
    april = _bill_month(pid, meter.meter_id, "2025-04", 610_000,
                        datetime(2025, 5, 1, 1, tzinfo=UTC))
    assert [(b.payer_id, b.days_fraction) for b in april] == [
        (tenant.user_id, "20/30"), (owner.user_id, "10/30")]


def test_stated_days_are_checked(stack, customer, admin):
    _, owner_client = customer
    pid = new_property(owner_client)
    today = date.today()
    far = (today + timedelta(days=120)).isoformat()
    assert owner_client.post(f"/properties/{pid}/tenants/invite", json={
        "email": unique_email("t"), "move_in": far}).status_code == 400
    assert owner_client.post(f"/properties/{pid}/tenants/invite", json={
        "email": unique_email("t"), "move_in": "2025-13-01"}).status_code == 400

    # Accepted late without a stated day: the owner corrects the move-in afterwards.
    email = unique_email("tenant")
    tid = invite(owner_client, pid, email)
    tenant, tenant_client = signed_in(stack, email=email)
    assert tenant_client.post(f"/tenancies/{tid}/accept").status_code == 200
    corrected = owner_client.put(f"/properties/{pid}/tenancies/{tid}/dates",
                                 json={"move_in": "2025-06-01"})
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["start_date"] == "2025-05-31T18:30:00Z"
    assert [o.payer_id for o in occupants(pid, "2025-06")] == [tenant.user_id]
    # A move-out for a tenant who still lives here, or in the future, is refused.
    assert owner_client.put(f"/properties/{pid}/tenancies/{tid}/dates",
                            json={"move_out": "2025-07-01"}).status_code == 409
    future = (today + timedelta(days=3)).isoformat()
    assert owner_client.delete(
        f"/properties/{pid}/tenant?move_out={future}").status_code == 400
    assert owner_client.delete(
        f"/properties/{pid}/tenant?move_out=2025-05-01").status_code == 400  # before move-in
    assert owner_client.delete(f"/properties/{pid}/tenant?move_out=2025-07-01").status_code \
        == 200
    # A new tenant cannot be stated to have moved in while the last one lived here.
    overlap = owner_client.post(f"/properties/{pid}/tenants/invite", json={
        "email": unique_email("t"), "move_in": "2025-06-15"})
    assert overlap.status_code == 409 and "overlap" in overlap.text
    # Only the owner states days.
    assert tenant_client.put(f"/properties/{pid}/tenancies/{tid}/dates",
                             json={"move_in": "2025-06-02"}).status_code in (403, 404)
