"""The Razorpay adapter against Razorpay's documented request and response
shapes, through the official SDK with a recording HTTP session in place of the
network (the SDK's own `session` option): what it sends (paths, methods, Basic
auth, JSON bodies, query parameters) and how it reads Razorpay's entities,
collections, errors and webhook payloads (the samples of Razorpay's API
reference and webhook documentation)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
import razorpay
import requests

from functions.core.errors import InvalidInput
from functions.core.payments.config import PaymentSettings
from functions.core.payments.provider import GatewayFailure, GatewayRefused, OrderRequest
from functions.core.payments.razorpay_gateway import (
    RazorpayGateway,
    TimeoutSession,
    ist_day_window,
    parse_event,
)
from functions.core.payments.secrets import GatewayKeys

KEYS = GatewayKeys("rzp_test_1DP5mmOlF5G5ag", "thisisasecret", "webhooksecret")

# Razorpay API reference, "Create an Order" response.
ORDER = {"id": "order_IluGWxBm9U8zJ8", "entity": "order", "amount": 138000, "amount_paid": 0,
         "amount_due": 138000, "currency": "INR", "receipt": "BILL-prop_1-2026-10",
         "offer_id": None, "status": "created", "attempts": 0,
         "notes": {"bill_id": "BILL-prop_1-2026-10"}, "created_at": 1642662092}
# "Fetch a Payment With ID" (a UPI payment), amounts in paise, times in epoch seconds.
PAYMENT = {"id": "pay_DG4ZdRK8ZnXC3k", "entity": "payment", "amount": 138000,
           "currency": "INR", "status": "captured", "order_id": "order_IluGWxBm9U8zJ8",
           "invoice_id": None, "international": False, "method": "upi",
           "amount_refunded": 0, "refund_status": None, "captured": True,
           "description": "Electricity bill", "card_id": None, "bank": None, "wallet": None,
           "vpa": "gaurav.kumar@exampleupi", "email": "gaurav.kumar@example.com",
           "contact": "+919000090000", "notes": [], "fee": 2760, "tax": 421,
           "error_code": None, "error_description": None, "error_source": None,
           "error_step": None, "error_reason": None,
           "acquirer_data": {"rrn": "313224185468"}, "created_at": 1567674599}
# "Refund Payments" response (razorpay-python tests/mocks/fake_refund.json).
REFUND = {"id": "rfnd_FP8DDKxqJif6ca", "entity": "refund", "amount": 300100,
          "currency": "INR", "payment_id": "pay_FIKOnlyii5QGNx",
          "notes": {"notes_key_1": "Beam me up Scotty.", "notes_key_2": "Engage"},
          "receipt": "#126", "acquirer_data": {"arn": "10000000000000"},
          "created_at": 1597078124, "status": "processed", "speed_processed": "normal",
          "speed_requested": "optimum"}
# "Fetch All Settlements" (razorpay-python tests/mocks/settlement_collection.json, one item).
SETTLEMENTS = {"entity": "collection", "count": 1, "items": [
    {"id": "setl_7IZKKI4Pnt2kEe", "entity": "settlement", "amount": 50000,
     "status": "processed", "fees": 123, "tax": 12, "utr": "RZRP173069230703",
     "created_at": 1509622307}]}
# "Settlement Recon" (documents/settlement.md), a payment line and a refund line.
RECON = {"entity": "collection", "count": 2, "items": [
    {"entity_id": "pay_DEXrnipqTmWVGE", "type": "payment", "debit": 0, "credit": 97100,
     "amount": 100000, "currency": "INR", "fee": 2900, "tax": 0, "on_hold": False,
     "settled": True, "created_at": 1567692556, "settled_at": 1568176960,
     "settlement_id": "setl_DGlQ1Rj8os78Ec", "posted_at": None, "credit_type": "default",
     "description": "Recurring Payment via Subscription", "notes": "{}", "payment_id": None,
     "settlement_utr": "1568176960vxp0rj", "order_id": "order_DEXrnRiR3SNDHA",
     "order_receipt": None, "method": "card"},
    {"entity_id": "rfnd_DGRcGzZSLyEdg1", "type": "refund", "debit": 242500, "credit": 0,
     "amount": 242500, "currency": "INR", "fee": 0, "tax": 0, "on_hold": False,
     "settled": True, "created_at": 1568107224, "settled_at": 1568176960,
     "settlement_id": "setl_DGlQ1Rj8os78Ec", "posted_at": None, "credit_type": "default",
     "description": None, "notes": "{}", "payment_id": "pay_DEXq1pACSqFxtS",
     "settlement_utr": "1568176960vxp0rj", "order_id": "order_DEXpmZgffXNvuI",
     "order_receipt": None, "method": "card"}]}
# Razorpay's error body (razorpay-python tests/mocks/bad_request_error.json shape).
BAD_REQUEST = {"error": {"code": "BAD_REQUEST_ERROR",
                         "description": "The refund amount provided is greater than amount "
                                        "captured", "field": "amount"}}


class Recorder(requests.Session):
    """Answers the SDK's requests from a table and remembers them."""

    def __init__(self, answers: dict[tuple[str, str], list[tuple[int, Any]]]) -> None:
        super().__init__()
        self.answers = answers
        self.calls: list[requests.PreparedRequest] = []

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        method, url = str(args[0]), str(args[1])
        prepared = requests.Request(method.upper(), url, params=kwargs.get("params"),
                                    data=kwargs.get("data"), headers=kwargs.get("headers"),
                                    auth=kwargs.get("auth")).prepare()
        self.calls.append(prepared)
        path = requests.utils.urlparse(str(prepared.url)).path
        queue = self.answers.get((method.upper(), path))
        assert queue, f"unexpected {method} {path}"
        status, body = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(body, Exception):
            raise body
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        return response


