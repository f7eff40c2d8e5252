"""The local Razorpay sandbox over HTTP (local stage only): Razorpay's REST API
subset under /sandbox-razorpay/v1, the hosted checkout that stands in for
Standard Checkout, and controls for tests under /sandbox-razorpay/_sandbox.

The logic is functions/core/payments/sandbox.py; this module is its HTTP face.
Registered by functions/api/blueprints.py only when APP_STAGE is local. Pages
are plain server-rendered HTML; every value shown is escaped.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chalice import Blueprint, Response

from functions.api.http import Access, route
from functions.core.logs import logger
from functions.core.money import format_inr, from_paise
from functions.core.payments.config import SANDBOX_PREFIX, payment_settings
from functions.core.payments.provider import METHOD_LABELS, ONLINE_METHODS
from functions.core.payments.sandbox import Delivery, SandboxError, sandbox
from functions.core.settings import get_settings

bp = Blueprint(__name__)

V1 = SANDBOX_PREFIX + "/v1"
CONTROL = SANDBOX_PREFIX + "/_sandbox"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 8 * 1024

# What the sandbox's checkout.js does: Razorpay(options).open() posts the
# options to the hosted checkout page of the same sandbox.
CHECKOUT_JS = """\
"use strict";
(function () {
  var base = document.currentScript.src.replace(/\\/v1\\/checkout\\.js.*$/, "");
  function Razorpay(options) { this.options = options || {}; }
  Razorpay.prototype.on = function () { return this; };
  Razorpay.prototype.open = function () {
    var o = this.options, form = document.createElement("form");
    var fields = { key_id: o.key, order_id: o.order_id, callback_url: o.callback_url,
      cancel_url: o.cancel_url || "", name: o.name || "", description: o.description || "",
      method: (o.prefill && o.prefill.method) || "" };
    form.method = "post";
    form.action = base + "/v1/checkout/embedded";
    Object.keys(fields).forEach(function (name) {
      var input = document.createElement("input");
      input.type = "hidden"; input.name = name; input.value = fields[name];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
  };
  window.Razorpay = Razorpay;
})();
"""

_STYLE = """
body{font-family:system-ui,sans-serif;background:#0b1d3a;margin:0;padding:2rem;color:#1d2433}
main{max-width:28rem;margin:auto;background:#fff;border-radius:12px;padding:1.5rem 2rem}
.banner{background:#fff3cd;border:1px solid #e0c36a;padding:.4rem .7rem;border-radius:6px;
font-size:.85rem}
.amount{font-size:2rem;font-weight:700;margin:.3rem 0}
fieldset{border:1px solid #d6dbe6;border-radius:8px;margin:1rem 0}
label{display:block;padding:.3rem 0}
button{font-size:1rem;padding:.6rem 1.2rem;margin:.3rem .3rem 0 0;border-radius:6px;
border:1px solid #888;cursor:pointer}
button.pay{background:#3395ff;color:#fff;border-color:#3395ff}
dl{display:grid;grid-template-columns:auto 1fr;gap:.2rem 1rem}
dt{color:#5a6275}
"""


def _api(handler: Callable[[], Any]) -> Response:
    """A REST call: Basic auth with the account's keys, Razorpay's error shape."""
    try:
        sandbox().authenticate(bp.current_request.headers.get("authorization"))
        return _json(handler())
    except SandboxError as error:
        return _json(error.body, error.status)


def _json(body: Any, status: int = 200) -> Response:
    return Response(body=json.dumps(body), status_code=status,
                    headers={"Content-Type": "application/json"})


def _query() -> dict[str, str]:
    return dict(bp.current_request.query_params or {})


def _body() -> dict[str, Any]:
    raw = bp.current_request.raw_body or b"{}"
    try:
        data = json.loads(raw)
    except ValueError:
        raise SandboxError("The request body is not JSON") from None
    if not isinstance(data, dict):
        raise SandboxError("The request body is not a JSON object")
    return data


# ---- the REST API ------------------------------------------------------------------


@route(bp, V1 + "/orders", methods=["POST"], access=Access.PUBLIC,
       summary="Razorpay sandbox: create an order (local only)")
def create_order() -> Response:
    return _api(lambda: sandbox().create_order(_body()))


@route(bp, V1 + "/orders/{order_id}", access=Access.PUBLIC,
       summary="Razorpay sandbox: fetch an order (local only)")
def fetch_order(order_id: str) -> Response:
    return _api(lambda: sandbox().order(order_id))


@route(bp, V1 + "/orders/{order_id}/payments", access=Access.PUBLIC,
       summary="Razorpay sandbox: an order's payments (local only)")
def order_payments(order_id: str) -> Response:
    return _api(lambda: sandbox().order_payments(order_id))


@route(bp, V1 + "/payments", access=Access.PUBLIC,
       summary="Razorpay sandbox: payments (from, to, count, skip) (local only)")
def list_payments() -> Response:
    return _api(lambda: sandbox().list_payments(_query()))


@route(bp, V1 + "/payments/{payment_id}", access=Access.PUBLIC,
       summary="Razorpay sandbox: fetch a payment (local only)")
def fetch_payment(payment_id: str) -> Response:
    return _api(lambda: sandbox().payment(payment_id))


@route(bp, V1 + "/payments/{payment_id}/refund", methods=["POST"], access=Access.PUBLIC,
       summary="Razorpay sandbox: refund a payment (local only)")
def refund_payment(payment_id: str) -> Response:
    return _api(lambda: sandbox().refund_payment(payment_id, _body()))


@route(bp, V1 + "/payments/{payment_id}/refunds", access=Access.PUBLIC,
       summary="Razorpay sandbox: a payment's refunds (local only)")
def payment_refunds(payment_id: str) -> Response:
    return _api(lambda: sandbox().payment_refunds(payment_id))


@route(bp, V1 + "/refunds/{refund_id}", access=Access.PUBLIC,
       summary="Razorpay sandbox: fetch a refund (local only)")
def fetch_refund(refund_id: str) -> Response:
    return _api(lambda: sandbox().refund(refund_id))


@route(bp, V1 + "/settlements", access=Access.PUBLIC,
       summary="Razorpay sandbox: settlements (from, to, count, skip) (local only)")
def list_settlements() -> Response:
    return _api(lambda: sandbox().list_settlements(_query()))


@route(bp, V1 + "/settlements/recon/combined", access=Access.PUBLIC,
       summary="Razorpay sandbox: the settlement report of a day (local only)")
def settlement_recon() -> Response:
    return _api(lambda: sandbox().settlement_recon(_query()))


# ---- Standard Checkout's stand-in ----------------------------------------------------


@route(bp, V1 + "/checkout.js", access=Access.PUBLIC,
       summary="Razorpay sandbox: checkout.js (local only)")
def checkout_js() -> Response:
    return Response(body=CHECKOUT_JS, status_code=200, headers={
        "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff"})


@route(bp, V1 + "/checkout/embedded", methods=["POST"], access=Access.PUBLIC,
       content_types=[FORM_CONTENT_TYPE],
       summary="Razorpay sandbox: the hosted checkout page of an order (local only)")
def checkout_page() -> Response:
    try:
        form = _form()
        sandbox().check_key_id(form.get("key_id", ""))
        order = sandbox().order(form.get("order_id", ""))
        _http_url(form.get("callback_url", ""))
    except SandboxError as error:
        return _page("Checkout unavailable", _error_body(error), error.status)
    return _page("Pay " + format_inr(from_paise(order["amount"])),
                 _checkout_body(order, form, secrets.token_hex(16)))


@route(bp, V1 + "/checkout/embedded/pay", methods=["POST"], access=Access.PUBLIC,
       content_types=[FORM_CONTENT_TYPE],
       summary="Razorpay sandbox: the payer pays or fails; webhooks go out, and the page "
               "returns to the merchant's callback_url (local only)")
def checkout_submit() -> Response:
    gateway = sandbox()
    try:
        form = _form()
        gateway.check_key_id(form.get("key_id", ""))
        callback = _http_url(form.get("callback_url", ""))
        payment, deliveries = gateway.pay(form.get("order_id", ""), form.get("attempt", ""),
                                          form.get("method", ""), form.get("outcome", ""))
    except SandboxError as error:
        return _page("Checkout unavailable", _error_body(error), error.status)
    logger.info("sandbox payment", extra={"payment_id": payment["id"],
                                          "status": payment["status"]})
    # The merchant's callback answers with a redirect to its site: a form's CSP
    # covers the redirect too, so the merchant's site origin is allowed as well.
    return _page("Payment " + payment["status"],
                 _result_body(payment, callback, deliveries),
                 form_action=f"{_origin(callback)} {get_settings().portal_origin}")


def _checkout_body(order: dict[str, Any], form: dict[str, str], attempt: str) -> str:
    chosen = form.get("method") if form.get("method") in ONLINE_METHODS else "upi"
    options = "".join(
        f'<label><input type="radio" name="method" value="{escape(m)}"'
        f'{" checked" if m == chosen else ""}> {escape(METHOD_LABELS[m])}</label>'
        for m in ONLINE_METHODS)
    hidden = "".join(f'<input type="hidden" name="{name}" value="{escape(form.get(name, ""))}">'
                     for name in ("key_id", "order_id", "callback_url", "cancel_url"))
    cancel = form.get("cancel_url", "")
    cancel_link = (f'<p><a id="cancel" href="{escape(cancel)}">Cancel</a></p>'
                   if cancel.startswith(("http://", "https://")) else "")
    return f"""
<p class="banner">Razorpay sandbox: no real money moves.</p>
<h1>{escape(form.get("name", "") or "Checkout")}</h1>
<p>{escape(form.get("description", ""))}</p>
<p class="amount" id="amount">{escape(format_inr(from_paise(order["amount"])))}</p>
<dl><dt>Order</dt><dd id="order-id">{escape(order["id"])}</dd>
<dt>Currency</dt><dd>{escape(order["currency"])}</dd></dl>
<form method="post" action="{escape(V1 + "/checkout/embedded/pay")}">
{hidden}<input type="hidden" name="attempt" value="{escape(attempt)}">
<fieldset><legend>Pay with</legend>{options}</fieldset>
<button class="pay" type="submit" name="outcome" value="pay">Pay</button>
<button type="submit" name="outcome" value="fail">Fail</button>
</form>{cancel_link}"""


def _result_body(payment: dict[str, Any], callback: str, deliveries: list[Delivery]) -> str:
    gateway = sandbox()
    captured = payment["status"] == "captured"
    if captured:
        fields = {"razorpay_payment_id": payment["id"],
                  "razorpay_order_id": payment["order_id"],
                  "razorpay_signature": gateway.payment_signature(payment["order_id"],
                                                                  payment["id"])}
    else:
        fields = {"error[code]": payment["error_code"] or "BAD_REQUEST_ERROR",
                  "error[description]": payment["error_description"] or "Payment failed",
                  "error[source]": payment["error_source"] or "bank",
                  "error[step]": payment["error_step"] or "payment_authorization",
                  "error[reason]": payment["error_reason"] or "payment_failed",
                  "error[metadata]": json.dumps({"payment_id": payment["id"],
                                                 "order_id": payment["order_id"]})}
    hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(str(v))}">'
                     for k, v in fields.items())
    notified = "; ".join(
        f"{d.event}: " + (f"HTTP {d.status_code}" if d.status_code else d.detail[:120])
        for d in deliveries) or "no webhook (a repeated submission)"
    headline = "Payment successful" if captured else "Payment failed"
    return f"""
<p class="banner">Razorpay sandbox: no real money moves.</p>
<h1 id="outcome" data-status="{escape(payment["status"])}">{escape(headline)}</h1>
<dl><dt>Amount</dt><dd>{escape(format_inr(from_paise(payment["amount"])))}</dd>
<dt>Order</dt><dd>{escape(str(payment["order_id"]))}</dd>
<dt>Payment</dt><dd id="payment-id">{escape(payment["id"])}</dd>
<dt>Method</dt><dd>{escape(METHOD_LABELS.get(payment["method"], payment["method"]))}</dd></dl>
<p id="delivery">Webhooks: {escape(notified)}</p>
<form method="post" action="{escape(callback)}" id="callback">{hidden}
<button class="pay" type="submit">Return to the merchant</button></form>"""


def _error_body(error: SandboxError) -> str:
    return f'<h1>Checkout unavailable</h1><p id="error">{escape(str(error))}</p>'


def _form() -> dict[str, str]:
    raw = bp.current_request.raw_body or b""
    data = raw.encode() if isinstance(raw, str) else raw
    if len(data) > MAX_FORM_BYTES:
        raise SandboxError("The form is too large.")
    try:
        fields = parse_qs(data.decode("utf-8"), max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise SandboxError("The form could not be read.") from None
    return {name: values[-1] for name, values in fields.items()}


def _http_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise SandboxError("The callback_url must be an http(s) URL", field="callback_url")
    return url


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _page(title: str, body: str, status: int = 200, form_action: str = "") -> Response:
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)} - Razorpay sandbox</title><style>{_STYLE}</style></head>"
            f"<body><main>{body}</main></body></html>")
    return Response(body=html, status_code=status, headers={
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                   f"form-action 'self' {form_action}; frame-ancestors 'none';"
                                   " base-uri 'none'",
        "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store"})


# ---- controls for tests and developers (not Razorpay's) ---------------------------------


@route(bp, CONTROL + "/payments", methods=["POST"], access=Access.PUBLIC,
       summary="Razorpay sandbox control: a payment for an order (as the checkout makes it) "
               "or without one; `webhooks: false` makes it a missed webhook (local only)")
def control_payment() -> Response:
    try:
        body = _body()
        webhooks = body.get("webhooks", True) is not False
        if body.get("order_id"):
            payment, deliveries = sandbox().pay(str(body["order_id"]),
                                                str(body.get("attempt") or secrets.token_hex(16)),
                                                str(body.get("method", "upi")),
                                                str(body.get("outcome", "pay")), webhooks)
        else:
            amount = body.get("amount")
            if not isinstance(amount, int) or isinstance(amount, bool):
                raise SandboxError("amount (paise) is required without an order")
            raw_notes = body.get("notes")
            notes = ({str(k): str(v) for k, v in raw_notes.items()}
                     if isinstance(raw_notes, dict) else {})
            payment, deliveries = sandbox().pay_without_order(
                amount, str(body.get("method", "upi")), notes, str(body.get("description", "")),
                None, webhooks)
    except SandboxError as error:
        return _json(error.body, error.status)
    return _json({"payment": payment, "deliveries": [d.__dict__ for d in deliveries]})


@route(bp, CONTROL + "/upi", methods=["POST"], access=Access.PUBLIC,
       summary="Razorpay sandbox control: a UPI app pays a bill's upi://pay link (local only)")
def control_upi() -> Response:
    try:
        body = _body()
        payment, deliveries = sandbox().upi_pay(str(body.get("link", "")),
                                                str(body.get("payer_vpa", "payer@okaxis")),
                                                payment_settings().vpa,
                                                body.get("webhooks", True) is not False)
    except SandboxError as error:
        return _json(error.body, error.status)
    return _json({"payment": payment, "deliveries": [d.__dict__ for d in deliveries]})


@route(bp, CONTROL + "/webhooks", methods=["POST"], access=Access.PUBLIC,
       summary="Razorpay sandbox control: `enabled: false` turns the webhook off, as in the "
               "Dashboard (events meanwhile are never delivered); `true` turns it on (local "
               "only)")
def control_webhooks() -> Response:
    try:
        enabled = _body().get("enabled")
        if not isinstance(enabled, bool):
            raise SandboxError("enabled (true or false) is required", field="enabled")
    except SandboxError as error:
        return _json(error.body, error.status)
    sandbox().webhooks_enabled = enabled
    return _json({"enabled": enabled})


@route(bp, CONTROL + "/settle", methods=["POST"], access=Access.PUBLIC,
       summary="Razorpay sandbox control: settle what is captured so far (local only)")
def control_settle() -> Response:
    return _json({"settlement": sandbox().settle()})
