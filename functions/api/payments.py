"""Payment routes: paying a bill, the gateway's webhook, offline payments,
overdue bills, defaulters and the customer's outstanding balance."""

from __future__ import annotations

from urllib.parse import quote

from chalice import Blueprint, Response

from functions.api.http import Access, route
from functions.core.accounts.sessions import Caller
from functions.core.clock import utcnow
from functions.core.errors import PayloadTooLarge
from functions.core.payments.defaulters import defaulters_csv, list_defaulters
from functions.core.payments.overdue import mark_overdue
from functions.core.payments.provider import PaymentProvider
from functions.core.payments.sandbox import SandboxProvider
from functions.core.payments.schemas import (
    BalanceView,
    DefaulterList,
    DefaulterQuery,
    OfflinePayment,
    OrderStatusView,
    OrderView,
    OverdueRunView,
    PayBill,
    PaymentView,
    WebhookResult,
)
from functions.core.payments.service import PaymentService
from functions.core.settings import get_settings

bp = Blueprint(__name__)

MAX_WEBHOOK_BYTES = 64 * 1024


def payment_provider() -> PaymentProvider:
    """The gateway in use. Locally that is the sandbox, served by this same API
    (functions/api/sandbox_gateway.py) at API_BASE_URL. A real gateway adapter
    would be chosen here."""
    return SandboxProvider(base_url=get_settings().api_base_url)


def bill_page_url(bill_id: str) -> str:
    """Where the gateway sends the payer back to: the bill on the portal."""
    return f"{get_settings().portal_origin}/bill.html?id={quote(bill_id, safe='')}"


@route(bp, "/bills/{bill_id}/pay", methods=["POST"], access=Access.CUSTOMER, body=PayBill,
       response=OrderView, status=201,
       summary="Start paying a bill: creates a gateway order for the bill's amount due and "
               "returns the checkout page to send the payer to")
def pay_bill(bill_id: str, caller: Caller, body: PayBill) -> OrderView:
    return PaymentService.default().start_payment(caller, bill_id, body.method,
                                                  payment_provider(), bill_page_url(bill_id))


@route(bp, "/payments/orders/{order_id}", access=Access.USER, response=OrderStatusView,
       summary="A payment order's status (its payer, or an admin)")
def order_status(order_id: str, caller: Caller) -> OrderStatusView:
    return PaymentService.default().order_status(caller, order_id)


@route(bp, "/bills/{bill_id}/payments", access=Access.USER, response=list[PaymentView],
       summary="Payments and payment attempts of a bill (its payer, or an admin)")
def bill_payments(bill_id: str, caller: Caller) -> list[PaymentView]:
    return PaymentService.default().payments_for_bill(caller, bill_id)


@route(bp, "/me/balance", access=Access.CUSTOMER, response=BalanceView,
       summary="What the caller owes: every unpaid bill they pay, and the sum")
def my_balance(caller: Caller) -> BalanceView:
    return PaymentService.default().outstanding_balance(caller.user_id)


@route(bp, "/payments/webhook", methods=["POST"], access=Access.PUBLIC, response=WebhookResult,
       summary="The payment gateway's signed webhook (HMAC-SHA-256 of the body)")
def payment_webhook() -> WebhookResult:
    request = bp.current_request
    raw = request.raw_body or b""
    raw_body = raw.encode() if isinstance(raw, str) else raw
    if len(raw_body) > MAX_WEBHOOK_BYTES:
        raise PayloadTooLarge("Webhook body too large.")
    return PaymentService.default().handle_webhook(payment_provider(), dict(request.headers),
                                                   raw_body)


@route(bp, "/admin/bills/{bill_id}/offline-payments", methods=["POST"], access=Access.ADMIN,
       body=OfflinePayment, response=PaymentView, status=201,
       summary="Record a cash or cheque payment of the bill's amount due, with its reference")
def record_offline_payment(bill_id: str, caller: Caller, body: OfflinePayment) -> PaymentView:
    return PaymentService.default().record_offline_payment(caller, bill_id, body.method,
                                                           body.reference)


@route(bp, "/admin/bills/mark-overdue", methods=["POST"], access=Access.ADMIN,
       response=OverdueRunView,
       summary="Move issued bills past their due date to overdue, adding the late surcharge "
               "once (safe to repeat; a daily schedule can run the same function)")
def run_mark_overdue(caller: Caller) -> OverdueRunView:
    run = mark_overdue(utcnow())
    return OverdueRunView(as_of=run.as_of, marked=len(run.bill_ids), bill_ids=run.bill_ids)


@route(bp, "/admin/defaulters", access=Access.ADMIN, query=DefaulterQuery,
       response=DefaulterList, summary="Payers with bills unpaid after their due date")
def defaulters(caller: Caller, query: DefaulterQuery) -> DefaulterList:
    return list_defaulters(query, utcnow())


@route(bp, "/admin/defaulters/csv", access=Access.ADMIN, query=DefaulterQuery,
       summary="The defaulters list as CSV (one row per overdue bill)")
def defaulters_export(caller: Caller, query: DefaulterQuery) -> Response:
    listing = list_defaulters(query, utcnow())
    filename = f"defaulters-{listing.as_of.isoformat()}.csv"
    return Response(body=defaulters_csv(listing), status_code=200, headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    })

