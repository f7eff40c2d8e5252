"""Password hashing: PBKDF2-HMAC-SHA256 in the `pbkdf2:sha256:<iterations>$<salt>$<hex>` format.

Today's count is OWASP's 600000. Hashes made by the old system with 50000
iterations still verify; `needs_rehash` tells the login service to store a new
600000 hash after the next successful login. Digests are compared in constant
time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

ITERATIONS = 600_000
LEGACY_ITERATIONS = 50_000
# Anything outside this range did not come from us (or the old system): a stored
# hash with a huge count would make every login attempt a denial of service.
MIN_ITERATIONS = LEGACY_ITERATIONS
MAX_ITERATIONS = 5_000_000
SALT_LENGTH = 16
SALT_ALPHABET = string.ascii_letters + string.digits
PREFIX = "pbkdf2:sha256:"

MIN_LENGTH = 10
MAX_LENGTH = 128
# The worst offenders from public breach lists that pass the length rule.
COMMON_PASSWORDS = frozenset({
    "1234567890", "12345678910", "123456789012", "0987654321", "1111111111",
    "qwertyuiop", "password12", "password123", "password1234", "passw0rd123",
    "iloveyou123", "abcdefghij", "abc1234567", "qwerty1234", "qwerty12345",
    "1q2w3e4r5t", "1qaz2wsx3edc", "asdfghjkl1", "welcome123", "admin12345",
    "india12345", "password@123", "Password@123", "Password123", "Welcome@123",
})


class PasswordPolicyError(ValueError):
    """The password does not meet the policy (the message says why)."""


def check_policy(password: str) -> str:
    """Return the password if it meets the policy, else raise PasswordPolicyError.

    NIST SP 800-63B style: length matters, composition rules do not; very
    common passwords are refused.
    """
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"Use at most {MAX_LENGTH} characters.")
    if not password.strip() or len(set(password)) < 4:
        raise PasswordPolicyError("Use a less repetitive password.")
    if password in COMMON_PASSWORDS or password.lower() in COMMON_PASSWORDS:
        raise PasswordPolicyError("This password is too common.")
    return password


def _digest(password: str, salt: str, iterations: int) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations).hex()


def hash_password(password: str, iterations: int = ITERATIONS) -> str:
    salt = "".join(secrets.choice(SALT_ALPHABET) for _ in range(SALT_LENGTH))
    return f"{PREFIX}{iterations}${salt}${_digest(password, salt, iterations)}"


def _parse(stored: str) -> tuple[int, str, str] | None:
    if not stored.startswith(PREFIX):
        return None
    try:
        count, salt, digest = stored[len(PREFIX):].split("$")
        iterations = int(count)
    except ValueError:
        return None
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS or not salt or not digest:
        return None
    return iterations, salt, digest


def verify_password(password: str, stored: str | None) -> bool:
    """True if ``password`` matches ``stored``. With no (or a malformed) stored
    hash the work is still done, so a caller cannot tell the cases apart by time."""
    parsed = _parse(stored) if stored else None
    if parsed is None:
        hmac.compare_digest(_digest(password, _DUMMY_SALT, ITERATIONS), _DUMMY_DIGEST)
        return False
    iterations, salt, digest = parsed
    return hmac.compare_digest(_digest(password, salt, iterations), digest)


def needs_rehash(stored: str) -> bool:
    parsed = _parse(stored)
    return parsed is None or parsed[0] != ITERATIONS


_DUMMY_SALT = "0" * SALT_LENGTH
_DUMMY_DIGEST = "0" * 64
