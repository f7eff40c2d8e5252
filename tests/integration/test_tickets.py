"""Support tickets through the HTTP API: lifecycle with reopen, comments,
admin filters, notification emails, access checks and bad input."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from functions.core.accounts.sessions import issue_session
from functions.core.bills.models import BillRecord
from functions.core.clock import IST, utcnow
from functions.core.tickets.models import TicketRecord
from tests.fixtures.stack import create_user
from tests.integration.paging_support import every_page

NUMBER = re.compile(r"TKT-([0-9]{4})-([0-9]{6})")


def raise_ticket(client, **fields):
    body = {"category": "bill", "subject": "Bill looks too high",
            "description": "October's bill is twice September's.", **fields}
    response = client.post("/tickets", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def serial(ticket_id: str) -> int:
    match = NUMBER.fullmatch(ticket_id)
    assert match is not None, ticket_id
    return int(match[2])


def subjects(stack, email, waiting_for=""):
    """Subjects of the emails to `email`, once one containing `waiting_for` came (ticket
    emails go out through the notification sender, a moment after the change)."""
    if waiting_for:
        stack.wait_for_emails(email, waiting_for)
    return [m["subject"] for m in stack.emails_to(email)]


def test_ticket_lifecycle_with_comments_and_reopen(stack, customer, admin):
    user, client = customer
    admin_user, admin_client = admin

    ticket = raise_ticket(client)
    tid = ticket["ticket_id"]
    match = NUMBER.fullmatch(tid)
    assert match and int(match[1]) == utcnow().astimezone(IST).year
    assert ticket["status"] == "open" and not ticket["assigned"]
    assert ticket["first_admin_response_at"] is None and ticket["resolved_at"] is None
    assert subjects(stack, user.email, "received") == [f"{tid}: we received your request"]

    # The admin finds it, takes it and answers.
    waiting, _ = every_page(admin_client, "/admin/tickets", "tickets", status="open", limit=500)
    assert tid in [t["ticket_id"] for t in waiting]
    assigned = admin_client.post(f"/admin/tickets/{tid}/assign")
    assert assigned.status_code == 200 and assigned.json()["assignee_id"] == admin_user.user_id
    assert assigned.json()["first_admin_response_at"] is None  # assigning is not a response
    assert client.get(f"/tickets/{tid}").json()["assigned"] is True

    answer = admin_client.post(f"/tickets/{tid}/comments",
                               json={"body": "Checking the meter data now."})
    assert answer.status_code == 201, answer.text
    first_response = client.get(f"/tickets/{tid}").json()["first_admin_response_at"]
    assert first_response is not None
    assert client.post(f"/tickets/{tid}/comments",
                       json={"body": "Thanks, the meter is in the porch."}).status_code == 201

    progress = admin_client.post(f"/admin/tickets/{tid}/status", json={"status": "in_progress"})
    assert progress.status_code == 200, progress.text
    assert progress.json()["status"] == "in_progress"
    assert progress.json()["first_admin_response_at"] == first_response  # the first stays
    assert f"{tid}: In progress" in subjects(stack, user.email, "In progress")

    # Completing needs a resolution note.
    no_note = admin_client.post(f"/admin/tickets/{tid}/status", json={"status": "completed"})
    assert no_note.status_code == 400
    assert client.get(f"/tickets/{tid}").json()["status"] == "in_progress"
    done = admin_client.post(f"/admin/tickets/{tid}/status",
                             json={"status": "completed",
                                   "resolution_note": "Register was misread; bill revised."})
    assert done.status_code == 200, done.text
    assert done.json()["resolved_at"] is not None
    assert done.json()["resolution_note"] == "Register was misread; bill revised."
    [completed_mail] = stack.wait_for_emails(user.email, f"{tid}: Completed")
    assert "Register was misread" in completed_mail["body"]
    assert "reopen" in completed_mail["body"] and "IST" in completed_mail["body"]

    # The customer reopens within 14 days: open again.
    reopened = client.post(f"/tickets/{tid}/reopen")
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == "open" and reopened.json()["reopen_count"] == 1
    assert reopened.json()["resolved_at"] is None
    assert f"{tid}: Open" in subjects(stack, user.email, f"{tid}: Open")
    assert client.post(f"/tickets/{tid}/reopen").status_code == 409  # not completed now

    # Completed again; 15 days later reopening is refused.
    assert admin_client.post(f"/admin/tickets/{tid}/status",
                             json={"status": "completed",
                                   "resolution_note": "Revised bill sent."}).status_code == 200
    record = TicketRecord.get(tid)
    record.update(actions=[TicketRecord.resolved_at.set(utcnow() - timedelta(days=15))])
    late = client.post(f"/tickets/{tid}/reopen")
    assert late.status_code == 409, late.text
    assert "14 days" in late.json()["message"]
    assert client.get(f"/tickets/{tid}").json()["status"] == "completed"

    # The thread holds the comments and the status history, in order.
    thread = client.get(f"/tickets/{tid}").json()["comments"]
    assert [(c["kind"], c["author_role"]) for c in thread] == [
        ("comment", "admin"), ("comment", "customer"), ("status", "admin"),
        ("status", "admin"), ("status", "customer"), ("status", "admin")]
    assert thread[0]["body"] == "Checking the meter data now."
    # A status event keeps its facts apart (a page words them in its language); the
    # body stays the English wording.
    assert [(c["status"], c["note"]) for c in thread] == [
        (None, None), (None, None), ("in_progress", None),
        ("completed", "Register was misread; bill revised."), ("open", None),
        ("completed", "Revised bill sent.")]
    assert thread[3]["body"] == \
        "Status changed to Completed.\n\nRegister was misread; bill revised."
    assert len(stack.wait_for_emails(user.email, f"{tid}: Completed", count=2)) == 2


def test_ticket_numbers_are_unique_and_consecutive(customer):
    _, client = customer
    first = serial(raise_ticket(client)["ticket_id"])
    second = serial(raise_ticket(client)["ticket_id"])
    assert second == first + 1
    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = list(pool.map(lambda i: raise_ticket(client, subject=f"Parallel {i}")["ticket_id"],
                            range(12)))
    assert len(set(ids)) == 12
    mine = [t["ticket_id"] for t in client.get("/tickets").json()]
    assert set(ids) <= set(mine) and len(mine) == 14


def test_another_customer_cannot_see_or_touch_a_ticket(customer, other_customer, admin):
    _, client = customer
    _, stranger = other_customer
    _, admin_client = admin
    tid = raise_ticket(client)["ticket_id"]

    for response in (stranger.get(f"/tickets/{tid}"),
                     stranger.post(f"/tickets/{tid}/comments", json={"body": "hi"}),
                     stranger.post(f"/tickets/{tid}/reopen")):
        assert response.status_code == 404, response.text
    assert stranger.get(f"/tickets/{tid}").json()["message"] == \
        stranger.get("/tickets/TKT-2026-999999").json()["message"]
    assert stranger.get("/tickets").json() == []
    # Only admins change status or assign; customers get 403, even for their own ticket.
    assert client.post(f"/admin/tickets/{tid}/status",
                       json={"status": "completed", "resolution_note": "x"}).status_code == 403
    assert client.post(f"/admin/tickets/{tid}/assign").status_code == 403
    assert client.get("/admin/tickets").status_code == 403
    assert admin_client.post("/tickets", json={"category": "other", "subject": "s",
                                               "description": "d"}).status_code == 403
    assert client.get(f"/tickets/{tid}").json()["status"] == "open"
    assert client.get(f"/tickets/{tid}").json()["comments"] == []


LONG = "x" * 4001


@pytest.mark.parametrize("changes, field", [
    ({"category": "electricity"}, "category"),
    ({"subject": ""}, "subject"),
    ({"subject": "   "}, "subject"),
    ({"subject": "s" * 121}, "subject"),
    ({"description": ""}, "description"),
    ({"description": LONG}, "description"),
    ({"priority": "urgent"}, "priority"),
    ({"subject": 42}, "subject"),
])
def test_bad_ticket_input_is_400_and_writes_nothing(customer, changes, field):
    _, client = customer
    body = {"category": "meter", "subject": "Meter blank", "description": "No display.",
            **changes}
    response = client.post("/tickets", json=body)
    assert response.status_code == 400, response.text
    assert field in {d["field"] for d in response.json()["details"]}
    assert client.get("/tickets").json() == []


def test_limits_are_inclusive(customer):
    _, client = customer
    ticket = raise_ticket(client, subject="s" * 120, description="d" * 4000)
    assert len(ticket["subject"]) == 120 and len(ticket["description"]) == 4000
    tid = ticket["ticket_id"]
    assert client.post(f"/tickets/{tid}/comments", json={"body": "c" * 4000}).status_code == 201
    for body in ({"body": ""}, {"body": " \n "}, {"body": LONG}, {"body": "ok", "html": True}, {}):
        assert client.post(f"/tickets/{tid}/comments", json=body).status_code == 400


def test_bad_status_changes(customer, admin):
    _, client = customer
    _, admin_client = admin
    tid = raise_ticket(client)["ticket_id"]
    assert admin_client.post(f"/admin/tickets/{tid}/status",
                             json={"status": "closed"}).status_code == 400
    assert admin_client.post(f"/admin/tickets/{tid}/status",
                             json={"status": "open"}).status_code == 409
    assert admin_client.post("/admin/tickets/TKT-2026-999999/status",
                             json={"status": "in_progress"}).status_code == 404
    assert client.get(f"/tickets/{tid}").json()["first_admin_response_at"] is None


def test_comments_are_plain_text_returned_as_given_in_json(customer, admin):
    _, client = customer
    _, admin_client = admin
    text = '<script>alert("x")</script> & <b>bold</b>\n  second line  '
    tid = raise_ticket(client, subject="<i>Subject</i>", description=text)["ticket_id"]
    posted = client.post(f"/tickets/{tid}/comments", json={"body": text})
    assert posted.status_code == 201 and posted.json()["body"] == text

    for viewer in (client, admin_client):
        response = viewer.get(f"/tickets/{tid}")
        assert response.headers["Content-Type"].startswith("application/json")
        body = response.json()
        assert body["description"] == text and body["subject"] == "<i>Subject</i>"
        assert body["comments"][0]["body"] == text


def test_a_linked_property_or_bill_must_be_the_customers(stack, customer, other_customer):
    owner, client = customer
    _, other_client = other_customer
    home = client.post("/properties", json={
        "line1": "1 Anna Salai", "city": "Chennai", "state": "Tamil Nadu", "pincode": "600002",
        "category": "residential", "sanctioned_load_kw": "4"}).json()["property_id"]
    linked = raise_ticket(client, category="meter", property_id=home)
    assert linked["property_id"] == home

    refused = other_client.post("/tickets", json={"category": "meter", "subject": "s",
                                                  "description": "d", "property_id": home})
    assert refused.status_code == 400
    unknown = other_client.post("/tickets", json={"category": "meter", "subject": "s",
                                                  "description": "d", "property_id": "prp_x"})
    assert unknown.json()["message"] == refused.json()["message"]

    # The current tenant may link the property too.
    tenant = create_user("customer")
    tenant_client = client.as_(issue_session(tenant))
    tenancy = client.post(f"/properties/{home}/tenants/invite",
                          json={"email": tenant.email}).json()["tenancy_id"]
    assert tenant_client.post(f"/tenancies/{tenancy}/accept").status_code == 200
    assert raise_ticket(tenant_client, property_id=home)["property_id"] == home

    # A bill: the payer may link it (its property comes along); others may not.
    bill_id = f"BILL-{home}-2026-10"
    BillRecord(bill_id=bill_id, property_id=home, period="2026-10", payer_id=tenant.user_id,
               owner_id=owner.user_id, meter_id="mtr_t", run_id="2026-10",
               issued_at=utcnow(), due_date="2026-11-20", category="residential",
               tariff_name="Test", tariff_version="residential@2026-04-01",
               sanctioned_load_kw="4", late_payment_surcharge_percent="1.25", units=100,
               share_first_day="2026-10-01", share_last_day="2026-10-31", total="650.00",
               total_paise=65000).save()
    by_bill = raise_ticket(tenant_client, category="payment", bill_id=bill_id)
    assert by_bill["bill_id"] == bill_id and by_bill["property_id"] == home
    assert other_client.post("/tickets", json={"category": "bill", "subject": "s",
                                               "description": "d", "bill_id": bill_id}
                             ).status_code == 400
    mismatch = tenant_client.post("/tickets", json={"category": "bill", "subject": "s",
                                                    "description": "d", "bill_id": bill_id,
                                                    "property_id": "prp_other"})
    assert mismatch.status_code == 400
    assert other_client.get("/tickets").json() == []


def test_admin_filters_by_category_age_and_assignee(stack, customer, admin):
    user, client = customer
    admin_user, admin_client = admin
    other_admin = create_user("admin")
    other_admin_client = admin_client.as_(issue_session(other_admin))
    old = raise_ticket(client, category="payment")["ticket_id"]
    new = raise_ticket(client, category="meter")["ticket_id"]
    TicketRecord.get(old).update(actions=[
        TicketRecord.created_at.set(utcnow() - timedelta(days=10))])
    assert admin_client.post(f"/admin/tickets/{new}/assign").status_code == 200

    def ids(**params):
        response = admin_client.get("/admin/tickets",
                                    params={"customer_id": user.user_id, **params})
        assert response.status_code == 200, response.text
        return [t["ticket_id"] for t in response.json()["tickets"]]

    assert ids() == [old, new]  # the longest waiting first
    assert ids(category="payment") == [old]
    assert ids(older_than_days=7) == [old]
    assert ids(older_than_days="7", status="open") == [old]
    assert ids(assignee="me") == [new]
    assert ids(assignee=admin_user.user_id) == [new]
    assert ids(assignee="none") == [old]
    assert ids(status="completed") == []
    aged = admin_client.get("/admin/tickets", params={"customer_id": user.user_id,
                                                      "category": "payment"}).json()
    assert aged["tickets"][0]["age_days"] == 10
    mine_for_other_admin = other_admin_client.get(
        "/admin/tickets", params={"customer_id": user.user_id, "assignee": "me"}).json()
    assert mine_for_other_admin["tickets"] == []
    for bad in ({"older_than_days": "-1"}, {"status": "closed"}, {"category": "x"},
                {"sort": "age"}, {"limit": "501"}):
        assert admin_client.get("/admin/tickets", params=bad).status_code == 400
