"""Payment routes: paying a bill (Razorpay Standard Checkout), the checkout's
return and the gateway's webhook, refunds, the daily reconciliation, UPI on the
bill, offline payments, overdue bills, defaulters and the outstanding balance."""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from chalice import Blueprint, Cron, Response

from functions.api.http import Access, route
from functions.core.accounts.sessions import Caller
from functions.core.bills.repository import BillRepository
from functions.core.clock import utcnow
from functions.core.errors import DomainError, InvalidInput, NotFound, PayloadTooLarge
from functions.core.logs import logger
from functions.core.money import format_inr, from_paise, to_paise
from functions.core.payments.defaulters import (
    defaulter_detail,
    defaulters_csv_page,
    list_defaulters,
)
from functions.core.payments.overdue import start_sweep
from functions.core.payments.quick_pay import QuickPay
from functions.core.payments.receipts import period_label
from functions.core.payments.reconcile import reconcile, reconciliation_view, yesterday_ist
from functions.core.payments.schemas import (
    AdminRefund,
    BalanceView,
    DefaulterBillsQuery,
    DefaulterDetail,
    DefaulterList,
    DefaulterQuery,
    OfflinePayment,
    OrderStatusView,
    OrderView,
    OverdueRunView,
    PayBill,
    PaymentView,
    QuickPayView,
    ReconcileDay,
    ReconciliationQuery,
    ReconciliationView,
    RefundView,
    UpiView,
    WebhookResult,
)
from functions.core.payments.service import (
    CALLBACK_PATH,
    CHECKOUT_PATH,
    PaymentService,
    bill_page_url,
)
from functions.core.payments.upi import bill_upi_link, qr_data_uri

bp = Blueprint(__name__)

MAX_WEBHOOK_BYTES = 64 * 1024
MAX_FORM_BYTES = 8 * 1024
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@route(bp, "/bills/{bill_id}/pay", methods=["POST"], access=Access.CUSTOMER, body=PayBill,
       response=OrderView, status=201,
       summary="Start paying a bill: creates a gateway order for the bill's amount due and "
               "returns the page that opens the gateway's checkout")
def pay_bill(bill_id: str, caller: Caller, body: PayBill) -> OrderView:
    return PaymentService.default().start_payment(caller, bill_id, body.method)


# ---- quick pay: a bill by consumer number, without signing in ----------------------------


def _client_ip() -> str:
    context = bp.current_request.context or {}
    return str((context.get("identity") or {}).get("sourceIp") or "")


@route(bp, "/quick-pay/{consumer_number}", access=Access.PUBLIC, response=QuickPayView,
       summary="Quick pay: the amount due, due date and masked name of a consumer number's "
               "oldest unpaid bill (400 for a wrong check digit; 429 past 10 lookups per "
               "client in 10 minutes)")
def quick_pay_lookup(consumer_number: str) -> QuickPayView:
    return QuickPay().lookup(consumer_number, _client_ip())


@route(bp, "/quick-pay/{consumer_number}/pay", methods=["POST"], access=Access.PUBLIC,
       body=PayBill, response=OrderView, status=201,
       summary="Quick pay: a gateway order for that bill's amount due; the checkout returns "
               "to the quick pay page")
def quick_pay_start(consumer_number: str, body: PayBill) -> OrderView:
    return QuickPay().pay(consumer_number, body.method, _client_ip())


# ---- the checkout: our page that opens Razorpay's, and its return ---------------------

CHECKOUT_SCRIPT = """\
"use strict";
(function () {
  var options = JSON.parse(document.getElementById("checkout-options").textContent);
  options.modal = { ondismiss: function () { location.assign(options.cancel_url); } };
  function open() { new window.Razorpay(options).open(); }
  document.getElementById("pay").addEventListener("click", open);
  if (window.Razorpay) { open(); }
})();
"""


