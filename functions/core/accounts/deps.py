"""What the account services work with, bundled so a test or another entry
point (the bootstrap CLI) can hand in its own."""

from __future__ import annotations

from dataclasses import dataclass, field

from functions.core.accounts.codes import OneTimeCodes
from functions.core.accounts.limits import Limiter
from functions.core.accounts.mailer import Notifier
from functions.core.accounts.sessions import SessionRepository
from functions.core.accounts.users import UserRepository
from functions.core.errors import DomainError
from functions.core.ratelimit import RateLimitRepository


@dataclass
class AccountsDeps:
    users: UserRepository = field(default_factory=UserRepository)
    codes: OneTimeCodes = field(default_factory=OneTimeCodes)
    sessions: SessionRepository = field(default_factory=SessionRepository)
    notifier: Notifier = field(default_factory=Notifier)
    rate_limits: RateLimitRepository = field(default_factory=RateLimitRepository)

    def limiter(self, client: str) -> Limiter:
        return Limiter(client, self.rate_limits)


class DeliveryFailed(DomainError):
    """SES or SNS refused a message; nothing was left half-done."""

    status = 503
    code = "delivery_failed"
