"""The bill as a PDF (fpdf2: pure Python, runs in Lambda), in the payer's language.

Every line of the bill, the consumer number, the meter registers, arrears and the total
payable, the amount after the due date, a 12-month consumption chart and the bill's UPI
QR code (the payments issue's `upi://pay` link, which any UPI app pays). Text is set in
Noto Sans Devanagari (from the `fontpkg-noto-sans-devanagari` wheel: no font file in the
repo), which also carries Latin letters, digits and ₹; HarfBuzz (uharfbuzz) shapes the
Devanagari conjuncts and vowel signs. fpdf2 embeds only the glyphs used (a subset).

The labels are English msgids (LABELS below) translated from the same gettext
catalogues as the portal and the emails (`make i18n`; docs/languages.md).

The PDF is the bill as issued (what a payment or a late surcharge changes later is on
the portal, not in it), so it is made once per bill and language, stored in S3
(documents.py) and served by a short-lived presigned URL.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import segno
from fpdf import FPDF

from functions.core.bills.models import BillRecord
from functions.core.bills.schemas import BillDetail
from functions.core.i18n import format_date_ist, normalise, translator
from functions.core.money import format_inr, from_paise
from functions.core.payments.overdue import surcharge_paise
from functions.core.payments.receipts import period_label
from functions.core.payments.upi import bill_upi_link


def _(message: str) -> str:
    """Marks a label for pybabel (make i18n); translated when a PDF is made."""
    return message


# The labels in English, the msgids of the gettext catalogues (functions/core/locale):
# the PDF says what the bill page, the emails and the SMS say in each language.
LABELS: dict[str, str] = {
    "title": _("Electricity bill"), "consumer_number": _("Consumer number"),
    "name": _("Name"), "address": _("Address"), "period": _("Billing period"),
    "bill_id": _("Bill number"), "issued": _("Bill date"), "due": _("Due date"),
    "meter": _("Meter"), "previous": _("Previous reading"), "current": _("Current reading"),
    "units": _("Units (kWh)"), "charges": _("Charges"), "quantity": _("Quantity"),
    "rate": _("Rate"), "amount": _("Amount"), "bill_total": _("This bill"),
    "arrears": _("Arrears"), "arrears_surcharge": _("of which late-payment surcharge"),
    "total_payable": _("Total payable"), "after_due": _("Payable after the due date"),
    "amount_due": _("Amount due now"), "chart": _("Your consumption, last 12 months (kWh)"),
    "upi": _("Scan to pay by UPI"),
    "estimated": _("Estimated bill: the meter did not answer; the next actual reading "
                   "corrects it."),
    "paid": _("Paid"),
    "daily": _("Read from the daily snapshot of {day} (00:00 IST): the meter did not "
               "answer the billing run with a usable reading."),
}


def labels(lang: str | None) -> dict[str, str]:
    """The PDF's labels in `lang`, from its catalogue (English for an unknown one)."""
    gettext = translator(lang).gettext
    return {key: gettext(message) for key, message in LABELS.items()}


FONT = "Noto"


@lru_cache(maxsize=1)
def font_path() -> Path:
    from fontpkg_noto_sans_devanagari import ROOT

    return next((Path(ROOT) / "files").glob("NotoSansDevanagari*.ttf"))


@lru_cache(maxsize=1)
def static_font() -> Path:
    """The variable font fixed at regular weight and width, made once per process (and
    kept in the temp dir, so a warm Lambda or a second process skips it): instancing
    takes seconds, a PDF with the static font a tenth of one."""
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    source = font_path()
    target = Path(tempfile.gettempdir()) / f"noto-devanagari-400-{source.stat().st_size}.ttf"
    if not target.exists():
        instance = instancer.instantiateVariableFont(TTFont(str(source)),
                                                     {"wght": 400, "wdth": 100})
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        instance.save(str(partial))
        partial.replace(target)  # atomic: a concurrent reader never sees half a font
    return target