def adapter(answers: dict[tuple[str, str], list[tuple[int, Any]]],
            base_url: str | None = "https://api.razorpay.com") -> tuple[RazorpayGateway, Recorder]:
    session = Recorder(answers)

    def factory(keys: GatewayKeys, url: str | None) -> Any:
        options = {"base_url": url} if url else {}
        return razorpay.Client(session=session, auth=(keys.key_id, keys.key_secret), **options)

    settings = PaymentSettings(RAZORPAY_API_BASE_URL=base_url or "")
    return RazorpayGateway(keys=lambda: KEYS, settings=settings, client_factory=factory), session


def body_of(call: requests.PreparedRequest) -> Any:
    return json.loads(call.body if isinstance(call.body, str | bytes) else b"{}")


def query_of(call: requests.PreparedRequest) -> str:
    return str(requests.utils.urlparse(str(call.url)).query)


def basic_auth(call: requests.PreparedRequest) -> tuple[str, str]:
    header = str(call.headers["Authorization"])
    assert header.startswith("Basic ")
    key_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    return key_id, secret


def test_create_order_sends_razorpays_order_request():
    gateway, session = adapter({("POST", "/v1/orders"): [(200, ORDER)]})
    order = gateway.create_order(OrderRequest(bill_id="BILL-prop_1-2026-10", amount_paise=138000,
                                              description="Electricity bill Oct 2026",
                                              method="upi"))
    assert (order.order_id, order.amount_paise, order.currency) == ("order_IluGWxBm9U8zJ8",
                                                                    138000, "INR")
    [call] = session.calls
    assert call.method == "POST" and call.url == "https://api.razorpay.com/v1/orders"
    assert basic_auth(call) == (KEYS.key_id, KEYS.key_secret)
    assert call.headers["Content-type"] == "application/json"
    assert str(call.headers["User-Agent"]).startswith("Razorpay-Python/")
    body = body_of(call)
    assert body == {"amount": 138000, "currency": "INR", "receipt": "BILL-prop_1-2026-10",
                    "payment_capture": 1,
                    "notes": {"bill_id": "BILL-prop_1-2026-10",
                              "description": "Electricity bill Oct 2026"}}