@route(bp, CHECKOUT_PATH + "/{order_id}", access=Access.PUBLIC,
       summary="The checkout page of an order: opens the gateway's Standard Checkout "
               "(an HTML page; the browser is sent here by the portal)")
def checkout_page(order_id: str) -> Response:
    try:
        page = PaymentService.default().checkout_page(order_id)
    except DomainError as error:
        return _html("Checkout unavailable", f'<h1>Checkout unavailable</h1><p id="error">'
                     f'{escape(error.message)}</p>', error.status)
    options = json.dumps(page.options).replace("<", "\\u003c")
    script_origin = _origin(page.script)
    body = f"""
<h1>Pay your electricity bill</h1>
<p class="amount" id="amount">{escape(format_inr(from_paise(page.amount_paise)))}</p>
<p>Bill <span id="bill-id">{escape(page.bill_id)}</span></p>
<p><button id="pay" type="button">Pay {escape(format_inr(from_paise(page.amount_paise)))}</button>
<a href="{escape(page.cancel_url)}">Back to the bill</a></p>
<p class="note">The payment window is Razorpay's: the discom never sees your card or bank
details.</p>
<script type="application/json" id="checkout-options">{options}</script>
<script src="{escape(page.script)}"></script>
<script src="{escape(_api_path(CHECKOUT_PATH + '.js'))}"></script>"""
    # Razorpay's checkout: its script, its frames, its API calls; we post nothing.
    csp = (f"default-src 'none'; script-src 'self' {script_origin}; "
           f"frame-src {script_origin} https://api.razorpay.com; "
           f"connect-src {script_origin} https://api.razorpay.com "
           "https://lumberjack.razorpay.com; img-src 'self' data: https:; "
           f"style-src 'unsafe-inline' {script_origin}; form-action 'self' {script_origin}; "
           "frame-ancestors 'none'; base-uri 'none'")
    return _html("Pay your bill", body, 200, csp)


@route(bp, CHECKOUT_PATH + ".js", access=Access.PUBLIC,
       summary="The checkout page's script (opens Standard Checkout with the page's options)")
def checkout_script() -> Response:
    return Response(body=CHECKOUT_SCRIPT, status_code=200, headers={
        "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff"})


@route(bp, CALLBACK_PATH, methods=["POST"], access=Access.PUBLIC,
       content_types=[FORM_CONTENT_TYPE],
       summary="Standard Checkout's return (razorpay_payment_id, razorpay_order_id, "
               "razorpay_signature, or error[...]): verified, applied, then back to the bill")
def checkout_callback() -> Response:
    try:
        form = _form(bp.current_request.raw_body)
        back = PaymentService.default().checkout_returned(form)
    except DomainError as error:
        logger.warning("checkout return refused", extra={"error": error.code})
        return _html("Payment not confirmed", "<h1>Payment not confirmed</h1>"
                     f'<p id="error">{escape(error.message)}</p>', error.status)
    back_to = back.return_url or bill_page_url(back.bill_id)
    location = f"{back_to}&payment={quote(back.outcome)}"
    return Response(body="", status_code=303, headers={"Location": location,
                                                       "Cache-Control": "no-store"})


def _form(raw: bytes | str | None) -> dict[str, str]:
    data = raw.encode() if isinstance(raw, str) else (raw or b"")
    if len(data) > MAX_FORM_BYTES:
        raise PayloadTooLarge("The form is too large.")
    try:
        fields = parse_qs(data.decode("utf-8"), max_num_fields=20)
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidInput("The form could not be read.") from error
    return {name: values[-1][:2000] for name, values in fields.items()}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _api_path(path: str) -> str:
    from functions.core.settings import get_settings

    return get_settings().api_base_url.rstrip("/") + path


_PAGE_STYLE = ("body{font-family:system-ui,sans-serif;background:#f4f6fb;margin:0;padding:2rem;"
               "color:#1d2433}main{max-width:28rem;margin:auto;background:#fff;"
               "border-radius:12px;padding:1.5rem 2rem}.amount{font-size:2rem;font-weight:700}"
               "button{font-size:1rem;padding:.6rem 1.2rem;border-radius:6px;border:0;"
               "background:#1f6feb;color:#fff;cursor:pointer;margin-right:1rem}"
               ".note{font-size:.85rem;color:#5a6275}")


