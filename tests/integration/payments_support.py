"""Setup data and a tiny "browser" for the payment and defaulters tests.

Bills are written straight through the bill model (what a billing run would
write): these tests are about paying them, not about making them."""

from __future__ import annotations

import json
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
from functions.core.payments.provider import hmac_sha256_hex
from functions.core.payments.sandbox import SIGNATURE_HEADER
from functions.core.payments.secrets import webhook_secret
from functions.core.properties.models import PropertyRecord


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


def bill_status(bill_id: str) -> BillRecord:
    return BillRecord.get(bill_id, consistent_read=True)


def post_webhook(api_url: str, event: dict[str, Any], secret: bytes | None = None,
                 signature: str | None = None) -> requests.Response:
    """POST an event the way the gateway does: exact bytes, HMAC header."""
    body = json.dumps(event, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    if signature is None:
        signature = hmac_sha256_hex(secret if secret is not None else webhook_secret(), body)
    if signature:
        headers[SIGNATURE_HEADER] = signature
    return requests.post(api_url + "/payments/webhook", data=body, headers=headers, timeout=30)


def event_for(order: dict[str, Any], status: str = "captured", payment_id: str | None = None,
              **changes: Any) -> dict[str, Any]:
    event = {"event": f"payment.{status}", "order_id": order["order_id"],
             "payment_id": payment_id or f"pay_{uuid.uuid4().hex[:20]}",
             "amount": order["amount_paise"], "currency": order["currency"],
             "status": status, "method": "upi", "created_at": "2026-10-20T06:30:00Z"}
    event.update(changes)
    return event


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
        data[name] = value
        return requests.post(urljoin(self.url, self.form.action), data=data, timeout=30)


def open_checkout_page(checkout_url: str) -> CheckoutPage:
    response = requests.get(checkout_url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/html")
    parsed = parse_page(response.text)
    assert parsed.form is not None and parsed.form.method == "post"
    return CheckoutPage(checkout_url, response.text, parsed.form)


def outcome_of(result: requests.Response) -> dict[str, str]:
    """What the gateway's result page says: outcome headline, payment id, and
    how the merchant's webhook answered."""
    texts = parse_page(result.text).texts
    return {"outcome": texts.get("outcome", ""), "payment_id": texts.get("payment-id", ""),
            "delivery": texts.get("delivery", "")}
