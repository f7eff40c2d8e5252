"""What accounts say to people by email and SMS (templates in
functions/core/notifications/templates, sent through the notifications outbox).

Links and one-time codes are secrets: they go out at once from the request that
made them and only their envelope is kept (never the body). Notices (verified,
rejected, suspended...) are written to the outbox and sent by the sender
function, so a decision's email survives an SES hiccup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from functions.core.accounts.codes import IssuedCode
from functions.core.notifications.service import Notifications, new_event_id
from functions.core.notifications.templates import BRAND
from functions.core.settings import get_settings

TOPIC = "account"
SENT_OR_NOT = ("sent", "duplicate")


class NotSent(Exception):
    """SES or SNS refused a secret-bearing message, or its address is suppressed."""


def _minutes(seconds: int) -> int:
    return max(1, seconds // 60)


def portal_link(page: str, token: str) -> str:
    return f"{get_settings().portal_origin}/{page}?token={quote(token, safe='')}"


@dataclass
class Notifier:
    """The accounts' messages, through the notifications outbox."""

    notifications: Notifications = field(default_factory=Notifications)

    def _secret_email(self, template: str, issued: IssuedCode, to: str, **context: Any
                      ) -> None:
        outcome = self.notifications.send_secret_email(template, issued.challenge, to,
                                                       topic=TOPIC, **context)
        if outcome not in SENT_OR_NOT:
            raise NotSent(outcome)

    def _notice(self, template: str, to: str, **context: Any) -> None:
        self.notifications.queue_email(template, new_event_id(), to, topic=TOPIC,
                                       portal=get_settings().portal_origin, **context)

    # -- sign-up and invitations -------------------------------------------
    def email_verification(self, to: str, name: str, issued: IssuedCode,
                           invited_as_admin: bool = False, lang: str | None = None) -> None:
        self._secret_email("email_verification", issued, to, name=name, lang=lang,
                           invited_as_admin=invited_as_admin,
                           link=portal_link("verify-email.html", issued.link_token),
                           token=issued.link_token, minutes=_minutes(issued.expires_in))

    def already_registered(self, to: str, lang: str | None = None) -> None:
        self._notice("already_registered", to, lang=lang)

    # -- login --------------------------------------------------------------
    # lang: the person's language (UserRecord.language); the email is written in it.
    def login_link(self, to: str, name: str, issued: IssuedCode,
                   lang: str | None = None) -> None:
        self._secret_email("login_link", issued, to, name=name, lang=lang,
                           link=portal_link("login-link.html", issued.link_token),
                           minutes=_minutes(issued.expires_in))

    def sms_code(self, mobile: str, issued: IssuedCode, what: str) -> None:
        outcome = self.notifications.send_secret_sms(
            "one_time_code", issued.challenge, mobile, topic=TOPIC, code=issued.secret,
            purpose=what, minutes=_minutes(issued.expires_in))
        if outcome not in SENT_OR_NOT:
            raise NotSent(outcome)

    # -- review and account state --------------------------------------------
    def account_verified(self, to: str, name: str, lang: str | None = None) -> None:
        self._notice("account_verified", to, name=name, lang=lang)

    def account_rejected(self, to: str, name: str, reason: str,
                         lang: str | None = None) -> None:
        self._notice("account_rejected", to, name=name, reason=reason, lang=lang)

    def account_suspended(self, to: str, name: str, reason: str,
                          lang: str | None = None) -> None:
        self._notice("account_suspended", to, name=name, reason=reason, lang=lang)

    def account_reactivated(self, to: str, name: str, lang: str | None = None) -> None:
        self._notice("account_reactivated", to, name=name, lang=lang)

    def mobile_changed(self, to: str, name: str, masked_mobile: str,
                       lang: str | None = None) -> None:
        self._notice("mobile_changed", to, name=name, masked_mobile=masked_mobile, lang=lang)


__all__ = ["BRAND", "NotSent", "Notifier", "portal_link"]