def test_the_sdk_goes_where_the_stage_points_it():
    gateway, session = adapter({("GET", "/sandbox-razorpay/v1/payments/pay_DG4ZdRK8ZnXC3k"):
                                [(200, PAYMENT)]},
                               base_url="http://127.0.0.1:8000/sandbox-razorpay")
    payment = gateway.fetch_payment("pay_DG4ZdRK8ZnXC3k")
    assert session.calls[0].url == ("http://127.0.0.1:8000/sandbox-razorpay/v1/payments/"
                                    "pay_DG4ZdRK8ZnXC3k")
    assert payment is not None and payment.vpa == "gaurav.kumar@exampleupi"
    assert (payment.amount_paise, payment.status, payment.method) == (138000, "captured", "upi")
    assert payment.created_at == datetime(2019, 9, 5, 9, 9, 59, tzinfo=UTC)


def test_zero_or_negative_orders_and_refunds_are_refused_before_the_gateway():
    gateway, session = adapter({})
    for amount in (0, -100):
        with pytest.raises(InvalidInput):
            gateway.create_order(OrderRequest(bill_id="B", amount_paise=amount,
                                              description="x", method="upi"))
        with pytest.raises(InvalidInput):
            gateway.refund("pay_DG4ZdRK8ZnXC3k", amount, "auto-pay_1", "why")
    assert session.calls == []


def test_an_order_for_another_amount_is_not_accepted():
    gateway, _ = adapter({("POST", "/v1/orders"): [(200, dict(ORDER, amount=100))]})
    with pytest.raises(GatewayFailure):
        gateway.create_order(OrderRequest(bill_id="BILL-prop_1-2026-10", amount_paise=138000,
                                          description="x", method="upi"))


def test_refund_sends_amount_speed_receipt_and_our_key_in_notes():
    path = "/v1/payments/pay_FIKOnlyii5QGNx/refund"
    gateway, session = adapter({("POST", path): [(200, REFUND)]})
    refund = gateway.refund("pay_FIKOnlyii5QGNx", 300100, "admin-0123456789abcdef", "Overbilled")
    assert (refund.refund_id, refund.amount_paise, refund.status) == ("rfnd_FP8DDKxqJif6ca",
                                                                      300100, "processed")
    assert refund.notes["notes_key_2"] == "Engage"
    body = body_of(session.calls[0])
    assert body == {"amount": 300100, "speed": "normal", "receipt": "admin-0123456789abcdef",
                    "notes": {"refund_key": "admin-0123456789abcdef", "reason": "Overbilled"}}


def test_refunds_of_a_payment_read_razorpays_collection():
    path = "/v1/payments/pay_FIKOnlyii5QGNx/refunds"
    gateway, session = adapter({("GET", path): [(200, {"entity": "collection", "count": 1,
                                                       "items": [REFUND]})]})
    [refund] = gateway.refunds_of("pay_FIKOnlyii5QGNx")
    assert refund.payment_id == "pay_FIKOnlyii5QGNx"
    assert "count=100" in query_of(session.calls[0])


def test_gateway_errors_map_to_refused_or_failure():
    path = "/v1/payments/pay_FIKOnlyii5QGNx/refund"
    gateway, _ = adapter({("POST", path): [(400, BAD_REQUEST)]})
    with pytest.raises(GatewayRefused, match="greater than amount captured"):
        gateway.refund("pay_FIKOnlyii5QGNx", 999999, "k", "r")
    gateway, _ = adapter({("POST", path): [(500, {"error": {"code": "SERVER_ERROR",
                                                             "description": "oops"}})]})
    with pytest.raises(GatewayFailure):
        gateway.refund("pay_FIKOnlyii5QGNx", 100, "k", "r")
    gateway, _ = adapter({("POST", path): [(0, requests.ConnectionError("down"))]})
    with pytest.raises(GatewayFailure):
        gateway.refund("pay_FIKOnlyii5QGNx", 100, "k", "r")
    # "The id provided does not exist" is a 400 from Razorpay: no such payment.
    gateway, _ = adapter({("GET", "/v1/payments/pay_nope"): [(400, {"error": {
        "code": "BAD_REQUEST_ERROR", "description": "The id provided does not exist"}})]})
    assert gateway.fetch_payment("pay_nope") is None


