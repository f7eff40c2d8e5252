"""Bill PDFs in S3: made once per bill and language, served by a presigned URL.

Key: ``bills/<period>/<bill_id>/<lang>.pdf`` in the stage's bill-documents bucket
(moto's S3 locally). The first request for a bill's PDF renders and stores it; every
later one (or the bill email's attachment) reads the stored object. The URL lives
URL_SECONDS: long enough to start a download, short enough that a forwarded link
stops working the same day.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from functions.core.accounts.users import UserRepository
from functions.core.aws import client
from functions.core.bills.models import BillRecord
from functions.core.bills.repository import BillRepository
from functions.core.i18n import normalise
from functions.core.logs import logger
from functions.core.properties.repositories import PropertyRepository
from functions.core.settings import get_settings

if TYPE_CHECKING:  # fpdf2, Pillow and fontTools load only when a PDF is made
    from functions.core.bills.pdf import BillPdfInput

URL_SECONDS = 300
HISTORY_MONTHS = 12


def bucket() -> str:
    settings = get_settings()
    return settings.bill_documents_bucket or settings.resource_name("bill-documents")


def pdf_key(bill: BillRecord, lang: str) -> str:
    return f"bills/{bill.period}/{bill.bill_id}/{normalise(lang)}.pdf"


def history_of(bill: BillRecord, bills: BillRepository) -> list[tuple[str, int]]:
    """(period, kWh) of the property's last 12 bills up to this one, oldest first: one
    index query (shares of a split month repeat the property's units: counted once)."""
    seen: dict[str, int] = {}
    for other in bills.for_property(bill.property_id, limit=HISTORY_MONTHS * 2):
        if other.period <= bill.period:
            seen.setdefault(other.period, int(other.units))
    return sorted(seen.items())[-HISTORY_MONTHS:]


def bill_pdf_input(bill: BillRecord, lang: str, bills: BillRepository | None = None,
                   users: UserRepository | None = None,
                   properties: PropertyRepository | None = None) -> BillPdfInput:
    from functions.core.bills.pdf import BillPdfInput

    payer = (users or UserRepository()).get(bill.payer_id)
    prop = (properties or PropertyRepository()).get(bill.property_id)
    address = ", ".join(p for p in (prop.line1, prop.line2, prop.city, prop.state, prop.pincode)
                        if p) if prop else ""
    return BillPdfInput(bill, payer.name if payer else "", address,
                        history_of(bill, bills or BillRepository()), normalise(lang))


def stored_pdf(bill: BillRecord, lang: str) -> tuple[str, bytes | None]:
    """The object key of the bill's PDF in `lang`, rendering and storing it if it is
    not there yet. Returns the bytes when it rendered them (else None: already stored)."""
    key = pdf_key(bill, lang)
    s3 = client("s3")
    try:
        s3.head_object(Bucket=bucket(), Key=key)
        return key, None
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
    from functions.core.bills.pdf import render_bill_pdf

    body = render_bill_pdf(bill_pdf_input(bill, lang))
    # Two first requests at once both render; the same bytes land twice: harmless.
    s3.put_object(Bucket=bucket(), Key=key, Body=body, ContentType="application/pdf",
                  ServerSideEncryption="AES256")
    logger.info("bill pdf stored", extra={"bill_id": bill.bill_id, "bytes": len(body)})
    return key, body


def pdf_bytes(bill: BillRecord, lang: str) -> bytes:
    key, body = stored_pdf(bill, lang)
    if body is not None:
        return body
    return bytes(client("s3").get_object(Bucket=bucket(), Key=key)["Body"].read())


def pdf_url(bill: BillRecord, lang: str) -> str:
    """A presigned GET of the stored PDF, valid URL_SECONDS, downloaded as a file."""
    key, _ = stored_pdf(bill, lang)
    filename = f"electricity-bill-{bill.period}-{normalise(lang)}.pdf"
    return str(client("s3").generate_presigned_url(
        "get_object", ExpiresIn=URL_SECONDS,
        Params={"Bucket": bucket(), "Key": key,
                "ResponseContentType": "application/pdf",
                "ResponseContentDisposition": f'attachment; filename="{filename}"'}))
