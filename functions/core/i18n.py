"""Languages: one gettext catalogue per language, shared by the portal's
templates and scripts, emails and SMS.

    from functions.core.i18n import translator, format_date_ist
    _ = translator("hi").gettext
    _("Amount due")                      # -> "देय राशि"
    format_date_ist(bill.due_date, "hi") # -> "7 दिस॰ 2026"

Catalogues live in functions/core/locale/<lang>/LC_MESSAGES/messages.po (made
with `pybabel extract/update`, see docs/languages.md) and are compiled to the
committed messages.mo beside them (`make i18n`), so the Lambda package and a
fresh checkout have them without a build step. An unknown language, or a
message a catalogue lacks, falls back to English (the msgid).
Amounts keep Indian digit grouping in every language (money.format_inr).
"""

from __future__ import annotations

import gettext
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date

from functions.core.billing_rules.periods import format_ist
from functions.core.clock import IST

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Language:
    code: str  # "hi": catalogue folder, site folder, the profile's value
    name: str  # in its own script: "हिन्दी"
    html_lang: str  # "hi-IN"
    babel_locale: str  # "hi_IN"


@lru_cache(maxsize=1)
def languages() -> dict[str, Language]:
    """The configured languages (locale/languages.toml), English first."""
    with (LOCALE_DIR / "languages.toml").open("rb") as handle:
        table = tomllib.load(handle)["languages"]
    return {code: Language(code=code, **entry) for code, entry in table.items()}


def language_codes() -> tuple[str, ...]:
    return tuple(languages())


def normalise(lang: str | None) -> str:
    """A supported language code; anything else is English."""
    code = (lang or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in languages() else DEFAULT_LANGUAGE


@lru_cache(maxsize=8)
def translator(lang: str | None) -> gettext.NullTranslations:
    """gettext translations for `lang` (English: the msgids themselves)."""
    code = normalise(lang)
    if code == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[code], fallback=True)


def gettext_for(lang: str | None, message: str) -> str:
    return translator(lang).gettext(message)


def format_date_ist(value: date | datetime, lang: str | None, *, month: str = "short") -> str:
    """A day as people read it, month named in the language: "7 Dec 2026",
    "7 दिस॰ 2026". A datetime is taken to IST first. month="long": "December 2026"."""
    day = value.astimezone(IST).date() if isinstance(value, datetime) else value
    locale = languages()[normalise(lang)].babel_locale
    pattern = "MMMM y" if month == "long" else "d MMM y"
    return format_date(day, pattern, locale=locale)


def format_time_ist(moment: datetime, lang: str | None) -> str:
    """A moment in a message, the month named in the language: "7 दिस॰ 2026, 14:30 IST"."""
    return f"{format_date_ist(moment, lang)}, {moment.astimezone(IST):%H:%M} IST"


def format_moment_ist(moment: datetime, lang: str | None) -> str:
    """A moment in an email in the reader's language: English as bills write it ("05 Oct
    2026, 02:30 PM IST"), other languages with the month named in them."""
    if normalise(lang) == DEFAULT_LANGUAGE:
        return format_ist(moment)
    return format_time_ist(moment, lang)
