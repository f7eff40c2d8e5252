from __future__ import annotations

import hashlib

import pytest

from functions.core.passwords import (
    ITERATIONS,
    LEGACY_ITERATIONS,
    PasswordPolicyError,
    check_policy,
    hash_password,
    needs_rehash,
    verify_password,
)


def test_hash_has_the_documented_format():
    stored = hash_password("correct horse battery")
    method, salt, digest = stored.split("$")
    assert method == f"pbkdf2:sha256:{ITERATIONS}" == "pbkdf2:sha256:600000"
    assert len(salt) == 16 and salt.isalnum()
    expected = hashlib.pbkdf2_hmac("sha256", b"correct horse battery", salt.encode(), 600000)
    assert digest == expected.hex()


def test_salts_differ_so_equal_passwords_hash_differently():
    assert hash_password("same password!") != hash_password("same password!")


def test_verify_accepts_the_right_password_only():
    stored = hash_password("monsoon-kite-97")
    assert verify_password("monsoon-kite-97", stored)
    assert not verify_password("monsoon-kite-98", stored)
    assert not verify_password("", stored)


def test_legacy_50000_hashes_verify_and_ask_for_a_rehash():
    salt = "AbCdEfGh12345678"
    digest = hashlib.pbkdf2_hmac("sha256", b"old-secret", salt.encode(), 50000).hex()
    legacy = f"pbkdf2:sha256:50000${salt}${digest}"
    assert verify_password("old-secret", legacy)
    assert not verify_password("old-secret!", legacy)
    assert needs_rehash(legacy)
    assert not needs_rehash(hash_password("old-secret"))
    assert hash_password("x" * 12, iterations=LEGACY_ITERATIONS).startswith(
        "pbkdf2:sha256:50000$")


@pytest.mark.parametrize("stored", [
    None, "", "plain-text", "pbkdf2:sha256:600000$onlysalt", "md5:abc$def$ghi",
    "pbkdf2:sha256:notanumber$salt$digest", "pbkdf2:sha256:1000$salt$digest",
    "pbkdf2:sha256:999999999$salt$digest",
])
def test_missing_or_malformed_hashes_never_verify(stored):
    assert not verify_password("anything-at-all", stored)


@pytest.mark.parametrize("password", ["short", "x" * 9, "a" * 20, "1234567890",
                                      "Password123", "y" * 129])
def test_policy_refuses_short_repetitive_common_and_huge(password):
    with pytest.raises(PasswordPolicyError):
        check_policy(password)


@pytest.mark.parametrize("password", ["tulsi-garden-42", "correct horse battery",
                                      "ज़मीन-आसमान-42"])
def test_policy_accepts_long_passphrases(password):
    assert check_policy(password) == password
