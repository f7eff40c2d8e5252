"""One-time codes and links.

* Random from `secrets`; only a salted SHA-256 of the secret is stored.
* Short-lived (each purpose has its lifetime) and single-use: redeeming is a
  conditional delete, so two requests racing with the same code cannot both win.
* At most MAX_ATTEMPTS tries per code. The try is counted (atomic ADD with a
  condition) *before* the secret is compared, so even a burst of parallel
  guesses gets at most MAX_ATTEMPTS comparisons. After that a new code is needed.

Email links carry "<code id>.<secret>" (the same string is the code a person
can paste); SMS codes are 6 digits and are sent to the person while the API
answers with the code id (the "challenge") that the code completes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError

from functions.core.accounts.models import OneTimeCodeRecord
from functions.core.clock import epoch, utcnow
from functions.core.errors import InvalidInput

MAX_ATTEMPTS = 5
SMS_CODE_DIGITS = 6


@dataclass(frozen=True)
class Purpose:
    name: str
    lifetime: timedelta


EMAIL_VERIFY = Purpose("email_verify", timedelta(hours=1))
LOGIN_LINK = Purpose("login_link", timedelta(minutes=15))
MOBILE_VERIFY = Purpose("mobile_verify", timedelta(minutes=10))
MFA_LOGIN = Purpose("mfa_login", timedelta(minutes=5))
MOBILE_CHANGE = Purpose("mobile_change", timedelta(minutes=10))
MFA_CHANGE = Purpose("mfa_change", timedelta(minutes=10))
SMS_PURPOSES = {p.name: p for p in (MOBILE_VERIFY, MFA_LOGIN, MOBILE_CHANGE, MFA_CHANGE)}


class CodeExpired(InvalidInput):
    code = "code_expired"

    def __init__(self) -> None:
        super().__init__("This code or link has expired or was already used. "
                         "Please ask for a new one.")


class CodeWrong(InvalidInput):
    code = "code_wrong"

    def __init__(self, tries_left: int) -> None:
        super().__init__("The code is not correct.", details={"tries_left": tries_left})


class CodeLocked(InvalidInput):
    code = "code_locked"

    def __init__(self) -> None:
        super().__init__("Too many wrong tries. Please ask for a new code.")


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


class CodeRepository:
    def get(self, code_id: str) -> OneTimeCodeRecord | None:
        try:
            return OneTimeCodeRecord.get(code_id, consistent_read=True)
        except DoesNotExist:
            return None

    def save(self, record: OneTimeCodeRecord) -> None:
        record.save(condition=OneTimeCodeRecord.code_id.does_not_exist())

    def count_attempt(self, code_id: str) -> int | None:
        """Add one try; the new count, or None if the code is gone or used up."""
        record = OneTimeCodeRecord(code_id=code_id)
        try:
            record.update(
                actions=[OneTimeCodeRecord.attempts.add(1)],
                condition=(OneTimeCodeRecord.code_id.exists()
                           & (OneTimeCodeRecord.attempts < MAX_ATTEMPTS)),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return None
            raise
        return int(record.attempts)

    def consume(self, code_id: str) -> bool:
        """Delete the code if it is still there; False if someone else did first."""
        try:
            OneTimeCodeRecord(code_id=code_id).delete(
                condition=OneTimeCodeRecord.code_id.exists())
        except DeleteError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def delete(self, code_id: str) -> None:
        OneTimeCodeRecord(code_id=code_id).delete()


@dataclass(frozen=True)
class IssuedCode:
    challenge: str  # the code id: not secret on its own
    secret: str  # goes to the person only; never stored, never logged
    expires_in: int  # seconds

    @property
    def link_token(self) -> str:
        return f"{self.challenge}.{self.secret}"


class OneTimeCodes:
    def __init__(self, repo: CodeRepository | None = None) -> None:
        self.repo = repo or CodeRepository()

    def _issue(self, purpose: Purpose, user_id: str, secret: str,
               subject: str | None) -> IssuedCode:
        now = utcnow()
        expires = now + purpose.lifetime
        code_id = secrets.token_urlsafe(12)
        salt = secrets.token_hex(16)
        self.repo.save(OneTimeCodeRecord(
            code_id=code_id, purpose=purpose.name, user_id=user_id, salt=salt,
            code_hash=_hash(salt, secret), attempts=0, created_at=now, expires_at=expires,
            expires_at_epoch=epoch(expires), subject=subject,
        ))
        return IssuedCode(code_id, secret, int(purpose.lifetime.total_seconds()))

    def issue_link(self, purpose: Purpose, user_id: str, subject: str | None = None
                   ) -> IssuedCode:
        return self._issue(purpose, user_id, secrets.token_urlsafe(32), subject)

    def issue_sms_code(self, purpose: Purpose, user_id: str, subject: str | None = None
                       ) -> IssuedCode:
        code = f"{secrets.randbelow(10 ** SMS_CODE_DIGITS):0{SMS_CODE_DIGITS}d}"
        return self._issue(purpose, user_id, code, subject)

    def peek(self, challenge: str, purposes: set[str]) -> OneTimeCodeRecord:
        """The live code record (not redeemed), e.g. to rate-limit by its user
        before checking. Raises CodeExpired if there is none."""
        record = self.repo.get(challenge) if _plausible_id(challenge) else None
        if record is None or record.purpose not in purposes:
            raise CodeExpired()
        if record.expires_at <= utcnow():
            self.repo.delete(challenge)
            raise CodeExpired()
        return record

    def redeem(self, purpose: Purpose, challenge: str, secret: str) -> OneTimeCodeRecord:
        """Check ``secret`` against the code and use it up. Returns the record
        (its user_id and subject); raises CodeExpired, CodeWrong or CodeLocked."""
        record = self.peek(challenge, {purpose.name})
        attempts = self.repo.count_attempt(challenge)
        if attempts is None:
            if self.repo.get(challenge) is None:
                raise CodeExpired()
            raise CodeLocked()
        if not hmac.compare_digest(_hash(record.salt, secret), record.code_hash):
            tries_left = MAX_ATTEMPTS - attempts
            if tries_left <= 0:
                raise CodeLocked()
            raise CodeWrong(tries_left)
        if not self.repo.consume(challenge):
            raise CodeExpired()
        return record

    def redeem_link(self, purpose: Purpose, token: str) -> OneTimeCodeRecord:
        challenge, _, secret = token.strip().partition(".")
        if not secret:
            raise CodeExpired()
        return self.redeem(purpose, challenge, secret)

    def discard(self, challenge: str) -> None:
        self.repo.delete(challenge)


def _plausible_id(challenge: str) -> bool:
    return 8 <= len(challenge) <= 64 and all(c.isalnum() or c in "-_" for c in challenge)
