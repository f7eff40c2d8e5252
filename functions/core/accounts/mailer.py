"""What accounts say to people by email and SMS.

Subjects never carry secrets (notify.py logs them); bodies do carry links and
codes, and are never logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from functions.core import notify
from functions.core.accounts.codes import IssuedCode
from functions.core.settings import get_settings

BRAND = "Discom Smart Billing"


def _minutes(seconds: int) -> int:
    return max(1, seconds // 60)


def portal_link(page: str, token: str) -> str:
    return f"{get_settings().portal_origin}/{page}?token={quote(token, safe='')}"


@dataclass
class Notifier:
    """SES and SNS behind two callables, so services can be given others."""

    send_email: Callable[[str, str, str], str] | None = None
    send_sms: Callable[[str, str], str] | None = None

    def email(self, to: str, subject: str, text: str) -> None:
        (self.send_email or notify.send_email)(to, subject, text)

    def sms(self, mobile: str, text: str) -> None:
        (self.send_sms or notify.send_sms)(mobile, text)

    # -- sign-up and invitations -------------------------------------------
    def email_verification(self, to: str, name: str, issued: IssuedCode,
                           invited_as_admin: bool = False) -> None:
        intro = (f"You have been invited to be an administrator of {BRAND}."
                 if invited_as_admin else f"Thank you for signing up for {BRAND}.")
        self.email(to, f"Confirm your email address for {BRAND}", (
            f"Hello {name},\n\n{intro}\n\n"
            f"Confirm your email address by opening this link:\n"
            f"{portal_link('verify-email.html', issued.link_token)}\n\n"
            f"Or paste this code on the confirmation page:\n{issued.link_token}\n\n"
            f"The link works once and expires in {_minutes(issued.expires_in)} minutes. "
            f"If you did not ask for this, ignore this email.\n"))

    def already_registered(self, to: str) -> None:
        self.email(to, f"Someone tried to sign up with your email at {BRAND}", (
            "Hello,\n\nSomeone (perhaps you) tried to create an account with this email "
            f"address, but it already has an account at {BRAND}.\n\n"
            f"To sign in, go to {get_settings().portal_origin}/login.html\n\n"
            "If this was not you, you can ignore this email: nothing has changed.\n"))

    # -- login --------------------------------------------------------------
    def login_link(self, to: str, name: str, issued: IssuedCode) -> None:
        self.email(to, f"Your sign-in link for {BRAND}", (
            f"Hello {name},\n\nSign in by opening this link:\n"
            f"{portal_link('login-link.html', issued.link_token)}\n\n"
            f"It works once and expires in {_minutes(issued.expires_in)} minutes. "
            "If you did not ask to sign in, ignore this email.\n"))

    def sms_code(self, mobile: str, issued: IssuedCode, what: str) -> None:
        self.sms(mobile, f"{issued.secret} is your {BRAND} code to {what}. "
                         f"It expires in {_minutes(issued.expires_in)} min. "
                         "Never share it with anyone.")

    # -- review and account state --------------------------------------------
    def account_verified(self, to: str, name: str) -> None:
        self.email(to, f"Your {BRAND} account is verified", (
            f"Hello {name},\n\nAn administrator has verified your account. You can now "
            f"sign in and add your properties: {get_settings().portal_origin}/login.html\n"))

    def account_rejected(self, to: str, name: str, reason: str) -> None:
        self.email(to, f"Your {BRAND} account could not be verified", (
            f"Hello {name},\n\nAn administrator could not verify your account.\n\n"
            f"Reason: {reason}\n\nIf you think this is a mistake, please contact your "
            "distribution company's office.\n"))

    def account_suspended(self, to: str, name: str, reason: str) -> None:
        self.email(to, f"Your {BRAND} account is suspended", (
            f"Hello {name},\n\nAn administrator has suspended your account.\n\n"
            f"Reason: {reason}\n\nPlease contact your distribution company's office.\n"))

    def account_reactivated(self, to: str, name: str) -> None:
        self.email(to, f"Your {BRAND} account is active again", (
            f"Hello {name},\n\nAn administrator has reactivated your account. "
            f"You can sign in again: {get_settings().portal_origin}/login.html\n"))

    def mobile_changed(self, to: str, name: str, masked_mobile: str) -> None:
        self.email(to, f"Your {BRAND} mobile number was changed", (
            f"Hello {name},\n\nThe mobile number on your account is now {masked_mobile}. "
            "If you did not do this, contact your distribution company at once.\n"))
