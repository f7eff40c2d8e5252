"""A signed-in user's own profile: name, mobile, password, MFA.

A new mobile number takes effect only after the SMS code sent *to it* comes
back. Turning MFA on or off needs a fresh SMS code to the current number.
Setting a password needs the current one if there is one, and ends the user's
other sessions.
"""

from __future__ import annotations

from functions.core.accounts.codes import MFA_CHANGE, MOBILE_CHANGE, CodeExpired
from functions.core.accounts.deps import AccountsDeps
from functions.core.accounts.limits import LOGIN_PER_ACCOUNT
from functions.core.accounts.models import ROLE_ADMIN, UserRecord
from functions.core.accounts.sessions import Caller, revoke_all_sessions
from functions.core.accounts.signup import SMS_WORDING, SmsChallenge, send_sms_code
from functions.core.errors import InvalidInput, Unauthorized
from functions.core.i18n import language_codes
from functions.core.logs import logger, mask_mobile
from functions.core.passwords import hash_password, verify_password

MFA_ON = "on"
MFA_OFF = "off"


def _me(caller: Caller, deps: AccountsDeps) -> UserRecord:
    user = deps.users.get(caller.user_id)
    if user is None:
        raise Unauthorized("This account no longer exists.")
    return user


def view(caller: Caller, deps: AccountsDeps | None = None) -> UserRecord:
    return _me(caller, deps or AccountsDeps())


def rename(caller: Caller, name: str, deps: AccountsDeps | None = None) -> UserRecord:
    deps = deps or AccountsDeps()
    user = _me(caller, deps)
    return deps.users.update(user, name=name)


def notice_channels(user: UserRecord) -> tuple[bool, bool]:
    """(email, sms): how `user` gets non-essential messages (default: email only)."""
    chosen = set((user.notify_by or "email").split("+"))
    return "email" in chosen, "sms" in chosen


def set_notice_channels(caller: Caller, email: bool, sms: bool,
                        deps: AccountsDeps | None = None) -> UserRecord:
    """Choose email and/or SMS for bill, payment and reminder messages."""
    if not (email or sms):
        raise InvalidInput("Choose email, SMS or both: bills must reach you somehow.")
    deps = deps or AccountsDeps()
    user = _me(caller, deps)
    return deps.users.update(user, notify_by="+".join(
        name for name, on in (("email", email), ("sms", sms)) if on))


def start_mobile_change(caller: Caller, mobile: str, client: str,
                        deps: AccountsDeps | None = None) -> SmsChallenge:
    deps = deps or AccountsDeps()
    user = _me(caller, deps)
    if mobile == user.mobile:
        raise InvalidInput("This is already your mobile number.",
                           details=[{"field": "mobile", "message": "Same as the current one."}])
    deps.limiter(client).send_to_user(user.user_id)
    return send_sms_code(deps, MOBILE_CHANGE.name, user.user_id, mobile, mobile,
                         SMS_WORDING[MOBILE_CHANGE.name])


def _redeem_own(caller: Caller, purpose_name: str, challenge: str, code: str, client: str,
                deps: AccountsDeps) -> str | None:
    """Redeem a code the caller asked for; its subject. Someone else's
    challenge is treated as no challenge at all."""
    limiter = deps.limiter(client)
    limiter.check_code()
    limiter.check_code_of(caller.user_id)
    purpose = MOBILE_CHANGE if purpose_name == MOBILE_CHANGE.name else MFA_CHANGE
    if deps.codes.peek(challenge, {purpose.name}).user_id != caller.user_id:
        raise CodeExpired()
    return deps.codes.redeem(purpose, challenge, code).subject


def confirm_mobile_change(caller: Caller, challenge: str, code: str, client: str,
                          deps: AccountsDeps | None = None) -> UserRecord:
    deps = deps or AccountsDeps()
    new_mobile = _redeem_own(caller, MOBILE_CHANGE.name, challenge, code, client, deps)
    if not new_mobile:
        raise CodeExpired()
    user = deps.users.update(_me(caller, deps), mobile=new_mobile, mobile_verified=True)
    logger.info("mobile changed", extra={"user_id": user.user_id,
                                         "mobile": mask_mobile(new_mobile)})
    try:
        deps.notifier.mobile_changed(user.email, user.name, mask_mobile(new_mobile),
                                     lang=user.language)
    except Exception as exc:  # the change stands; the notice is a courtesy
        logger.warning("mobile change notice not sent",
                       extra={"user_id": user.user_id, "error": type(exc).__name__})
    return user


def set_password(caller: Caller, new_password: str, current_password: str | None,
                 deps: AccountsDeps | None = None) -> UserRecord:
    deps = deps or AccountsDeps()
    user = _me(caller, deps)
    if user.password_hash:
        # Same budget as logins, so this is no side door for guessing passwords.
        deps.limiter("").per_user(LOGIN_PER_ACCOUNT, user.user_id)
        if not current_password or not verify_password(current_password, user.password_hash):
            raise InvalidInput("The current password is not correct.", details=[
                {"field": "current_password", "message": "Not correct."}])
    user = deps.users.update(user, password_hash=hash_password(new_password))
    ended = revoke_all_sessions(user.user_id, deps.sessions, keep=caller.session_id)
    logger.info("password set", extra={"user_id": user.user_id, "other_sessions_ended": ended})
    return user


def start_mfa_change(caller: Caller, enabled: bool, client: str,
                     deps: AccountsDeps | None = None) -> SmsChallenge:
    deps = deps or AccountsDeps()
    user = _me(caller, deps)
    if user.role == ROLE_ADMIN and not enabled:
        raise InvalidInput("Two-step sign-in is always on for administrators.")
    if bool(user.mfa_enabled) == enabled:
        raise InvalidInput(f"Two-step sign-in is already {'on' if enabled else 'off'}.")
    deps.limiter(client).send_to_user(user.user_id)
    return send_sms_code(deps, MFA_CHANGE.name, user.user_id, user.mobile,
                         MFA_ON if enabled else MFA_OFF, SMS_WORDING[MFA_CHANGE.name])


def confirm_mfa_change(caller: Caller, challenge: str, code: str, client: str,
                       deps: AccountsDeps | None = None) -> UserRecord:
    deps = deps or AccountsDeps()
    wanted = _redeem_own(caller, MFA_CHANGE.name, challenge, code, client, deps)
    user = _me(caller, deps)
    enabled = wanted == MFA_ON or user.role == ROLE_ADMIN
    user = deps.users.update(user, mfa_enabled=enabled)
    logger.info("mfa changed", extra={"user_id": user.user_id, "mfa_enabled": enabled})
    return user


def set_language(caller: Caller, language: str, deps: AccountsDeps | None = None) -> UserRecord:
    """The language of the portal, emails and SMS for this user (a configured one)."""
    if language not in language_codes():
        raise InvalidInput(f"Choose one of the languages: {', '.join(language_codes())}.")
    deps = deps or AccountsDeps()
    return deps.users.update(_me(caller, deps), language=language)
