"""The sandbox gateway delivers webhooks as Razorpay does: a delivery the merchant
does not take (no answer, a 5xx) is sent again later, the same signed body and the
same X-Razorpay-Event-Id, so the merchant can tell a retry from a new event. The
merchant here is a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from functions.core.payments import sandbox as sandbox_module
from functions.core.payments.provider import hmac_sha256_hex
from functions.core.payments.sandbox import SandboxGateway
from functions.core.payments.secrets import GatewayKeys

KEYS = GatewayKeys("rzp_test_sandbox", "key-secret", "webhook-secret")


class Merchant:
    """Answers each webhook with the next status of `answers` (then 200), and keeps
    what it was sent."""

    def __init__(self, answers: list[int]) -> None:
        self.answers = answers
        self.received: list[tuple[bytes, dict[str, str], int]] = []
        merchant = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = merchant.answers.pop(0) if merchant.answers else 200
                merchant.received.append((body, dict(self.headers), status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/payments/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_module, "WEBHOOK_RETRY_SECONDS", (0.05, 0.1, 0.2))


@pytest.fixture
def merchant() -> Iterator[Merchant]:
    merchant = Merchant([])
    yield merchant
    merchant.server.shutdown()


def gateway(url: str) -> SandboxGateway:
    return SandboxGateway(keys=lambda: KEYS, webhook_url=lambda: url)


def test_a_webhook_answered_with_a_server_error_is_sent_again_the_same(quick_retries, merchant):
    merchant.answers = [503, 500]
    first = gateway(merchant.url).deliver("refund.processed", {"refund": {"id": "rfnd_1"}})

    assert first.status_code == 503 and not first.accepted
    merchant.wait_for(3)
    bodies = {body for body, _, _ in merchant.received}
    event_ids = {headers["X-Razorpay-Event-Id"] for _, headers, _ in merchant.received}
    assert [status for _, _, status in merchant.received] == [503, 500, 200]
    assert len(bodies) == 1 and len(event_ids) == 1  # a retry, not a new event
    body = bodies.pop()
    assert json.loads(body)["event"] == "refund.processed"
    for _, headers, _ in merchant.received:
        assert headers["X-Razorpay-Signature"] == hmac_sha256_hex(b"webhook-secret", body)
    time.sleep(0.5)
    assert len(merchant.received) == 3  # taken: no more attempts


def test_a_merchant_that_is_down_gets_the_webhook_once_it_is_back(quick_retries):
    gone = Merchant([])
    gone.server.shutdown()
    gone.server.server_close()  # its port refuses connections now
    where = {"url": gone.url}
    account = SandboxGateway(keys=lambda: KEYS, webhook_url=lambda: where["url"])

    first = account.deliver("payment.captured", {"payment": {"id": "pay_1"}})
    assert first.status_code is None and "could not reach" in first.detail
    back = Merchant([])
    where["url"] = back.url  # the merchant is back (on a new port) before the first retry
    try:
        back.wait_for(1)
        assert [json.loads(body)["event"] for body, _, _ in back.received] == [
            "payment.captured"]
    finally:
        back.server.shutdown()


def test_retries_stop_after_the_last_wait(quick_retries, merchant):
    merchant.answers = [500] * 10
    gateway(merchant.url).deliver("refund.processed", {"refund": {"id": "rfnd_2"}})

    merchant.wait_for(4)
    time.sleep(0.6)
    assert len(merchant.received) == 4  # the first attempt and three retries


def test_events_while_the_webhook_is_off_are_dropped(quick_retries, merchant):
    account = gateway(merchant.url)
    account.webhooks_enabled = False
    dropped = account.deliver("refund.processed", {"refund": {"id": "rfnd_3"}})
    account.webhooks_enabled = True  # on again: what it missed is not sent

    assert dropped.status_code is None and dropped.detail == "the webhook is disabled"
    time.sleep(0.5)
    assert merchant.received == []
    account.deliver("refund.processed", {"refund": {"id": "rfnd_4"}})
    merchant.wait_for(1)
    assert [json.loads(body)["payload"]["refund"]["entity"]["id"]
            for body, _, _ in merchant.received] == ["rfnd_4"]
