"""Sign-up, admin invitations, and confirming the email address and mobile number.

Sign-up answers the same whatever the email: a new address gets a
confirmation link; an address whose account never confirmed its email is
signed up again (the new details replace the old, so a typo or a failed email
never blocks the address); an address with a confirmed account gets a "you
already have an account" email. Nobody can learn from the API whether an
address is registered.

After the email link, the mobile number gets a 6-digit SMS code; after both,
a customer waits for an admin's review (pending_review), while an admin, who
was invited by another admin or by the bootstrap command, is verified at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.core.accounts.codes import (
    EMAIL_VERIFY,
    MOBILE_CHANGE,
    MOBILE_VERIFY,
    SMS_PURPOSES,
    CodeExpired,
    IssuedCode,
)
from functions.core.accounts.deps import AccountsDeps, DeliveryFailed
from functions.core.accounts.models import ROLE_ADMIN, ROLE_CUSTOMER, UserRecord
from functions.core.accounts.users import (
    PENDING_EMAIL,
    PENDING_MOBILE,
    PENDING_REVIEW,
    VERIFIED,
    new_user_id,
    normalise_email,
)
from functions.core.clock import iso, utcnow
from functions.core.errors import Conflict
from functions.core.i18n import normalise
from functions.core.logs import logger, mask_mobile
from functions.core.passwords import hash_password


@dataclass(frozen=True)
class NewAccount:
    name: str
    email: str
    mobile: str
    password: str | None = None
    language: str | None = None  # the sign-up page's: its confirmation email's, the account's


@dataclass(frozen=True)
class SmsChallenge:
    """An SMS code was sent; ``challenge`` is what the code completes."""

    challenge: str
    mobile_hint: str
    expires_in: int


@dataclass(frozen=True)
class VerificationState:
    status: str
    sms: SmsChallenge | None = None


def _new_record(account: NewAccount, role: str, user_id: str, password_hash: str | None,
                invited_by: str | None = None) -> UserRecord:
    return UserRecord(
        user_id=user_id, email=normalise_email(account.email), name=account.name,
        mobile=account.mobile, role=role, status=PENDING_EMAIL,
        role_status=f"{role}#{PENDING_EMAIL}", created_at=iso(utcnow()),
        email_verified=False, mobile_verified=False, password_hash=password_hash,
        mfa_enabled=role == ROLE_ADMIN, invited_by=invited_by,
        language=normalise(account.language) if account.language else None,
    )


def _claim_and_send(deps: AccountsDeps, record: UserRecord, existing: UserRecord | None,
                    invited_as_admin: bool) -> bool:
    """Write the pending account and send its confirmation link; undo the write
    if the email cannot be sent. False if the address was taken meanwhile."""
    written = (deps.users.replace_unverified(record) if existing is not None
               else deps.users.create(record))
    if not written:
        return False
    issued = deps.codes.issue_link(EMAIL_VERIFY, record.user_id)
    try:
        deps.notifier.email_verification(record.email, record.name, issued, invited_as_admin,
                                         lang=record.language)
    except Exception as exc:
        logger.warning("confirmation email not sent; sign-up undone",
                       extra={"user_id": record.user_id, "error": type(exc).__name__})
        deps.codes.discard(issued.challenge)
        if existing is None:
            deps.users.remove_unverified(record)
        raise DeliveryFailed("We could not send the confirmation email. "
                             "Please check the address and try again.") from exc
    return True


def _existing_account(deps: AccountsDeps, email: str) -> UserRecord | None:
    owner = deps.users.email_owner(email)
    if owner:
        user = deps.users.get(owner)
        if user is not None:
            return user
        deps.users.release_email(email, owner)  # a claim left without its account
        return None
    # Accounts written without a claim (seed data, tests) are found by the index.
    return deps.users.by_email(email)


def sign_up(account: NewAccount, client: str, deps: AccountsDeps | None = None) -> None:
    """Customer sign-up. Always answers the same (see the module docstring)."""
    deps = deps or AccountsDeps()
    email = normalise_email(account.email)
    deps.limiter(client).signup(email)
    # Hash first, whatever happens next: the answer takes as long for a known address.
    password_hash = hash_password(account.password) if account.password else None
    existing = _existing_account(deps, email)
    if existing is not None and existing.status != PENDING_EMAIL:
        logger.info("sign-up with a registered email", extra={"user_id": existing.user_id})
        try:
            deps.notifier.already_registered(email, lang=existing.language)
        except Exception as exc:  # the answer must not differ; the person can retry
            logger.warning("notice to registered email not sent",
                           extra={"user_id": existing.user_id, "error": type(exc).__name__})
        return
    if existing is not None and existing.role != ROLE_CUSTOMER:
        return  # an invited admin who has not confirmed yet: only an admin re-invites
    user_id = existing.user_id if existing is not None else new_user_id()
    record = _new_record(account, ROLE_CUSTOMER, user_id, password_hash)
    if _claim_and_send(deps, record, existing, invited_as_admin=False):
        logger.info("customer signed up", extra={"user_id": user_id})


def invite_admin(account: NewAccount, invited_by: str, deps: AccountsDeps | None = None
                 ) -> UserRecord:
    """An admin account, pending the same email and mobile confirmation.
    ``invited_by`` is the inviting admin's id, or "bootstrap"."""
    deps = deps or AccountsDeps()
    email = normalise_email(account.email)
    existing = _existing_account(deps, email)
    if existing is not None and not (existing.role == ROLE_ADMIN
                                     and existing.status == PENDING_EMAIL):
        raise Conflict("An account with this email address already exists.")
    user_id = existing.user_id if existing is not None else new_user_id()
    record = _new_record(account, ROLE_ADMIN, user_id, None, invited_by=invited_by)
    if not _claim_and_send(deps, record, existing, invited_as_admin=True):
        raise Conflict("An account with this email address already exists.")
    logger.info("admin invited", extra={"user_id": user_id, "invited_by": invited_by})
    return record


