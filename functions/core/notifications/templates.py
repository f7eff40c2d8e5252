"""What the platform says by email and SMS: Jinja2 templates, rendered once.

Emails: ``templates/email/<name>.subject.j2`` and ``<name>.txt.j2`` (plain text).
SMS: data in ``sms_templates.toml``: per template its DLT category and variables, per
language its DLT template id and text (each language is a template of its own on the
DLT portal); the entity id and sender header come from Settings per stage. An SMS that
does not match its registered template is dropped by Indian operators, so
`render_sms` refuses to produce one.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from functions.core.i18n import normalise, translator

HERE = Path(__file__).resolve().parent
BRAND = "Discom Smart Billing"
DLT_VARIABLE = "{#var#}"
DLT_VARIABLE_MAX = 30  # characters a DLT variable may carry
DLT_URL = "{#url#}"  # a variable tagged as a whitelisted URL
DLT_URL_MAX = 50
DEFAULT_LANGUAGE = "en"


class TemplateMismatch(ValueError):
    """A rendered SMS that its registered DLT template does not allow."""


@dataclass(frozen=True)
class RenderedEmail:
    template: str
    subject: str
    text: str


@dataclass(frozen=True)
class DltRegistration:
    entity_id: str
    header: str
    template_id: str
    registered: str  # the text as registered, "{#var#}" for each variable
    category: str = "transactional"


@dataclass(frozen=True)
class RenderedSms:
    template: str
    text: str
    dlt: DltRegistration
    lang: str = "en"


@lru_cache(maxsize=8)
def _environment(lang: str = "en") -> Environment:
    # Plain-text mail and SMS: nothing is HTML, so nothing is escaped (an .html
    # template, if one is ever added, is). One environment per language: _() in the
    # templates reads that language's catalogue (functions/core/i18n).
    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(enabled_extensions=("html",),
                                                   default_for_string=False),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True, extensions=["jinja2.ext.i18n"])
    env.policies["ext.i18n.trimmed"] = True  # as babel.cfg extracts them
    env.install_gettext_translations(translator(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def render_email(name: str, /, lang: str | None = None, **context: Any) -> RenderedEmail:
    """The email `name` in `lang` (the recipient's language; unknown: English)."""
    env = _environment(normalise(lang))
    context.setdefault("brand", translator(lang).gettext(BRAND))
    subject = env.get_template(f"email/{name}.subject.j2").render(context).strip()
    text = env.get_template(f"email/{name}.txt.j2").render(context)
    return RenderedEmail(name, subject, text.rstrip("\n") + "\n")


@lru_cache(maxsize=1)
def _dlt_catalogue() -> dict[str, Any]:
    with (HERE / "sms_templates.toml").open("rb") as handle:
        return tomllib.load(handle)


def sms_template_names() -> list[str]:
    return sorted(_dlt_catalogue()["sms"])


def sms_languages(name: str) -> list[str]:
    """The languages a template is registered in."""
    return sorted(k for k, v in _dlt_catalogue()["sms"][name].items() if isinstance(v, dict))


def sms_is_essential(name: str) -> bool:
    """Essential SMS (sign-in codes) go whatever the customer chose; the others only
    to customers who chose SMS."""
    return bool(_dlt_catalogue()["sms"][name].get("essential", False))


def _entry(name: str, lang: str) -> tuple[dict[str, Any], dict[str, Any]]:
    template = _dlt_catalogue()["sms"][name]
    return template, template.get(lang) or template[DEFAULT_LANGUAGE]


def registered_text(name: str, lang: str = "en") -> str:
    """The text as registered on the DLT portal: each variable as {#var#} ({#url#})."""
    template, entry = _entry(name, lang)
    urls = set(_dlt_catalogue().get("url_variables", {}).get("names", []))
    return entry["text"].format_map({v: DLT_URL if v in urls else DLT_VARIABLE
                                     for v in template["variables"]})


def dlt_registration(name: str, lang: str = "en") -> DltRegistration:
    from functions.core.settings import get_settings

    settings = get_settings()
    template, entry = _entry(name, lang)
    return DltRegistration(entity_id=settings.dlt_entity_id, header=settings.sms_sender_id,
                           template_id=entry["dlt_template_id"],
                           registered=registered_text(name, lang),
                           category=template["category"])


def dlt_registration_by_id(template_id: str) -> DltRegistration | None:
    """The registration an outbox item names (the sender passes its ids to SNS)."""
    for name, template in _dlt_catalogue()["sms"].items():
        for lang, entry in template.items():
            if isinstance(entry, dict) and entry["dlt_template_id"] == template_id:
                return dlt_registration(name, lang)
    return None


def matches_registration(text: str, registered: str) -> bool:
    """True if `text` is `registered` with each {#var#} replaced by 1-30 characters
    (each {#url#} by a link of 1-50)."""
    pattern = ""
    for piece in re.split(r"(\{#var#\}|\{#url#\})", registered):
        if piece == DLT_VARIABLE:
            pattern += f"(.{{1,{DLT_VARIABLE_MAX}}}?)"
        elif piece == DLT_URL:
            pattern += f"(\\S{{1,{DLT_URL_MAX}}}?)"
        else:
            pattern += re.escape(piece)
    return re.fullmatch(pattern, text, flags=re.DOTALL) is not None


def render_sms(name: str, /, lang: str | None = None, **context: Any) -> RenderedSms:
    """The SMS `name` in `lang` (unknown: English), refused (TemplateMismatch) if it
    would not match its registered DLT template, e.g. a variable over 30 characters."""
    code = lang if lang in sms_languages(name) else DEFAULT_LANGUAGE
    template, entry = _entry(name, code)
    words = _dlt_catalogue().get("words", {}).get(code, {})
    values = {v: words.get(str(context[v]), str(context[v])) for v in template["variables"]}
    text = entry["text"].format_map(values).strip()
    dlt = dlt_registration(name, code)
    if not matches_registration(text, dlt.registered):
        raise TemplateMismatch(f"SMS {name!r} ({code}) does not match DLT template "
                               f"{dlt.template_id}")
    return RenderedSms(name, text, dlt, code)


def registration_of_text(text: str) -> tuple[str, str, DltRegistration] | None:
    """(template, language, registration) whose registered text `text` matches: what an
    operator's scrubbing finds (the developer outbox shows it for each captured SMS)."""
    for name in sms_template_names():
        for lang in sms_languages(name):
            registration = dlt_registration(name, lang)
            if matches_registration(text, registration.registered):
                return name, lang, registration
    return None