def _html(title: str, body: str, status: int = 200, csp: str | None = None) -> Response:
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_PAGE_STYLE}</style></head>"
            f"<body><main>{body}</main></body></html>")
    return Response(body=html, status_code=status, headers={
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": csp or ("default-src 'none'; style-src 'unsafe-inline'; "
                                           "frame-ancestors 'none'; base-uri 'none'"),
        "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store"})


# ---- the payer's view -----------------------------------------------------------------


@route(bp, "/payments/orders/{order_id}", access=Access.USER, response=OrderStatusView,
       summary="A payment order's status (its payer, or an admin)")
def order_status(order_id: str, caller: Caller) -> OrderStatusView:
    return PaymentService.default().order_status(caller, order_id)


@route(bp, "/bills/{bill_id}/payments", access=Access.USER, response=list[PaymentView],
       summary="Payments and payment attempts of a bill, with their refunds (its payer, or "
               "an admin)")
def bill_payments(bill_id: str, caller: Caller) -> list[PaymentView]:
    return PaymentService.default().payments_for_bill(caller, bill_id)


@route(bp, "/bills/{bill_id}/upi", access=Access.USER, response=UpiView,
       summary="The bill's UPI payment link (upi://pay with the discom's VPA, the exact "
               "amount due and the bill id as reference) and its QR code")
def bill_upi(bill_id: str, caller: Caller) -> UpiView:
    bill = BillRepository().get(bill_id)
    if bill is None or (bill.payer_id != caller.user_id and not caller.is_admin):
        raise NotFound("No such bill.")
    link = bill_upi_link(bill.bill_id, period_label(bill.period), bill.amount_due)
    if bill.status == "paid" or link is None:
        raise NotFound("This bill has no UPI payment to make.")
    vpa = link.split("pa=", 1)[1].split("&", 1)[0]
    return UpiView(bill_id=bill.bill_id, amount=from_paise(to_paise(bill.amount_due)), vpa=vpa,
                   link=link, qr_svg=qr_data_uri(link))


@route(bp, "/me/balance", access=Access.CUSTOMER, response=BalanceView,
       summary="What the caller owes: every unpaid bill they pay, and the sum")
def my_balance(caller: Caller) -> BalanceView:
    return PaymentService.default().outstanding_balance(caller.user_id)


@route(bp, "/payments/webhook", methods=["POST"], access=Access.PUBLIC, response=WebhookResult,
       summary="Razorpay's webhook: X-Razorpay-Signature, HMAC-SHA256 of the raw body with "
               "the webhook secret")
def payment_webhook() -> WebhookResult:
    request = bp.current_request
    raw = request.raw_body or b""
    raw_body = raw.encode() if isinstance(raw, str) else raw
    if len(raw_body) > MAX_WEBHOOK_BYTES:
        raise PayloadTooLarge("Webhook body too large.")
    return PaymentService.default().handle_webhook(dict(request.headers), raw_body)


# ---- admins ---------------------------------------------------------------------------


@route(bp, "/admin/bills/{bill_id}/offline-payments", methods=["POST"], access=Access.ADMIN,
       body=OfflinePayment, response=PaymentView, status=201,
       summary="Record a cash or cheque payment of the bill's amount due, with its reference")
def record_offline_payment(bill_id: str, caller: Caller, body: OfflinePayment) -> PaymentView:
    return PaymentService.default().record_offline_payment(caller, bill_id, body.method,
                                                           body.reference)


@route(bp, "/admin/payments/{payment_id}/refunds", methods=["POST"], access=Access.ADMIN,
       body=AdminRefund, response=RefundView, status=201,
       summary="Refund a captured gateway payment in full or in part, with a reason")
