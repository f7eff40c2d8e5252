"""Sign-up, confirmation, login and the signed-in user's profile.

Handlers only translate: body model in, service call, response model out.
The rules live in functions/core/accounts/.
"""

from __future__ import annotations

from typing import Annotated, Any

from chalice import Blueprint
from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from functions.api.http import Access, route
from functions.core.accounts import login, profile, signup
from functions.core.accounts.models import UserRecord
from functions.core.accounts.sessions import Caller, revoke_all_sessions, revoke_session
from functions.core.accounts.signup import SmsChallenge, VerificationState
from functions.core.accounts.users import normalise_mobile, normalise_name
from functions.core.i18n import normalise
from functions.core.passwords import MAX_LENGTH, check_policy

bp = Blueprint(__name__)

# -- shapes of the fields ----------------------------------------------------------

Email = Annotated[EmailStr, Field(max_length=254, examples=["asha@example.in"])]
Mobile = Annotated[str, Field(max_length=32, examples=["+919876543210"]),
                   AfterValidator(normalise_mobile)]
Name = Annotated[str, Field(max_length=200, examples=["Asha Verma"]),
                 AfterValidator(normalise_name)]
NewPassword = Annotated[str, Field(max_length=MAX_LENGTH), AfterValidator(check_policy)]
AnyPassword = Annotated[str, Field(min_length=1, max_length=MAX_LENGTH)]
LinkToken = Annotated[str, Field(min_length=10, max_length=200)]
Challenge = Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
SmsCode = Annotated[str, Field(pattern=r"^[0-9]{6}$", examples=["123456"])]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SignupBody(Body):
    name: Name
    email: Email
    mobile: Mobile
    password: NewPassword | None = None
    language: str | None = Field(None, description="The page's language (en, hi, mr): the "
                                 "confirmation email and the account's language",
                                 min_length=2, max_length=8)


class EmailBody(Body):
    email: Email


class TokenBody(Body):
    token: LinkToken


class CodeBody(Body):
    challenge: Challenge
    code: SmsCode


class ChallengeBody(Body):
    challenge: Challenge


class PasswordLoginBody(Body):
    email: Email
    password: AnyPassword


class NameBody(Body):
    name: Name


class NoticeChannelsBody(Body):
    email: bool
    sms: bool


class MobileBody(Body):
    mobile: Mobile


class PasswordBody(Body):
    new_password: NewPassword
    current_password: AnyPassword | None = None


class MfaBody(Body):
    enabled: bool


class LanguageBody(Body):
    language: str = Field(description="A configured language code: en, hi, mr",
                          min_length=2, max_length=8)


# -- answers -------------------------------------------------------------------------

class AccountMessage(BaseModel):
    message: str


class SmsChallengeOut(BaseModel):
    challenge: str
    mobile_hint: str
    expires_in: int

    @classmethod
    def of(cls, sms: SmsChallenge) -> SmsChallengeOut:
        return cls(challenge=sms.challenge, mobile_hint=sms.mobile_hint,
                   expires_in=sms.expires_in)


class VerificationOut(BaseModel):
    status: str
    sms: SmsChallengeOut | None = None

    @classmethod
    def of(cls, state: VerificationState) -> VerificationOut:
        return cls(status=state.status, sms=SmsChallengeOut.of(state.sms) if state.sms else None)


class Profile(BaseModel):
    user_id: str
    name: str
    email: str
    mobile: str
    role: str
    status: str
    status_reason: str | None
    email_verified: bool
    mobile_verified: bool
    mfa_enabled: bool
    has_password: bool
    language: str = "en"  # portal, emails and SMS (functions/core/i18n)
    created_at: str
    notify_email: bool = True  # bill, payment and reminder messages by email
    notify_sms: bool = False  # ... and/or by SMS (sign-in codes go by SMS regardless)

    @classmethod
    def of(cls, user: UserRecord) -> Profile:
        return cls(user_id=user.user_id, name=user.name, email=user.email, mobile=user.mobile,
                   role=user.role, status=user.status, status_reason=user.status_reason,
                   email_verified=bool(user.email_verified),
                   mobile_verified=bool(user.mobile_verified),
                   mfa_enabled=bool(user.mfa_enabled), has_password=bool(user.password_hash),
                   language=normalise(user.language),
                   created_at=user.created_at,
                   **dict(zip(("notify_email", "notify_sms"),
                              profile.notice_channels(user), strict=True)))


