"""The sandbox payment gateway's hosted checkout (local stage only).

Stands in for Razorpay/PayU's checkout page: the payer sees the amount of the
order (from the signed checkout token, never from the form), picks UPI, card
or net banking, and presses Pay, Fail or Cancel. The gateway then calls the
merchant's webhook over HTTP with a signed event, as a real gateway's servers
would, and shows the outcome with a link back to the merchant's portal.

Registered by functions/api/blueprints.py only when APP_STAGE is local. Pages
are plain server-rendered HTML; every value shown is escaped.
"""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qs

from chalice import Blueprint, Response

from functions.api.http import Access, route
from functions.core.clock import utcnow
from functions.core.errors import DomainError, InvalidInput
from functions.core.logs import logger
from functions.core.money import format_inr, from_paise
from functions.core.payments.provider import METHOD_LABELS, ONLINE_METHODS
from functions.core.payments.sandbox import (
    CHECKOUT_PATH,
    CheckoutSession,
    Delivery,
    complete_checkout,
    deliver_webhook,
    new_attempt_id,
    open_checkout,
)
from functions.core.payments.secrets import webhook_secret

bp = Blueprint(__name__)

MAX_FORM_BYTES = 4096
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

_SECURITY_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f4f6fb;margin:0;padding:2rem;color:#1d2433}
main{max-width:28rem;margin:auto;background:#fff;border-radius:12px;padding:1.5rem 2rem;
box-shadow:0 2px 12px rgba(0,0,0,.08)}
.banner{background:#fff3cd;border:1px solid #e0c36a;padding:.4rem .7rem;border-radius:6px;
font-size:.85rem}
.amount{font-size:2rem;font-weight:700;margin:.3rem 0}
fieldset{border:1px solid #d6dbe6;border-radius:8px;margin:1rem 0}
label{display:block;padding:.3rem 0}
button{font-size:1rem;padding:.6rem 1.2rem;margin:.3rem .3rem 0 0;border-radius:6px;
border:1px solid #888;cursor:pointer}
button.pay{background:#1f6feb;color:#fff;border-color:#1f6feb}
dl{display:grid;grid-template-columns:auto 1fr;gap:.2rem 1rem}
dt{color:#5a6275}
"""


@route(bp, CHECKOUT_PATH + "/{session}", access=Access.PUBLIC,
       summary="Sandbox gateway: the hosted checkout page of an order (local only)")
def checkout_page(session: str) -> Response:
    try:
        checkout = open_checkout(session, webhook_secret(), utcnow())
    except DomainError as error:
        return _page("Checkout unavailable", _error_body(error.message), error.status)
    return _page("Pay " + format_inr(from_paise(checkout.amount_paise)),
                 _checkout_body(checkout, session, new_attempt_id()))


@route(bp, CHECKOUT_PATH + "/{session}", methods=["POST"], access=Access.PUBLIC,
       content_types=[FORM_CONTENT_TYPE],
       summary="Sandbox gateway: the payer pays, fails or cancels; the gateway calls the "
               "merchant's webhook (local only)")
def checkout_submit(session: str) -> Response:
    secret = webhook_secret()
    now = utcnow()
    try:
        checkout = open_checkout(session, secret, now)
        form = _form(bp.current_request.raw_body)
        event, raw_body = complete_checkout(checkout, form.get("attempt", ""),
                                            form.get("method", ""), form.get("outcome", ""),
                                            secret, now)
    except DomainError as error:
        return _page("Checkout unavailable", _error_body(error.message), error.status)
    delivery = deliver_webhook(checkout.notify_url, event, raw_body, secret)
    logger.info("sandbox gateway delivered a webhook", extra={
        "order_id": checkout.order_id, "payment_id": event["payment_id"],
        "status": event["status"], "merchant_status": delivery.status_code})
    return _page("Payment " + str(event["status"]), _result_body(checkout, session, delivery))


def _form(raw: bytes | str | None) -> dict[str, str]:
    data = raw.encode() if isinstance(raw, str) else (raw or b"")
    if len(data) > MAX_FORM_BYTES:
        raise InvalidInput("The form is too large.")
    try:
        fields = parse_qs(data.decode("ascii"), max_num_fields=10, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidInput("The form could not be read.") from error
    return {name: values[-1] for name, values in fields.items()}


def _checkout_body(checkout: CheckoutSession, session: str, attempt: str) -> str:
    options = "".join(
        f'<label><input type="radio" name="method" value="{escape(m)}"'
        f'{" checked" if m == checkout.method else ""}> {escape(METHOD_LABELS[m])}</label>'
        for m in ONLINE_METHODS)
    return f"""
<p class="banner">Sandbox gateway: no real money moves.</p>
<h1>Discom electricity bill</h1>
<p>{escape(checkout.description)}</p>
<p class="amount" id="amount">{escape(format_inr(from_paise(checkout.amount_paise)))}</p>
<dl><dt>Order</dt><dd id="order-id">{escape(checkout.order_id)}</dd>
<dt>Currency</dt><dd>{escape(checkout.currency)}</dd></dl>
<form method="post" action="{escape(CHECKOUT_PATH + "/" + session)}">
<input type="hidden" name="attempt" value="{escape(attempt)}">
<fieldset><legend>Pay with</legend>{options}</fieldset>
<button class="pay" type="submit" name="outcome" value="pay">Pay</button>
<button type="submit" name="outcome" value="fail">Fail</button>
<button type="submit" name="outcome" value="cancel">Cancel</button>
</form>"""


def _result_body(checkout: CheckoutSession, session: str, delivery: Delivery) -> str:
    status = str(delivery.event["status"])
    headline = {"captured": "Payment successful", "failed": "Payment failed",
                "cancelled": "Payment cancelled"}[status]
    merchant = (f"The merchant confirmed it (HTTP {delivery.status_code})."
                if delivery.accepted else
                f"The merchant did not accept the notification "
                f"({delivery.status_code or 'no answer'}): {delivery.detail[:200]}")
    retry = ("" if status == "captured" else
             f'<p><a href="{escape(CHECKOUT_PATH + "/" + session)}">Try again</a></p>')
    back = (f'<p><a id="return" href="{escape(checkout.return_url)}">Return to the merchant</a>'
            "</p>" if checkout.return_url.startswith(("http://", "https://")) else "")
    return f"""
<p class="banner">Sandbox gateway: no real money moves.</p>
<h1 id="outcome" data-status="{escape(status)}">{escape(headline)}</h1>
<dl><dt>Amount</dt><dd>{escape(format_inr(from_paise(checkout.amount_paise)))}</dd>
<dt>Order</dt><dd>{escape(checkout.order_id)}</dd>
<dt>Payment</dt><dd id="payment-id">{escape(str(delivery.event["payment_id"]))}</dd>
<dt>Method</dt><dd>{escape(METHOD_LABELS.get(str(delivery.event["method"]), ""))}</dd></dl>
<p id="delivery" data-http-status="{escape(str(delivery.status_code or ""))}">{escape(merchant)}</p>
{retry}{back}"""


def _error_body(message: str) -> str:
    return f'<h1>Checkout unavailable</h1><p id="error">{escape(message)}</p>'


def _page(title: str, body: str, status: int = 200) -> Response:
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)} - Sandbox gateway</title><style>{_STYLE}</style></head>"
            f"<body><main>{body}</main></body></html>")
    return Response(body=html, status_code=status, headers=dict(_SECURITY_HEADERS))
