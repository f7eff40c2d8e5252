"""Rate limits of the account endpoints, per account and per client address.

Per-client limits are looser than per-account ones: many honest people can
share one address (an office, a mobile carrier's NAT). Per-code tries are
limited separately (codes.MAX_ATTEMPTS).
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.core.ratelimit import Limit, RateLimitRepository, enforce, limit_key

SIGNUP_PER_CLIENT = Limit("signup", "client", 20, 3600)
SIGNUP_PER_EMAIL = Limit("signup", "account", 3, 3600)
LOGIN_PER_CLIENT = Limit("login", "client", 60, 900)
LOGIN_PER_ACCOUNT = Limit("login", "account", 10, 900)
SEND_PER_CLIENT = Limit("send_code", "client", 30, 900)
SEND_PER_ACCOUNT = Limit("send_code", "account", 5, 900)
CHECK_PER_CLIENT = Limit("check_code", "client", 60, 900)
CHECK_PER_ACCOUNT = Limit("check_code", "account", 20, 900)


@dataclass
class Limiter:
    """Counts hits for one request; ``client`` is the caller's source address."""

    client: str
    repo: RateLimitRepository | None = None

    def per_client(self, limit: Limit) -> None:
        enforce(limit, limit_key(self.client or "unknown"), self.repo)

    def per_email(self, limit: Limit, email: str) -> None:
        enforce(limit, "email-" + limit_key(email), self.repo)

    def per_user(self, limit: Limit, user_id: str) -> None:
        enforce(limit, "user-" + user_id, self.repo)

    def signup(self, email: str) -> None:
        self.per_client(SIGNUP_PER_CLIENT)
        self.per_email(SIGNUP_PER_EMAIL, email)

    def login(self, email: str) -> None:
        self.per_client(LOGIN_PER_CLIENT)
        self.per_email(LOGIN_PER_ACCOUNT, email)

    def send_to_email(self, email: str) -> None:
        self.per_client(SEND_PER_CLIENT)
        self.per_email(SEND_PER_ACCOUNT, email)

    def send_to_user(self, user_id: str) -> None:
        self.per_client(SEND_PER_CLIENT)
        self.per_user(SEND_PER_ACCOUNT, user_id)

    def check_code(self) -> None:
        self.per_client(CHECK_PER_CLIENT)

    def check_code_of(self, user_id: str) -> None:
        self.per_user(CHECK_PER_ACCOUNT, user_id)
