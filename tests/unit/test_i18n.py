"""Languages (issue 23): every message the code, templates and scripts use has a
translation in every shipped catalogue, with the same placeholders, and the
committed .mo files say what the .po files say; dates name the month in the
language, amounts keep Indian grouping."""

from __future__ import annotations

import gettext
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from functions.core.i18n import (
    DEFAULT_LANGUAGE,
    LOCALE_DIR,
    format_date_ist,
    languages,
    normalise,
    translator,
)
from functions.core.money import format_inr

ROOT = Path(__file__).resolve().parents[2]
SEARCHED = ("functions", "frontend", "templates")  # what babel.cfg maps
TRANSLATED = [code for code in languages() if code != DEFAULT_LANGUAGE]
PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s|%s")


def used_messages() -> dict[str, str]:
    """msgid -> where it is used, as `make i18n` (pybabel extract) finds them."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "t": None}
    found: dict[str, str] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
            ROOT, method_map, options_map, keywords=keywords,
            directory_filter=lambda path: Path(path).relative_to(ROOT).parts[0] in SEARCHED):
        for text in (message if isinstance(message, tuple) else (message,)):
            if text:
                found.setdefault(text, filename)
    return found


def catalogue(code: str) -> Catalog:
    with (LOCALE_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=code)


def test_the_code_uses_messages_at_all() -> None:
    used = used_messages()
    for expected in ("Amount due", "Electricity bill, {month}", "Dashboard"):
        assert expected in used


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_the_code_uses_is_translated(code: str) -> None:
    messages = catalogue(code)
    problems = []
    for text, where in sorted(used_messages().items()):
        entry = messages.get(text)
        if entry is None or not entry.string or entry.fuzzy:
            problems.append(f"{where}: {text!r} has no {code} translation")
            continue
        translated = entry.string if isinstance(entry.string, str) else entry.string[0]
        if sorted(PLACEHOLDER.findall(translated)) != sorted(PLACEHOLDER.findall(text)):
            problems.append(f"{text!r}: the {code} translation has other placeholders")
    assert not problems, "run `make i18n` and translate:\n" + "\n".join(problems)


@pytest.mark.parametrize("code", TRANSLATED)
def test_compiled_catalogue_matches_its_source(code: str) -> None:
    # The .mo is committed (Lambda and a fresh checkout read it): `make i18n` compiles it.
    path = LOCALE_DIR / code / "LC_MESSAGES" / "messages.mo"
    with path.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = [entry.id for entry in catalogue(code)
             if entry.id and isinstance(entry.id, str) and entry.string and not entry.fuzzy
             and compiled.gettext(entry.id) != entry.string]
    assert not stale, f"{path} is older than its .po: run `make i18n` ({stale[:3]})"


def test_translator_falls_back_to_english() -> None:
    assert translator("hi").gettext("Amount due") == "देय राशि"
    assert translator("mr").gettext("Amount due") == "देय रक्कम"
    assert translator("en").gettext("Amount due") == "Amount due"
    assert translator("xx").gettext("Amount due") == "Amount due"
    assert normalise("hi-IN") == "hi" and normalise(None) == "en" and normalise("fr") == "en"


def test_dates_name_the_month_in_the_language_in_ist() -> None:
    day = date(2026, 12, 7)
    assert format_date_ist(day, "en") == "7 Dec 2026"
    assert format_date_ist(day, "hi") == "7 दिस॰ 2026"
    assert format_date_ist(day, "mr") == "7 डिसें 2026"
    # 20:00 UTC on the 6th is already the 7th in India.
    assert format_date_ist(datetime(2026, 12, 6, 20, 0, tzinfo=UTC), "hi", month="long") \
        == "दिसंबर 2026"


def test_amounts_keep_indian_grouping() -> None:
    # The same for every language: digits and grouping do not change with it.
    assert format_inr(Decimal("1234567.89")) == "₹12,34,567.89"


def test_the_bill_email_follows_the_language() -> None:
    from functions.core.notifications.templates import render_email

    context: dict[str, Any] = {
               "payer_name": "Meera Iyer", "month": "दिसंबर 2026", "bill_id": "BILL-1",
               "address": "14 Lodhi Road", "units": "301", "estimated": False,
               "amount": "₹12,34,567.89", "due": "7 दिस॰ 2026", "link": "https://x/bill.html",
               "share": None, "credit_this_period": None, "credit_brought_forward": None,
               "credit_to_open_bills": None, "credit_carried": None, "arrears": None,
               "surcharge_percent": "1.25", "upi": None}
    hindi = render_email("bill_issued", lang="hi", **context)
    assert hindi.subject == "दिसंबर 2026 का आपका बिजली बिल: ₹12,34,567.89"
    assert "प्रिय Meera Iyer," in hindi.text and "देय तिथि के बाद 1.25% विलंबित" in hindi.text
    marathi = render_email("bill_issued", lang="mr", **context)
    assert "आपले वीज बिल तयार आहे." in marathi.text
    english = render_email("bill_issued", **context)
    assert english.text.startswith("Dear Meera Iyer,\n\nYour electricity bill for")


def test_every_script_message_is_one_pybabel_finds() -> None:
    # pybabel's JavaScript lexer does not look inside template literals: a t("...")
    # there would never reach a catalogue. Write t("...") + "..." instead.
    calls = re.compile(r"""\bt\("((?:[^"\\]|\\.)*)"[,)]""")
    used = used_messages()
    hidden = [f"{path.relative_to(ROOT)}: t({text!r})"
              for path in sorted((ROOT / "frontend" / "static" / "js").rglob("*.js"))
              for line in path.read_text(encoding="utf-8").splitlines()
              if not line.lstrip().startswith("//")
              for text in calls.findall(line)
              if text.encode().decode("unicode_escape") not in used and text not in used]
    assert not hidden, "\n".join(hidden)


