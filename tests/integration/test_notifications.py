"""Notifications against the emulator: each message sent once, delivery tracked
through SES's event JSON on the real topic and queue, bounced and complaining
addresses suppressed, and the admin's list of who never got their bill.

moto stores the SES configuration set and its SNS event destination but publishes
no events to it (docs/notifications.md), so these tests publish SES's event JSON
(the shapes of AWS's "event publishing" documentation) to the same SNS topic; SNS
delivers it to the notification_events queue and the function handles it, as in AWS.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from functions.core.clock import utcnow
from functions.core.notifications.models import OutboxRecord, SuppressionRecord
from functions.core.notifications.outbox import Outbox, email_record
from functions.core.notifications.sender import Sender
from functions.core.notifications.service import bill_topic
from functions.core.notifications.templates import render_email
from functions.core.runs.models import BillingRunRecord
from functions.core.runs.progress import totals
from functions.notifications.handler import sweep
from tests.fixtures.stack import Stack, unique_email
from tests.integration.billing_support import a_customer, ensure_reference_tariffs, wait_for
from tests.integration.notifications_support import (
    PERIOD,
    bill_for,
    key_of,
    outbox_record,
    publish_ses_event,
)


@pytest.fixture
def tariffs(admin: Any) -> None:
    ensure_reference_tariffs(admin[1])


def undelivered_ids(as_admin: Any, period: str = PERIOD, limit: int = 2,
                    status: str | None = None) -> list[str]:
    """Every page of the admin's list, checking each page's size."""
    ids: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"period": period, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        if status:
            params["status"] = status
        response = as_admin.get("/admin/notifications/undelivered-bills", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["bills"]) <= limit
        ids += [row["bill_id"] for row in page["bills"]]
        cursor = page["cursor"]
        if not cursor:
            return ids


def test_a_bill_email_is_written_with_the_bill_and_sent_once(stack: Stack, tariffs: None,
                                                             admin: Any) -> None:
    owner = a_customer()
    bill_id = bill_for(owner)
    handed = stack.wait_until_handed_over([key_of(bill_id)])[key_of(bill_id)]
    assert handed.status == "sent" and handed.provider_message_id
    assert handed.topic == bill_topic(PERIOD) and handed.ref == bill_id
    mails = stack.wait_for_emails(owner.email, "Your electricity bill")
    assert len(mails) == 1 and f"/bill.html?id={bill_id}" in mails[0]["body"]

    # The same key queued again, the batch delivered twice, the sweep: nothing more.
    sender = Sender()
    assert sender.deliver([key_of(bill_id)])["skipped"] == 1
    assert sender.deliver([key_of(bill_id), key_of(bill_id)])["skipped"] == 1
    Outbox().dispatch([key_of(bill_id)] * 3)
    sweep()
    marker = a_customer()
    marker_bill = bill_for(marker)  # queued after: handed over once the queue moved on
    stack.wait_until_handed_over([key_of(marker_bill)])
    assert len(stack.emails_to(owner.email)) == 1
    assert outbox_record(key_of(bill_id)).attempts == 1


def test_a_message_its_writer_never_queued_is_found_by_the_sweep(stack: Stack) -> None:
    """The writer died after its transaction and before queueing the key."""
    to = unique_email("swept")
    long_ago = utcnow() - timedelta(minutes=10)
    record = email_record("account_verified#swept-" + to, render_email(
        "account_verified", name="Swept", portal="http://127.0.0.1:8080"), to,
        topic="account", now=long_ago)
    assert Outbox().create(record)  # and no dispatch
    assert sweep() >= 1
    stack.wait_until_handed_over([record.message_key])
    assert len(stack.wait_for_emails(to, "verified")) == 1


def test_a_sender_that_died_after_ses_accepted_sends_again_after_the_lease(
        stack: Stack) -> None:
    """The one window left (docs/notifications.md): SES accepted the email, the sender
    died before marking it sent. Once the claim's lease ends the sweep queues it again
    and it goes out a second time; within the lease nothing does."""
    to = unique_email("window")
    now = utcnow()
    record = email_record("account_verified#window-" + to, render_email(
        "account_verified", name="Window", portal="http://127.0.0.1:8080"), to,
        topic="account", now=now - timedelta(minutes=20))
    assert Outbox().create(record)
    claimed = Outbox().claim(record.message_key, now - timedelta(minutes=1))
    assert claimed is not None
    Sender().gateway.email(claimed, claimed.subject or "", claimed.body or "")  # then "dies"
    assert Sender().deliver([record.message_key])["skipped"] == 1  # lease still held
    assert len(stack.emails_to(to)) == 1
    # Ten minutes on, the lease (5 minutes) has ended: the sweep finds it, it is re-sent.
    later = Outbox().claim(record.message_key, now + timedelta(minutes=10))
    assert later is not None and later.attempts == 2
    Outbox().release(later)  # back to pending: the next sender run sends it
    Outbox().dispatch([record.message_key])
    stack.wait_until_handed_over([record.message_key])
    assert len(stack.emails_to(to)) == 2


def test_delivery_events_take_bills_off_the_undelivered_list(stack: Stack, tariffs: None,
                                                             admin: Any) -> None:
    owners = [a_customer() for _ in range(3)]
    bill_ids = [bill_for(owner) for owner in owners]
    records = stack.wait_until_handed_over([key_of(b) for b in bill_ids])
    listed = undelivered_ids(admin[1])
    assert all(listed.count(b) == 1 for b in bill_ids), "each once, across pages of 2"
    assert set(bill_ids) <= set(undelivered_ids(admin[1], status="sent", limit=500))

    publish_ses_event(records[key_of(bill_ids[0])], "Delivery")
    assert wait_for(lambda: outbox_record(key_of(bill_ids[0])).status == "delivered")
    delivered = outbox_record(key_of(bill_ids[0]))
    assert delivered.undelivered_shard is None and delivered.event_at is not None
    listed = undelivered_ids(admin[1], limit=500)
    assert bill_ids[0] not in listed and {bill_ids[1], bill_ids[2]} <= set(listed)

    # The same event delivered twice changes nothing; an unknown event type is ignored.
    publish_ses_event(records[key_of(bill_ids[0])], "Delivery")
    publish_ses_event(records[key_of(bill_ids[1])], "Open")
    assert wait_for(lambda: stack.runner.stats()["notification_events"].succeeded >= 3)
    assert outbox_record(key_of(bill_ids[1])).status == "sent"


def test_a_hard_bounce_suppresses_the_address_and_the_next_bill_is_not_sent(
        stack: Stack, tariffs: None, admin: Any) -> None:
    owner = a_customer()
    first = bill_for(owner, period="2023-05")
    record = stack.wait_until_handed_over([key_of(first)])[key_of(first)]
    # The sender counts a pass once its marks are written: wait for it. Other tests bill
    # this period too: compare, not equal.
    before = wait_for(lambda: (lambda t: t if t["notices_sent"] >= 1 else None)(
        totals("2023-05")))
    publish_ses_event(record, "Bounce")
    assert wait_for(lambda: outbox_record(key_of(first)).status == "bounced")
    # The run's page counts it (its counters are the run's, id = the period).
    assert wait_for(lambda: totals("2023-05")["notices_bounced"]
                    == before["notices_bounced"] + 1)
    if BillingRunRecord.count("2023-05") == 0:
        BillingRunRecord(run_id="2023-05", period="2023-05", status="closed",
                         started_at=utcnow(), closed_at=utcnow()).save()
    run = admin[1].get("/admin/runs/2023-05").json()
    assert run["progress"]["notices"]["bounced"] == before["notices_bounced"] + 1
    assert run["progress"]["notices"]["sent"] >= 1
    bounced = outbox_record(key_of(first))
    assert bounced.reason and "Permanent/General" in bounced.reason and "550" in bounced.reason
    suppression = SuppressionRecord.get(owner.email.lower())
    assert suppression.reason.startswith("bounce:Permanent")

    # The admin sees why this payer never got the bill.
    rows = admin[1].get("/admin/notifications/undelivered-bills",
                        params={"period": "2023-05", "status": "bounced", "limit": 500}).json()
    [row] = [r for r in rows["bills"] if r["bill_id"] == first]
    assert row["to"] == owner.email and "550" in row["reason"]

    # The next bill to that address is not handed to SES at all.
    before = len(stack.emails_to(owner.email))
    second = bill_for(owner, register_wh=1_400_000, period="2023-06")
    assert stack.wait_until_handed_over([key_of(second)])[key_of(second)].status \
        == "suppressed"
    assert len(stack.emails_to(owner.email)) == before

    # Lifted by an admin (the customer fixed their mailbox): sent again from then on.
    lifted = admin[1].post("/admin/notifications/unsuppress", json={"address": owner.email})
    assert lifted.status_code == 200 and lifted.json()["removed"] is True
    with pytest.raises(SuppressionRecord.DoesNotExist):
        SuppressionRecord.get(owner.email.lower())


def test_a_soft_bounce_is_recorded_but_not_suppressed(stack: Stack, tariffs: None) -> None:
    owner = a_customer()
    bill_id = bill_for(owner, period="2023-04")
    record = stack.wait_until_handed_over([key_of(bill_id)])[key_of(bill_id)]
    publish_ses_event(record, "Bounce", bounce_type="Transient", sub_type="MailboxFull")
    assert wait_for(lambda: outbox_record(key_of(bill_id)).status == "bounced")
    assert "Transient/MailboxFull" in (outbox_record(key_of(bill_id)).reason or "")
    with pytest.raises(SuppressionRecord.DoesNotExist):
        SuppressionRecord.get(owner.email.lower())


def test_a_complaint_suppresses_the_address(stack: Stack, tariffs: None) -> None:
    owner = a_customer()
    bill_id = bill_for(owner, period="2023-02")
    sent = stack.wait_until_handed_over([key_of(bill_id)])[key_of(bill_id)]
    before = totals("2023-02")
    publish_ses_event(sent, "Delivery")
    publish_ses_event(sent, "Complaint")
    assert wait_for(lambda: outbox_record(key_of(bill_id)).status == "complained")
    assert wait_for(lambda: SuppressionRecord.count(owner.email.lower()) == 1)
    assert SuppressionRecord.get(owner.email.lower()).reason == "complaint: abuse"
    # On the run's counters (its page): delivered, then complained about.
    after = totals("2023-02")
    assert after["notices_delivered"] == before["notices_delivered"] + 1
    assert after["notices_complained"] == before["notices_complained"] + 1
    # No further mail to that address: the next bill's email is not handed to SES.
    second = bill_for(owner, register_wh=1_400_000, period="2023-03")
    assert stack.wait_until_handed_over([key_of(second)])[key_of(second)].status \
        == "suppressed"
    assert wait_for(lambda: totals("2023-03")["notices_suppressed"] >= 1)


def test_secret_messages_are_sent_by_their_request_and_never_stored(stack: Stack) -> None:
    from tests.integration.accounts_flow import new_person, sign_up

    person = new_person()
    sign_up(stack, person)
    [mail] = stack.emails_to(person.email)  # no waiting: the request sent it
    records = [r for r in OutboxRecord.scan(OutboxRecord.recipient == person.email)]
    [envelope] = records
    assert envelope.template == "email_verification" and envelope.status == "sent"
    assert envelope.body is None  # the link's secret is not at rest
    assert envelope.message_key.split("#", 1)[1] in mail["body"]  # keyed by the code id


def test_the_same_payment_webhook_twice_is_one_receipt(stack: Stack, customer: Any) -> None:
    """Issue 25's acceptance, through the real webhook path: the receipt's outbox item
    is written in the transaction that settles the bill, so a second delivery of the
    same payment.captured finds it there and nothing more is sent."""
    from functions.core.payments.service import receipt_key
    from tests.integration.payments_support import (
        event_body,
        make_bill,
        payment_entity,
        post_webhook,
    )

    user, client = customer
    bill = make_bill(user.user_id, total="640.00")
    order = client.post(f"/bills/{bill.bill_id}/pay", json={"method": "upi"}).json()
    body = event_body("payment.captured", payment=payment_entity(order, "captured"))
    first = post_webhook(stack.api.base_url, body)
    second = post_webhook(stack.api.base_url, body)
    assert first.json()["result"] == "paid" and second.json()["result"] == "duplicate"

    key = receipt_key(body["payload"]["payment"]["entity"]["id"])
    receipt = stack.wait_until_handed_over([key])[key]
    assert receipt.status == "sent" and receipt.recipient == user.email
    assert receipt.attempts == 1 and receipt.ref == bill.bill_id
    # A message queued after both deliveries has gone out: the count at SES is final.
    marker = email_record("account_verified#marker-" + user.user_id, render_email(
        "account_verified", name="Marker", portal="http://127.0.0.1:8080"),
        unique_email("marker"), topic="account", now=utcnow())
    assert Outbox().create(marker)
    Outbox().dispatch([marker.message_key])
    stack.wait_until_handed_over([marker.message_key])
    [mail] = [m for m in stack.emails_to(user.email) if "Payment received" in m["subject"]]
    assert "₹640.00" in mail["body"] and bill.bill_id in mail["body"]
    assert outbox_record(key).attempts == 1


def test_a_pass_claims_many_messages_in_one_transaction_each_once(stack: Stack) -> None:
    """The sender's claims for a pass of several keys (two calls, not one per key): a
    claimed, missing or sent message is not claimed again; a second pass gets none."""
    outbox, now = Outbox(), utcnow()
    to = unique_email("claims")
    keys = []
    for n in range(4):
        record = email_record(f"account_verified#claims-{n}-{to}", render_email(
            "account_verified", name="Claims", portal="http://127.0.0.1:8080"), to,
            topic="account", now=now)
        assert outbox.create(record)
        keys.append(record.message_key)
    assert outbox.claim(keys[0], now) is not None  # another sender has this one
    got = outbox.claim_many([*keys, "account_verified#no-such-message"], now)
    assert [r is not None for r in got] == [False, True, True, True, False]
    assert all(r.status == "sending" and r.attempts == 1 for r in got if r is not None)
    assert all(outbox_record(k).status == "sending" for k in keys)
    assert outbox.claim_many(keys, now) == [None] * 4  # the same pass delivered twice