def refund_payment(payment_id: str, caller: Caller, body: AdminRefund) -> RefundView:
    amount = None if body.amount is None else to_paise(body.amount)
    return PaymentService.default().admin_refund(caller, payment_id, amount, body.reason,
                                                 body.request_id)


@route(bp, "/admin/payments/reconciliation", access=Access.ADMIN, query=ReconciliationQuery,
       response=ReconciliationView,
       summary="The reconciliation with the gateway of one IST day (yesterday by default)")
def reconciliation(caller: Caller, query: ReconciliationQuery) -> ReconciliationView:
    return reconciliation_view(query.day or yesterday_ist(utcnow()))


@route(bp, "/admin/payments/reconciliation", methods=["POST"], access=Access.ADMIN,
       body=ReconcileDay, response=ReconciliationView,
       summary="Reconcile one IST day with the gateway now (what the nightly job does)")
def run_reconciliation(caller: Caller, body: ReconcileDay) -> ReconciliationView:
    now = utcnow()
    return reconcile(body.day or yesterday_ist(now), PaymentService.default(), now)


# 22:00 UTC is 03:30 IST: the IST day before is over, and the gateway's lists are complete.
@bp.schedule(Cron(0, 22, "*", "*", "?", "*"), name="payments_reconcile",
             description="Reconcile yesterday's (IST) payments and settlements with the gateway")
def payments_reconcile(event: Any) -> dict[str, Any]:
    now = utcnow()
    view = reconcile(yesterday_ist(now), PaymentService.default(), now)
    totals = view.totals
    return {"day": view.day.isoformat(),
            "open": totals.open_mismatches if totals else 0,
            "repaired": totals.repaired if totals else 0}


@route(bp, "/admin/bills/mark-overdue", methods=["POST"], access=Access.ADMIN,
       response=OverdueRunView, status=202,
       summary="Queue the overdue sweep now (the nightly schedule does the same): issued "
               "bills past their due date become overdue over the next minutes, one page per "
               "shard at a time, each with the late surcharge once (safe to repeat)")
def run_mark_overdue(caller: Caller) -> OverdueRunView:
    started = start_sweep(utcnow())
    return OverdueRunView(sweep_id=started.sweep_id, as_of=started.as_of,
                          shards_queued=started.shards)


@route(bp, "/admin/defaulters", access=Access.ADMIN, query=DefaulterQuery,
       response=DefaulterList,
       summary="One page of payers who owe on overdue bills (next page: ?cursor=)")
def defaulters(caller: Caller, query: DefaulterQuery) -> DefaulterList:
    listing, _ = list_defaulters(query, utcnow())
    return listing


@route(bp, "/admin/defaulters/csv", access=Access.ADMIN, query=DefaulterQuery,
       summary="One page of the defaulters list as CSV (a row per overdue bill); the next "
               "page's cursor is in the X-Next-Cursor and Link headers")
def defaulters_export(caller: Caller, query: DefaulterQuery) -> Response:
    body, listing = defaulters_csv_page(query, utcnow())
    filename = f"defaulters-{listing.as_of.isoformat()}.csv"
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    }
    if listing.cursor:
        params = {k: str(v) for k, v in query.model_dump(exclude_none=True).items()}
        params["cursor"] = listing.cursor
        headers["X-Next-Cursor"] = listing.cursor
        headers["Link"] = f'</admin/defaulters/csv?{urlencode(params)}>; rel="next"'
    return Response(body=body, status_code=200, headers=headers)


@route(bp, "/admin/defaulters/{payer_id}", access=Access.ADMIN, query=DefaulterBillsQuery,
       response=DefaulterDetail,
       summary="One defaulter's overdue bills (404 if the payer owes nothing overdue)")
def defaulter(payer_id: str, caller: Caller, query: DefaulterBillsQuery) -> DefaulterDetail:
    return defaulter_detail(payer_id, query, utcnow())
