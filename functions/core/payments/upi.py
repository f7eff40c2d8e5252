"""UPI on the bill: a `upi://pay` link and its QR code.

The link follows NPCI's UPI linking specification: `pa` the discom's UPI id
(VPA), `pn` the payee name, `am` the exact amount due in rupees with two
decimals, `cu` INR, `tr` the bill id (the transaction reference that comes back
with the payment, so the gateway's report names the bill), `tn` a note the
payer sees. Any UPI app (BHIM, Google Pay, PhonePe, Paytm, a bank's app) pays it
when scanned or tapped.

The QR code is an SVG (segno, error correction M), shown on the bill page and
its print view; the bill email carries the link.
"""

from __future__ import annotations

import base64
import io
from decimal import Decimal
from urllib.parse import quote

import segno

from functions.core.payments.config import PaymentSettings, payment_settings

MAX_NOTE = 50  # UPI apps cut longer notes
QUIET_ZONE = 2


def upi_link(*, vpa: str, payee: str, amount: Decimal, reference: str, note: str) -> str:
    """`upi://pay?...` for exactly `amount` rupees; parameters percent-encoded."""
    if amount <= 0:
        raise ValueError("a UPI request must be for a positive amount")
    params = [("pa", vpa), ("pn", payee), ("am", f"{amount:.2f}"), ("cu", "INR"),
              ("tr", reference), ("tn", note[:MAX_NOTE])]
    return "upi://pay?" + "&".join(f"{k}={quote(v, safe='@.-_')}" for k, v in params)


def bill_upi_link(bill_id: str, period_text: str, amount_due: Decimal,
                  settings: PaymentSettings | None = None) -> str | None:
    """The bill's UPI link, or None if the stage has no VPA or nothing is due."""
    settings = settings or payment_settings()
    if not settings.vpa or amount_due <= 0:
        return None
    return upi_link(vpa=settings.vpa, payee=settings.upi_payee_name, amount=amount_due,
                    reference=bill_id, note=f"Electricity bill {period_text}")


def qr_svg(data: str) -> str:
    """The QR code of `data` as a standalone SVG document (black modules, 2-module border)."""
    buffer = io.BytesIO()
    segno.make(data, error="m", micro=False).save(
        buffer, kind="svg", scale=4, border=QUIET_ZONE, dark="#000", light="#fff",
        xmldecl=False, title="UPI payment QR code")
    return buffer.getvalue().decode()


def qr_data_uri(data: str) -> str:
    """The same SVG as a data: URI, for an <img> (the portal's CSP allows img-src data:)."""
    return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(data).encode()).decode()