def resend_confirmation(email: str, client: str, deps: AccountsDeps | None = None) -> None:
    """A new confirmation link for an account that has not finished sign-up
    (it also restarts the mobile step). Answers the same for any address."""
    deps = deps or AccountsDeps()
    deps.limiter(client).send_to_email(email)
    user = deps.users.by_email(email)
    if user is None or user.status not in (PENDING_EMAIL, PENDING_MOBILE):
        return
    issued = deps.codes.issue_link(EMAIL_VERIFY, user.user_id)
    try:
        deps.notifier.email_verification(user.email, user.name, issued,
                                         invited_as_admin=user.role == ROLE_ADMIN,
                                         lang=user.language)
    except Exception as exc:
        deps.codes.discard(issued.challenge)
        logger.warning("confirmation email not sent",
                       extra={"user_id": user.user_id, "error": type(exc).__name__})


def send_sms_code(deps: AccountsDeps, purpose_name: str, user_id: str, mobile: str,
                  subject: str | None, what: str) -> SmsChallenge:
    """Issue an SMS code and send it; nothing stays behind if SNS refuses."""
    purpose = SMS_PURPOSES[purpose_name]
    issued: IssuedCode = deps.codes.issue_sms_code(purpose, user_id, subject)
    try:
        deps.notifier.sms_code(mobile, issued, what)
    except Exception as exc:
        deps.codes.discard(issued.challenge)
        logger.warning("sms code not sent", extra={"user_id": user_id,
                                                   "error": type(exc).__name__})
        raise DeliveryFailed("We could not send the SMS code. Please try again.") from exc
    return SmsChallenge(issued.challenge, mask_mobile(mobile), issued.expires_in)


SMS_WORDING = {
    "mobile_verify": "confirm your mobile number",
    "mfa_login": "sign in",
    "mobile_change": "confirm your new mobile number",
    "mfa_change": "change your sign-in settings",
}


def verify_email(token: str, client: str, deps: AccountsDeps | None = None
                 ) -> VerificationState:
    """Redeem the email link; then send the SMS code for the mobile step."""
    deps = deps or AccountsDeps()
    limiter = deps.limiter(client)
    limiter.check_code()
    pending = deps.codes.peek(token.partition(".")[0], {EMAIL_VERIFY.name})
    limiter.check_code_of(pending.user_id)
    limiter.send_to_user(pending.user_id)
    record = deps.codes.redeem_link(EMAIL_VERIFY, token)
    user = deps.users.get(record.user_id)
    if user is None:
        raise CodeExpired()
    if user.status == PENDING_EMAIL:
        deps.users.update(user, PENDING_EMAIL, status=PENDING_MOBILE, email_verified=True)
        logger.info("email confirmed", extra={"user_id": user.user_id})
    elif user.status != PENDING_MOBILE:
        return VerificationState(user.status)  # already past this step
    sms = send_sms_code(deps, MOBILE_VERIFY.name, user.user_id, user.mobile, user.mobile,
                        SMS_WORDING[MOBILE_VERIFY.name])
    return VerificationState(PENDING_MOBILE, sms)


def verify_mobile(challenge: str, code: str, client: str, deps: AccountsDeps | None = None
                  ) -> VerificationState:
    deps = deps or AccountsDeps()
    limiter = deps.limiter(client)
    limiter.check_code()
    limiter.check_code_of(deps.codes.peek(challenge, {MOBILE_VERIFY.name}).user_id)
    record = deps.codes.redeem(MOBILE_VERIFY, challenge, code)
    user = deps.users.get(record.user_id)
    if user is None or user.status != PENDING_MOBILE or user.mobile != record.subject:
        raise CodeExpired()
    status = VERIFIED if user.role == ROLE_ADMIN else PENDING_REVIEW
    deps.users.update(user, PENDING_MOBILE, status=status, mobile_verified=True)
    logger.info("mobile confirmed", extra={"user_id": user.user_id, "status": status})
    return VerificationState(status)


def resend_sms(challenge: str, client: str, deps: AccountsDeps | None = None) -> SmsChallenge:
    """A fresh SMS code in place of one that expired soon, was lost, or was
    locked by wrong tries. The old challenge stops working."""
    deps = deps or AccountsDeps()
    limiter = deps.limiter(client)
    limiter.check_code()
    old = deps.codes.peek(challenge, set(SMS_PURPOSES))
    limiter.send_to_user(old.user_id)
    user = deps.users.get(old.user_id)
    if user is None:
        raise CodeExpired()
    mobile = old.subject if old.purpose in (MOBILE_VERIFY.name, MOBILE_CHANGE.name) else None
    deps.codes.discard(challenge)
    return send_sms_code(deps, old.purpose, user.user_id, mobile or user.mobile, old.subject,
                         SMS_WORDING[old.purpose])
