"""Setup data and a tiny "browser" for the payment and defaulters tests.

Bills are written straight through the bill model (what a billing run would
write): these tests are about paying them, not about making them."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import requests

from functions.core.billing_rules import ist_date
from functions.core.bills.models import BillRecord, bill_id_for
from functions.core.clock import utcnow
from functions.core.money import rupees, to_paise
from functions.core.payments.config import SANDBOX_PREFIX
from functions.core.payments.overdue import sweep_marker_key
from functions.core.payments.provider import hmac_sha256_hex
from functions.core.payments.sandbox import new_id
from functions.core.payments.secrets import gateway_keys, webhook_secret
from functions.core.properties.models import PropertyRecord
from functions.core.runs.models import RunSliceRecord


def today_ist() -> date:
    return ist_date(utcnow())


def make_bill(payer_id: str, *, total: str = "1380.00", due: date | None = None,
              status: str = "issued", category: str = "residential", period: str = "2026-10",
              surcharge_percent: str = "2", city: str = "New Delhi") -> BillRecord:
    """A bill on a fresh property owned by `payer_id`."""
    prop = PropertyRecord(
        property_id=f"prop_{uuid.uuid4().hex[:12]}", owner_id=payer_id,
        line1=f"{uuid.uuid4().int % 900 + 100} Rajpath", city=city, state="Delhi",
        pincode="110001", category=category, sanctioned_load_kw="3", created_at=utcnow(),
    )
    prop.save()
    due = due or today_ist() + timedelta(days=15)
    bill = BillRecord(
        bill_id=bill_id_for(prop.property_id, period), property_id=prop.property_id,
        period=period, payer_id=payer_id, owner_id=payer_id, meter_id="mtr_test",
        run_id="run_test", status=status, issued_at=utcnow(), due_date=due.isoformat(),
        category=category, tariff_name="Test tariff", tariff_version=f"{category}@2026-04-01",
        sanctioned_load_kw="3", late_payment_surcharge_percent=surcharge_percent, units=300,
        share_first_day=f"{period}-01", share_last_day=f"{period}-28", total=total,
        total_paise=to_paise(rupees(total)),
    )
    bill.save(condition=BillRecord.bill_id.does_not_exist())
    return bill


def sweep_overdue(admin_client: Any, timeout: float = 60.0) -> dict[str, Any]:
    """POST /admin/bills/mark-overdue (it only queues the sweep) and wait until every
    shard's chain of steps left its last page's marker (the stack's SQS runner runs
    them)."""
    response = admin_client.post("/admin/bills/mark-overdue")
    assert response.status_code == 202, response.text
    started = response.json()
    deadline = time.monotonic() + timeout
    for shard in range(started["shards_queued"]):
        page = 0
        while True:
            marker = _marker(sweep_marker_key(started["sweep_id"], shard, page))
            if marker is not None and marker.state == "last":
                break
            if marker is not None:
                page += 1
                continue
            assert time.monotonic() < deadline, f"overdue sweep shard {shard} not done"
            time.sleep(0.1)
    return started


def _marker(key: str) -> RunSliceRecord | None:
    try:
        return RunSliceRecord.get(key, consistent_read=True)
    except RunSliceRecord.DoesNotExist:
        return None


def bill_status(bill_id: str) -> BillRecord:
    return BillRecord.get(bill_id, consistent_read=True)


def sandbox_url(api_url: str) -> str:
    return api_url + SANDBOX_PREFIX


def payment_entity(order: dict[str, Any], status: str = "captured",
                   payment_id: str | None = None, **changes: Any) -> dict[str, Any]:
    """A payment entity in Razorpay's documented shape."""
    entity = {"id": payment_id or new_id("pay"), "entity": "payment",
              "amount": order["amount_paise"], "currency": order["currency"], "status": status,
              "order_id": order["order_id"], "invoice_id": None, "international": False,
              "method": "upi", "amount_refunded": 0, "refund_status": None,
              "captured": status == "captured", "description": "Electricity bill",
              "card_id": None, "bank": None, "wallet": None, "vpa": "payer@okhdfcbank",
              "email": "payer@example.in", "contact": "+919999999999", "notes": [],
              "fee": 0, "tax": 0, "error_code": None, "error_description": None,
              "created_at": int(time.time())}
    entity.update(changes)
    return entity


def event_body(event: str, **entities: dict[str, Any]) -> dict[str, Any]:
    """A webhook body in Razorpay's documented shape."""
    return {"entity": "event", "account_id": "acc_Sandbox0Discom1", "event": event,
            "contains": list(entities),
            "payload": {name: {"entity": entity} for name, entity in entities.items()},
            "created_at": int(time.time())}


