"""Login: a single-use email link or a password, then an SMS code when MFA is on.

Who may sign in:

* ``verified`` customers and admins;
* ``pending_review`` customers, so they can see their status and keep their
  profile up to date. Everything that needs a verified customer (properties,
  meters, bills) checks `require_verified_customer`, so a session gives them
  nothing more.

Who may not: accounts that have not confirmed their email and mobile yet
(``pending_email``/``pending_mobile``: they finish sign-up first),
``rejected`` and ``suspended`` accounts. An email-link request for them is
answered like any other and sends nothing; a correct password gets a 403 that
says why (the password proves the person owns the account).

A first step that needs a second factor (always for admins, for customers who
turned MFA on) returns an "mfa_required" challenge, not a session; the SMS
code completes it within 5 minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.core.accounts.codes import LOGIN_LINK, MFA_LOGIN
from functions.core.accounts.deps import AccountsDeps
from functions.core.accounts.models import ROLE_ADMIN, UserRecord
from functions.core.accounts.sessions import SESSION_LIFETIME, issue_session
from functions.core.accounts.signup import SMS_WORDING, SmsChallenge, send_sms_code
from functions.core.accounts.users import (
    PENDING_EMAIL,
    PENDING_MOBILE,
    PENDING_REVIEW,
    REJECTED,
    SUSPENDED,
    VERIFIED,
)
from functions.core.errors import Forbidden, Unauthorized
from functions.core.logs import logger
from functions.core.passwords import hash_password, needs_rehash, verify_password

CAN_SIGN_IN = frozenset({VERIFIED, PENDING_REVIEW})
WHY_NOT = {
    PENDING_EMAIL: "Please confirm your email address and mobile number first.",
    PENDING_MOBILE: "Please confirm your email address and mobile number first.",
    REJECTED: "This account was not approved. Please contact the office.",
    SUSPENDED: "This account is suspended. Please contact the office.",
}


@dataclass(frozen=True)
class LoginOutcome:
    status: str  # "signed_in" or "mfa_required"
    user: UserRecord
    token: str | None = None
    expires_in: int | None = None
    mfa: SmsChallenge | None = None


def ensure_can_sign_in(user: UserRecord) -> None:
    if user.status not in CAN_SIGN_IN:
        raise Forbidden(WHY_NOT.get(user.status, "This account cannot sign in."))


def needs_second_factor(user: UserRecord) -> bool:
    return user.role == ROLE_ADMIN or bool(user.mfa_enabled)


def _first_factor_passed(user: UserRecord, deps: AccountsDeps, client: str) -> LoginOutcome:
    ensure_can_sign_in(user)
    if needs_second_factor(user):
        deps.limiter(client).send_to_user(user.user_id)
        challenge = send_sms_code(deps, MFA_LOGIN.name, user.user_id, user.mobile, None,
                                  SMS_WORDING[MFA_LOGIN.name])
        logger.info("second factor sent", extra={"user_id": user.user_id})
        return LoginOutcome("mfa_required", user, mfa=challenge)
    return _signed_in(user, deps)


def _signed_in(user: UserRecord, deps: AccountsDeps) -> LoginOutcome:
    token = issue_session(user, deps.sessions)
    logger.info("signed in", extra={"user_id": user.user_id})
    return LoginOutcome("signed_in", user, token=token,
                        expires_in=int(SESSION_LIFETIME.total_seconds()))


def request_email_link(email: str, client: str, deps: AccountsDeps | None = None) -> None:
    """Email a sign-in link if the address belongs to an account that may sign
    in. The caller answers the same either way."""
    deps = deps or AccountsDeps()
    limiter = deps.limiter(client)
    limiter.login(email)
    limiter.send_to_email(email)
    user = deps.users.by_email(email)
    if user is None or user.status not in CAN_SIGN_IN:
        return
    issued = deps.codes.issue_link(LOGIN_LINK, user.user_id)
    try:
        deps.notifier.login_link(user.email, user.name, issued, lang=user.language)
    except Exception as exc:  # the answer must not differ; the person can ask again
        deps.codes.discard(issued.challenge)
        logger.warning("sign-in link not sent", extra={"user_id": user.user_id,
                                                       "error": type(exc).__name__})
        return
    logger.info("sign-in link sent", extra={"user_id": user.user_id})


def exchange_link(token: str, client: str, deps: AccountsDeps | None = None) -> LoginOutcome:
    deps = deps or AccountsDeps()
    limiter = deps.limiter(client)
    limiter.check_code()
    limiter.check_code_of(deps.codes.peek(token.partition(".")[0], {LOGIN_LINK.name}).user_id)
    record = deps.codes.redeem_link(LOGIN_LINK, token)
    user = deps.users.get(record.user_id)
    if user is None:
        raise Unauthorized("This account no longer exists.")
    return _first_factor_passed(user, deps, client)


def password_login(email: str, password: str, client: str, deps: AccountsDeps | None = None
                   ) -> LoginOutcome:
    deps = deps or AccountsDeps()
    deps.limiter(client).login(email)
    user = deps.users.by_email(email)
    # verify_password does the full work even without a user: no timing hint.
    if not verify_password(password, user.password_hash if user else None) or user is None:
        logger.info("password login failed")
        raise Unauthorized("The email address or password is not correct.")
    if user.password_hash and needs_rehash(user.password_hash):
        deps.users.update(user, password_hash=hash_password(password))
        logger.info("password hash upgraded", extra={"user_id": user.user_id})
    return _first_factor_passed(user, deps, client)


def complete_mfa(challenge: str, code: str, client: str, deps: AccountsDeps | None = None
                 ) -> LoginOutcome:
    deps = deps or AccountsDeps()
    limiter = deps.limiter(client)
    limiter.check_code()
    limiter.check_code_of(deps.codes.peek(challenge, {MFA_LOGIN.name}).user_id)
    record = deps.codes.redeem(MFA_LOGIN, challenge, code)
    user = deps.users.get(record.user_id)
    if user is None:
        raise Unauthorized("This account no longer exists.")
    ensure_can_sign_in(user)
    return _signed_in(user, deps)
