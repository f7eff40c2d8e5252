"""The stage's payment gateway, chosen by configuration (`PAYMENT_PROVIDER`).

Razorpay is the one gateway: against Razorpay itself in AWS (test keys first,
then live keys; docs/payments.md) and against the local sandbox on a laptop
and in CI (`RAZORPAY_API_BASE_URL`, set for the local stage by config.py).
Another gateway would be one more entry here behind the same PaymentProvider.
"""

from __future__ import annotations

from collections.abc import Callable

from functions.core.payments.config import payment_settings
from functions.core.payments.provider import PaymentProvider
from functions.core.payments.razorpay_gateway import RazorpayGateway

GATEWAYS: dict[str, Callable[[], PaymentProvider]] = {
    "razorpay": RazorpayGateway,
}


def current_gateway() -> PaymentProvider:
    name = payment_settings().provider
    try:
        return GATEWAYS[name]()
    except KeyError:
        raise RuntimeError(f"PAYMENT_PROVIDER={name!r} is not a known gateway") from None