def test_a_day_of_payments_is_read_page_by_page_within_the_ist_day():
    page = {"entity": "collection", "count": 100, "items": [PAYMENT] * 100}
    last = {"entity": "collection", "count": 1, "items": [dict(PAYMENT, status="failed")]}
    gateway, session = adapter({("GET", "/v1/payments"): [(200, page), (200, last)]})
    start, end = ist_day_window(date(2026, 10, 20))
    assert start == datetime(2026, 10, 19, 18, 30, tzinfo=UTC)
    payments = gateway.payments_between(start, end)
    assert len(payments) == 101 and payments[-1].status == "failed"
    first, second = (query_of(c) for c in session.calls)
    params = dict(p.split("=") for p in first.split("&"))
    assert params == {"from": str(int(start.timestamp())), "to": str(int(end.timestamp()) - 1),
                      "count": "100", "skip": "0"}
    assert "skip=100" in second


def test_settlements_and_the_settlement_report():
    gateway, session = adapter({("GET", "/v1/settlements"): [(200, SETTLEMENTS)],
                                ("GET", "/v1/settlements/recon/combined"): [(200, RECON)]})
    start, end = ist_day_window(date(2017, 11, 2))
    [settlement] = gateway.settlements_between(start, end)
    assert (settlement.amount_paise, settlement.fees_paise, settlement.tax_paise,
            settlement.utr) == (50000, 123, 12, "RZRP173069230703")
    payment_line, refund_line = gateway.settlement_report(date(2019, 9, 11))
    assert (payment_line.type, payment_line.amount_paise, payment_line.fee_paise) == (
        "payment", 100000, 2900)
    assert refund_line.type == "refund" and refund_line.payment_id == "pay_DEXq1pACSqFxtS"
    query = query_of(session.calls[1])
    assert "year=2019" in query and "month=9" in query and "day=11" in query


def test_the_sdk_is_given_a_session_with_a_timeout():
    session = TimeoutSession(timeout=3)
    assert session.default_timeout == 3


def event(name: str, **entities: dict[str, Any]) -> str:
    return json.dumps({"entity": "event", "account_id": "acc_BFQ7uQEaa7j2z7", "event": name,
                       "contains": list(entities),
                       "payload": {k: {"entity": v} for k, v in entities.items()},
                       "created_at": 1567674606})


def test_razorpays_documented_webhook_payloads():
    # order.paid: payment and order entities (Orders webhook events, sample payload).
    paid = parse_event(event("order.paid", payment=PAYMENT,
                             order=dict(ORDER, status="paid", amount_paid=138000,
                                        amount_due=0)), "evt_1")
    assert paid.kind == "payment" and paid.payment is not None
    assert paid.payment.order_id == "order_IluGWxBm9U8zJ8" and paid.payment.money_received
    # payment.failed: status failed with an error description.
    failed = parse_event(event("payment.failed", payment=dict(
        PAYMENT, status="failed", captured=False, error_code="BAD_REQUEST_ERROR",
        error_description="Payment failed", error_reason="payment_failed")))
    assert failed.payment is not None and failed.payment.status == "failed"
    assert failed.payment.error == "Payment failed" and not failed.payment.money_received
    # refund.processed: refund and payment entities (Refunds webhook events, sample payload).
    processed = parse_event(event("refund.processed", refund=REFUND,
                                  payment=dict(PAYMENT, amount_refunded=300100)))
    assert processed.kind == "refund" and processed.refund is not None
    assert processed.refund.status == "processed" and processed.refund.amount_paise == 300100
    # A UPI payment without an order names its bill in notes (the link's reference).
    upi = parse_event(event("payment.captured", payment=dict(
        PAYMENT, order_id=None, notes={"reference": "BILL-prop_1-2026-10"})))
    assert upi.payment is not None and upi.payment.order_id is None
    assert upi.payment.reference == "BILL-prop_1-2026-10"


def test_standard_checkout_options():
    gateway, _ = adapter({})
    options = gateway.checkout_options("order_IluGWxBm9U8zJ8", 138000, "INR", "Bill Oct 2026",
                                       callback_url="https://api.example.in/cb",
                                       cancel_url="https://portal.example.in/bill.html",
                                       prefill={"email": "a@b.in"})
    assert options["key"] == KEYS.key_id and options["order_id"] == "order_IluGWxBm9U8zJ8"
    assert options["amount"] == 138000 and options["redirect"] is True
    assert options["callback_url"] == "https://api.example.in/cb"
    assert "secret" not in json.dumps(options).lower() and KEYS.key_secret not in str(options)