@dataclass(frozen=True)
class BillPdfInput:
    bill: BillRecord
    payer_name: str
    address: str
    history: Sequence[tuple[str, int]]  # (period "YYYY-MM", kWh), oldest first, <= 12
    lang: str = "en"


def amounts_on(bill: BillRecord) -> dict[str, Decimal]:
    """Every amount the PDF prints besides the lines (the test looks for each)."""
    arrears = int(bill.arrears_paise or 0)
    payable = int(bill.total_paise) + arrears
    return {"bill_total": bill.amount, "arrears": from_paise(arrears),
            "arrears_surcharge": from_paise(int(bill.arrears_surcharge_paise or 0)),
            "total_payable": from_paise(payable),
            "after_due": from_paise(payable + surcharge_paise(bill))}


def render_bill_pdf(data: BillPdfInput) -> bytes:
    lang = normalise(data.lang)
    text = labels(lang)
    bill, detail = data.bill, BillDetail.of(data.bill)
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_compression(True)
    pdf.set_creator("Discom Smart Billing")
    pdf.set_title(f"{text['title']} {bill.bill_id}")
    pdf.set_lang({"en": "en-IN", "hi": "hi-IN", "mr": "mr-IN"}.get(lang, "en-IN"))
    # One weight: emphasis is by size (a second weight costs another instancing).
    pdf.add_font(FONT, "", str(static_font()))
    pdf.add_font(FONT, "B", str(static_font()))
    pdf.set_text_shaping(True)
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    width = pdf.epw

    def day(value: date | datetime) -> str:
        return format_date_ist(value, lang)

    # Header: who, which connection, when.
    pdf.set_font(FONT, "B", 16)
    pdf.cell(width * 0.6, 9, "Discom Smart Billing")
    pdf.set_font(FONT, "B", 14)
    pdf.cell(width * 0.4, 9, text["title"], align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "B", 12)
    pdf.cell(0, 8, f"{text['consumer_number']}: {bill.consumer_number or '-'}",
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 9.5)
    first = datetime.fromisoformat(bill.share_first_day).date()
    last = datetime.fromisoformat(bill.share_last_day).date()
    facts = [(text["name"], data.payer_name), (text["address"], data.address),
             (text["period"], f"{day(first)} - {day(last)}"), (text["bill_id"], bill.bill_id),
             (text["issued"], day(bill.issued_at)),
             (text["due"], day(datetime.fromisoformat(bill.due_date).date()))]
    for label, value in facts:
        pdf.cell(38, 5.5, label)
        pdf.cell(0, 5.5, value, new_x="LMARGIN", new_y="NEXT")
    if bill.estimated:
        pdf.set_font(FONT, "B", 9.5)
        pdf.multi_cell(0, 5.5, text["estimated"], new_x="LMARGIN", new_y="NEXT")
    if bill.meter_day:  # billed from the daily cycle's read latched at the billing date
        latched = date.fromisoformat(str(bill.meter_day)) + timedelta(days=1)
        pdf.set_font(FONT, "", 9.5)
        pdf.multi_cell(0, 5.5, text["daily"].format(day=day(latched)),
                       new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    # Meter registers.
    _table(pdf, [text["meter"], text["previous"], text["current"], text["units"]],
           [[row.meter_id, _register(row.previous), _register(row.current),
             "" if row.units is None else str(row.units)] for row in detail.registers],
           [0.34, 0.24, 0.24, 0.18])
    pdf.ln(2)

    # Every line of the bill.
    pdf.set_font(FONT, "B", 11)
    pdf.cell(0, 7, text["charges"], new_x="LMARGIN", new_y="NEXT")
    _table(pdf, ["", text["quantity"], text["rate"], text["amount"]],
           [[line.label, " ".join(p for p in (line.quantity, line.unit) if p),
             line.rate or "", format_inr(Decimal(line.amount))]
            for line in detail.line_items], [0.5, 0.18, 0.14, 0.18], right_from=1)

    # Totals: this bill, arrears, total payable, after the due date, due now.
    amounts = amounts_on(bill)
    rows = [("bill_total", False)]
    if amounts["arrears"]:
        rows.append(("arrears", False))
        if amounts["arrears_surcharge"]:
            rows.append(("arrears_surcharge", False))
    rows += [("total_payable", True), ("after_due", False)]
    pdf.ln(1)
    for key, strong in rows:
        pdf.set_font(FONT, "B" if strong else "", 10.5 if strong else 9.5)
        pdf.cell(width * 0.82, 6.5, text[key], align="R")
        pdf.cell(width * 0.18, 6.5, format_inr(amounts[key]), align="R",
                 new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    # The chart (left) and the UPI QR code (right), side by side.
    top = pdf.get_y()
    if top > pdf.h - 75:
        pdf.add_page()
        top = pdf.get_y()
    _chart(pdf, data.history, lang, text["chart"], pdf.l_margin, top, width * 0.66, 55)
    link = bill_upi_link(bill.bill_id, period_label(bill.period), bill.amount)
    if link:
        qr_x = pdf.l_margin + width * 0.72
        pdf.set_xy(qr_x, top)
        pdf.set_font(FONT, "B", 9.5)
        pdf.cell(width * 0.28, 5, text["upi"], align="C")
        pdf.image(_qr_png(link), x=qr_x + (width * 0.28 - 42) / 2, y=top + 6, w=42, h=42,
                  link=link)
    return bytes(pdf.output())


def _register(view: object) -> str:
    if view is None:
        return "-"
    wh = getattr(view, "register_wh", 0)
    note = getattr(view, "note", None)
    kwh = f"{Decimal(int(wh)) / 1000:.3f} kWh"
    return f"{kwh} ({note})" if note else kwh


def _table(pdf: FPDF, head: list[str], rows: list[list[str]], fractions: list[float],
           right_from: int = 1) -> None:
    widths = [pdf.epw * f for f in fractions]
    pdf.set_font(FONT, "B", 9)
    pdf.set_fill_color(235, 239, 245)
    for i, (cell, w) in enumerate(zip(head, widths, strict=True)):
        pdf.cell(w, 6, cell, border="B", align="R" if i >= right_from else "L", fill=True)
    pdf.ln()
    pdf.set_font(FONT, "", 9)
    for row in rows:
        for i, (cell, w) in enumerate(zip(row, widths, strict=True)):
            pdf.cell(w, 5.8, cell, align="R" if i >= right_from else "L")
        pdf.ln()


def _chart(pdf: FPDF, history: Sequence[tuple[str, int]], lang: str, title: str,
           x: float, y: float, w: float, h: float) -> None:
    pdf.set_xy(x, y)
    pdf.set_font(FONT, "B", 9.5)
    pdf.cell(w, 5, title)
    bars = list(history)[-12:]
    if not bars:
        return
    top, bottom = y + 10, y + h - 6
    peak = max(units for _, units in bars) or 1
    slot = w / 12
    pdf.set_draw_color(150, 150, 150)
    pdf.line(x, bottom, x + w, bottom)
    for i, (period, units) in enumerate(bars):
        height = (bottom - top) * units / peak
        left = x + i * slot + slot * 0.15
        pdf.set_fill_color(31, 111, 235)
        if height > 0:
            pdf.rect(left, bottom - height, slot * 0.7, height, style="F")
        pdf.set_font(FONT, "", 6.5)
        pdf.set_xy(x + i * slot, bottom - height - 4)
        pdf.cell(slot, 3.5, str(units), align="C")
        year, month = (int(p) for p in period.split("-")[:2])
        label = format_date_ist(date(year, month, 1), lang).split(" ", 1)[1]  # "Dec 2026"
        pdf.set_xy(x + i * slot, bottom + 0.8)
        pdf.cell(slot, 3.5, label.split(" ")[0], align="C")


def _qr_png(data: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(data, error="m", micro=False).save(buffer, kind="png", scale=8, border=4)
    buffer.seek(0)
    return buffer