class LoginOut(BaseModel):
    status: str  # "signed_in" or "mfa_required"
    token: str | None = None
    expires_in: int | None = None
    mfa: SmsChallengeOut | None = None
    profile: Profile | None = None

    @classmethod
    def of(cls, outcome: login.LoginOutcome) -> LoginOut:
        if outcome.status != "signed_in":
            return cls(status=outcome.status,
                       mfa=SmsChallengeOut.of(outcome.mfa) if outcome.mfa else None)
        return cls(status=outcome.status, token=outcome.token, expires_in=outcome.expires_in,
                   profile=Profile.of(outcome.user))


SIGNUP_ANSWER = AccountMessage(message=(
    "Thank you. If this email address can be used, we have sent a link to confirm it. "
    "Open it to continue."))
LINK_ANSWER = AccountMessage(message=(
    "If an account with this email address can sign in, we have sent it a sign-in link. "
    "It expires in 15 minutes."))
RESEND_ANSWER = AccountMessage(message=(
    "If this email address has a sign-up to finish, we have sent a new confirmation link."))


def client_address() -> str:
    """The caller's address as API Gateway saw it (never a header the caller sets)."""
    context: dict[str, Any] = bp.current_request.context or {}
    return str((context.get("identity") or {}).get("sourceIp") or "")


# -- sign-up -------------------------------------------------------------------------

@route(bp, "/auth/signup", methods=["POST"], access=Access.PUBLIC, body=SignupBody,
       response=AccountMessage, status=202, summary="Customer sign-up (sends an email link)")
def sign_up(body: SignupBody) -> AccountMessage:
    signup.sign_up(signup.NewAccount(body.name, body.email, body.mobile, body.password,
                                     body.language), client_address())
    return SIGNUP_ANSWER


@route(bp, "/auth/signup/resend", methods=["POST"], access=Access.PUBLIC, body=EmailBody,
       response=AccountMessage, status=202, summary="A new confirmation link")
def resend_confirmation(body: EmailBody) -> AccountMessage:
    signup.resend_confirmation(body.email, client_address())
    return RESEND_ANSWER


@route(bp, "/auth/verify-email", methods=["POST"], access=Access.PUBLIC, body=TokenBody,
       response=VerificationOut, summary="Confirm the email (sends the SMS code)")
def verify_email(body: TokenBody) -> VerificationOut:
    return VerificationOut.of(signup.verify_email(body.token, client_address()))


@route(bp, "/auth/verify-mobile", methods=["POST"], access=Access.PUBLIC, body=CodeBody,
       response=VerificationOut, summary="Confirm the mobile number with the SMS code")
def verify_mobile(body: CodeBody) -> VerificationOut:
    return VerificationOut.of(signup.verify_mobile(body.challenge, body.code,
                                                   client_address()))


@route(bp, "/auth/sms/resend", methods=["POST"], access=Access.PUBLIC, body=ChallengeBody,
       response=SmsChallengeOut, summary="A new SMS code in place of a challenge's old one")
def resend_sms(body: ChallengeBody) -> SmsChallengeOut:
    return SmsChallengeOut.of(signup.resend_sms(body.challenge, client_address()))


# -- login ---------------------------------------------------------------------------

@route(bp, "/auth/login/email-link", methods=["POST"], access=Access.PUBLIC, body=EmailBody,
       response=AccountMessage, status=202, summary="Email a single-use sign-in link")
def request_email_link(body: EmailBody) -> AccountMessage:
    login.request_email_link(body.email, client_address())
    return LINK_ANSWER


@route(bp, "/auth/login/link", methods=["POST"], access=Access.PUBLIC, body=TokenBody,
       response=LoginOut, summary="Exchange an email link's token for a session")
def exchange_link(body: TokenBody) -> LoginOut:
    return LoginOut.of(login.exchange_link(body.token, client_address()))