def test_account_emails_follow_the_language() -> None:
    from functions.core.notifications.templates import render_email

    link = render_email("login_link", lang="mr", name="Sunita", link="https://x/l", minutes=15)
    assert link.subject == "डिस्कॉम स्मार्ट बिलिंग साठी आपला साइन-इन लिंक"
    assert link.text.startswith("नमस्कार Sunita,\n\nहा लिंक उघडून साइन इन करा:\nhttps://x/l\n")
    verified = render_email("account_verified", lang="hi", name="Asha", portal="https://p")
    assert "https://p/login.html" in verified.text and "सत्यापित" in verified.subject


def test_the_payment_receipt_follows_the_language() -> None:
    from functions.core.notifications.templates import render_email
    from functions.core.payments.receipts import receipt_context

    context = receipt_context(name="Asha", bill_id="BILL-1", period="2026-10",
                              amount_paise=123456789, method="upi", payment_id="pay_1",
                              paid_at=datetime(2026, 11, 3, 9, 0, tzinfo=UTC), reference=None,
                              lang="hi")
    receipt = render_email("payment_receipt", lang="hi", **context)
    assert receipt.subject == "भुगतान प्राप्त: अक्टूबर 2026 का बिजली बिल"
    assert "₹12,34,567.89" in receipt.text and "3 नव॰ 2026, 14:30 IST" in receipt.text


def test_overdue_refund_and_ticket_emails_follow_the_language() -> None:
    from functions.core.notifications.templates import render_email
    from functions.core.payments.receipts import overdue_context, refund_context

    def overdue(lang: str) -> Any:
        return render_email("bill_overdue", lang=lang, **overdue_context(
            name="Asha", bill_id="BILL-1", period="2026-10", due=date(2026, 11, 15),
            total_paise=123456789, surcharge_paise=1500, lang=lang))

    hindi, marathi, english = overdue("hi"), overdue("mr"), overdue("en")
    assert hindi.subject == "बकाया: अक्टूबर 2026 का बिजली बिल"
    assert "15 नव॰ 2026 को देय था" in hindi.text and "अभी देय राशि:" in hindi.text
    assert "₹12,34,582.89" in hindi.text  # amounts keep Indian grouping
    assert marathi.subject == "थकीत: ऑक्टोबर 2026 चे वीज बिल"
    assert "कृपया ग्राहक पोर्टलवर ते भरा." in marathi.text
    assert english.subject == "Overdue: electricity bill for Oct 2026"
    assert "was due on 15 Nov 2026 and has not been paid" in english.text

    refund = render_email("refund_started", lang="mr", **refund_context(
        name="Asha", bill_id="BILL-1", period="2026-10", amount_paise=50000,
        payment_id="pay_1", reason="Paid twice", lang="mr"))
    assert refund.subject == "परतावा सुरू: तुमच्या वीज बिलासाठी (ऑक्टोबर 2026) ₹500.00"

    status: dict[str, Any] = {
        "name": "Asha", "ticket_id": "T-2026-0001", "subject": "Meter", "at": "x",
        "status": "Completed", "completed": True, "note": "Fixed", "reopen_until": "y",
        "link": "https://x/t"}
    assert render_email("ticket_status", lang="hi", **status).subject == "T-2026-0001: पूर्ण"
    assert "तुमची विनंती T-2026-0001 (\"Meter\") आता: पूर्ण (x)." in render_email(
        "ticket_status", lang="mr", **status).text
    assert render_email("ticket_status", **status).subject == "T-2026-0001: Completed"
