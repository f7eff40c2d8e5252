"""What the platform says by email and SMS: Jinja2 templates, rendered once.

Emails: ``templates/email/<name>.subject.j2`` and ``<name>.txt.j2`` (plain text).
SMS: ``templates/sms/<name>.txt.j2`` plus the template's DLT registration in
``sms_templates.toml`` (entity id, sender header, template id, registered text):
an SMS that does not match its registered template is dropped by Indian operators,
so `render_sms` refuses to produce one.
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


@dataclass(frozen=True)
class RenderedSms:
    template: str
    text: str
    dlt: DltRegistration


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


def dlt_registration(name: str) -> DltRegistration:
    catalogue = _dlt_catalogue()
    entry = catalogue["sms"][name]
    return DltRegistration(entity_id=catalogue["dlt"]["entity_id"],
                           header=catalogue["dlt"]["header"],
                           template_id=entry["dlt_template_id"], registered=entry["registered"])


def sms_template_names() -> list[str]:
    return sorted(_dlt_catalogue()["sms"])


def matches_registration(text: str, registered: str) -> bool:
    """True if `text` is `registered` with each {#var#} replaced by 1-30 characters."""
    parts = [re.escape(part) for part in registered.split(DLT_VARIABLE)]
    pattern = f"(.{{1,{DLT_VARIABLE_MAX}}}?)".join(parts)
    return re.fullmatch(pattern, text, flags=re.DOTALL) is not None


def render_sms(name: str, /, **context: Any) -> RenderedSms:
    context.setdefault("brand", BRAND)
    text = _environment().get_template(f"sms/{name}.txt.j2").render(context).strip()
    dlt = dlt_registration(name)
    if not matches_registration(text, dlt.registered):
        raise TemplateMismatch(f"SMS {name!r} does not match DLT template {dlt.template_id}")
    return RenderedSms(name, text, dlt)