@route(bp, "/auth/login/password", methods=["POST"], access=Access.PUBLIC,
       body=PasswordLoginBody, response=LoginOut, summary="Sign in with a password")
def password_login(body: PasswordLoginBody) -> LoginOut:
    return LoginOut.of(login.password_login(body.email, body.password, client_address()))


@route(bp, "/auth/login/mfa", methods=["POST"], access=Access.PUBLIC, body=CodeBody,
       response=LoginOut, summary="Finish signing in with the SMS code")
def complete_mfa(body: CodeBody) -> LoginOut:
    return LoginOut.of(login.complete_mfa(body.challenge, body.code, client_address()))


@route(bp, "/auth/logout", methods=["POST"], access=Access.USER, response=AccountMessage,
       summary="End this session")
def logout(caller: Caller) -> AccountMessage:
    revoke_session(caller.session_id)
    return AccountMessage(message="Signed out.")


@route(bp, "/auth/logout-all", methods=["POST"], access=Access.USER, response=AccountMessage,
       summary="End every session of this account")
def logout_everywhere(caller: Caller) -> AccountMessage:
    ended = revoke_all_sessions(caller.user_id)
    return AccountMessage(message=f"Signed out of {ended} session(s).")


# -- profile ---------------------------------------------------------------------------

@route(bp, "/me", access=Access.USER, response=Profile, summary="My profile and status")
def my_profile(caller: Caller) -> Profile:
    return Profile.of(profile.view(caller))


@route(bp, "/me", methods=["PATCH"], access=Access.USER, body=NameBody, response=Profile,
       summary="Change my name")
def rename(caller: Caller, body: NameBody) -> Profile:
    return Profile.of(profile.rename(caller, body.name))


@route(bp, "/me/notices", methods=["PUT"], access=Access.USER, body=NoticeChannelsBody,
       response=Profile, summary="Choose email and/or SMS for bill, payment and reminder "
                                 "messages (at least one)")
def set_notice_channels(caller: Caller, body: NoticeChannelsBody) -> Profile:
    return Profile.of(profile.set_notice_channels(caller, body.email, body.sms))


@route(bp, "/me/mobile", methods=["POST"], access=Access.USER, body=MobileBody,
       response=SmsChallengeOut, summary="Start changing my mobile (SMS code to the new one)")
def start_mobile_change(caller: Caller, body: MobileBody) -> SmsChallengeOut:
    return SmsChallengeOut.of(profile.start_mobile_change(caller, body.mobile,
                                                          client_address()))


@route(bp, "/me/mobile/confirm", methods=["POST"], access=Access.USER, body=CodeBody,
       response=Profile, summary="Confirm my new mobile with its SMS code")
def confirm_mobile_change(caller: Caller, body: CodeBody) -> Profile:
    return Profile.of(profile.confirm_mobile_change(caller, body.challenge, body.code,
                                                    client_address()))


@route(bp, "/me/password", methods=["PUT"], access=Access.USER, body=PasswordBody,
       response=Profile, summary="Set or change my password")
def set_password(caller: Caller, body: PasswordBody) -> Profile:
    return Profile.of(profile.set_password(caller, body.new_password, body.current_password))


@route(bp, "/me/mfa", methods=["POST"], access=Access.USER, body=MfaBody,
       response=SmsChallengeOut, summary="Start turning two-step sign-in on or off")
def start_mfa_change(caller: Caller, body: MfaBody) -> SmsChallengeOut:
    return SmsChallengeOut.of(profile.start_mfa_change(caller, body.enabled,
                                                       client_address()))


@route(bp, "/me/mfa/confirm", methods=["POST"], access=Access.USER, body=CodeBody,
       response=Profile, summary="Confirm the two-step sign-in change with the SMS code")
def confirm_mfa_change(caller: Caller, body: CodeBody) -> Profile:
    return Profile.of(profile.confirm_mfa_change(caller, body.challenge, body.code,
                                                 client_address()))


@route(bp, "/me/language", methods=["PUT"], access=Access.USER, body=LanguageBody,
       response=Profile, summary="Choose my language (portal, emails and SMS)")
def set_language(caller: Caller, body: LanguageBody) -> Profile:
    return Profile.of(profile.set_language(caller, body.language))