def post_webhook(api_url: str, body: dict[str, Any] | bytes, secret: bytes | None = None,
                 signature: str | None = None, event_id: str | None = None
                 ) -> requests.Response:
    """POST an event the way Razorpay does: exact bytes, X-Razorpay-Signature."""
    raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json",
               "X-Razorpay-Event-Id": event_id or new_id("evt")}
    if signature is None:
        signature = hmac_sha256_hex(secret if secret is not None else webhook_secret(), raw)
    if signature:
        headers["X-Razorpay-Signature"] = signature
    return requests.post(api_url + "/payments/webhook", data=raw, headers=headers, timeout=30)


def sandbox_control(api_url: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{sandbox_url(api_url)}/_sandbox/{action}", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def gateway_client(api_url: str) -> Any:
    """Razorpay's SDK, with the stage's keys, pointed at the sandbox."""
    import razorpay

    keys = gateway_keys()
    return razorpay.Client(auth=(keys.key_id, keys.key_secret), base_url=sandbox_url(api_url))


def wait_for(check: Any, timeout: float = 30.0) -> Any:
    """Poll until `check()` is truthy (the sandbox processes refunds a moment later)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


# ---- a browser's view of the hosted checkout page -----------------------------------


@dataclass
class Form:
    action: str = ""
    method: str = "get"
    fields: dict[str, str] = field(default_factory=dict)
    radios: dict[str, list[str]] = field(default_factory=dict)
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # name, value, label


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form: Form | None = None
        self.button: list[str] | None = None
        self.texts: dict[str, str] = {}
        self._id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self._id = a["id"]
        if tag == "form":
            self.form = Form(action=a.get("action", ""), method=a.get("method", "get").lower())
        elif tag == "input" and self.form is not None:
            kind = a.get("type", "text")
            if kind == "radio":
                self.form.radios.setdefault(a["name"], []).append(a["value"])
                if "checked" in a:
                    self.form.fields[a["name"]] = a["value"]
            else:
                self.form.fields[a["name"]] = a.get("value", "")
        elif tag == "button" and self.form is not None:
            self.button = [a.get("name", ""), a.get("value", ""), ""]

    def handle_data(self, data: str) -> None:
        if self.button is not None:
            self.button[2] += data
        if self._id and data.strip():
            self.texts[self._id] = self.texts.get(self._id, "") + data.strip()

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self.button is not None and self.form is not None:
            name, value, label = self.button
            self.form.buttons.append((name, value, label.strip()))
            self.button = None
        if tag not in ("input", "br"):
            self._id = None


def parse_page(html: str) -> _FormParser:
    parser = _FormParser()
    parser.feed(html)
    return parser


@dataclass
class CheckoutPage:
    url: str
    html: str
    form: Form

    def submit(self, button_label: str, method: str | None = None) -> requests.Response:
        """Press a button as a browser would: every field, the chosen radio, and
        the pressed button's name=value, form-encoded, to the form's action."""
        data = dict(self.form.fields)
        if method is not None:
            assert method in self.form.radios["method"], self.form.radios
            data["method"] = method
        name, value = next((n, v) for n, v, label in self.form.buttons if label == button_label)
        if name:
            data[name] = value
        return requests.post(urljoin(self.url, self.form.action), data=data, timeout=30,
                             allow_redirects=False)


def checkout_options(checkout_url: str) -> dict[str, Any]:
    """Our checkout page: the Standard Checkout options it hands to checkout.js."""
    response = requests.get(checkout_url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/html")
    start = response.text.index('id="checkout-options">') + len('id="checkout-options">')
    return dict(json.loads(response.text[start:response.text.index("</script>", start)]))


def open_checkout_page(checkout_url: str) -> CheckoutPage:
    """What checkout.js's open() does: post the options to the gateway's hosted checkout."""
    options = checkout_options(checkout_url)
    script = requests.get(checkout_url, timeout=30).text
    base = script.split('<script src="', 1)[1].split('"', 1)[0].removesuffix("/v1/checkout.js")
    response = requests.post(base + "/v1/checkout/embedded", timeout=30, data={
        "key_id": options["key"], "order_id": options["order_id"],
        "callback_url": options["callback_url"], "cancel_url": options["cancel_url"],
        "name": options["name"], "description": options["description"],
        "method": options["prefill"].get("method", "")})
    assert response.status_code == 200, response.text
    parsed = parse_page(response.text)
    assert parsed.form is not None and parsed.form.method == "post"
    return CheckoutPage(response.url, response.text, parsed.form)


def result_page(result: requests.Response) -> CheckoutPage:
    parsed = parse_page(result.text)
    assert parsed.form is not None, result.text
    return CheckoutPage(result.url, result.text, parsed.form)


def return_to_merchant(result: requests.Response) -> requests.Response:
    """Press "Return to the merchant": the form posts to the merchant's callback_url."""
    return result_page(result).submit("Return to the merchant")


def outcome_of(result: requests.Response) -> dict[str, str]:
    """What the gateway's result page says: outcome headline, payment id, and
    how the merchant's webhook answered."""
    texts = parse_page(result.text).texts
    return {"outcome": texts.get("outcome", ""), "payment_id": texts.get("payment-id", ""),
            "delivery": texts.get("delivery", "")}
