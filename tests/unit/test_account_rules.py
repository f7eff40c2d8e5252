"""Pure rules of accounts: mobile numbers, names, rate-limit windows, code ids."""

from __future__ import annotations

import pytest

from functions.core.accounts.codes import _plausible_id
from functions.core.accounts.users import normalise_email, normalise_mobile, normalise_name
from functions.core.errors import RateLimited
from functions.core.logs import mask_mobile
from functions.core.ratelimit import Limit, RateLimitRepository, enforce, limit_key


@pytest.mark.parametrize(("typed", "stored"), [
    ("+919876543210", "+919876543210"),
    ("+91 98765 43210", "+919876543210"),
    ("+91-98765-43210", "+919876543210"),
    ("+916000000000", "+916000000000"),
])
def test_indian_mobiles_are_accepted_in_plain_form(typed, stored):
    assert normalise_mobile(typed) == stored


@pytest.mark.parametrize("typed", ["9876543210", "+915876543210", "+91987654321",
                                   "+9198765432100", "+449876543210", "+91 98765 4321x",
                                   "", "+91"])
def test_other_numbers_are_refused(typed):
    with pytest.raises(ValueError, match=r"\+91"):
        normalise_mobile(typed)


def test_names_are_tidied_and_bounded():
    assert normalise_name("  Asha   Verma ") == "Asha Verma"
    for bad in ["", "   ", "x" * 101, "Asha\x00Verma"]:
        with pytest.raises(ValueError):
            normalise_name(bad)


def test_emails_compare_case_insensitively():
    assert normalise_email(" Asha@Example.IN ") == "asha@example.in"


def test_masked_mobile_keeps_only_the_country_code_and_last_two_digits():
    masked = mask_mobile("+919876543210")
    assert masked.startswith("+91") and masked.endswith("10")
    assert "98765432" not in masked


class CountingRepo(RateLimitRepository):
    """Stands in for the DynamoDB counter (its conditional ADD is tested over HTTP)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.expiries: dict[str, int] = {}

    def hit(self, bucket: str, max_hits: int, expires_at_epoch: int) -> bool:
        if self.counts.get(bucket, 0) >= max_hits:
            return False
        self.counts[bucket] = self.counts.get(bucket, 0) + 1
        self.expiries[bucket] = expires_at_epoch
        return True


def test_fixed_window_counts_resets_and_says_when_to_retry():
    repo, limit = CountingRepo(), Limit("login", "client", 2, 900)
    start = 1_800_000_000 - 1_800_000_000 % 900
    enforce(limit, "k", repo, now_epoch=start + 10)
    enforce(limit, "k", repo, now_epoch=start + 20)
    with pytest.raises(RateLimited) as refused:
        enforce(limit, "k", repo, now_epoch=start + 100)
    assert refused.value.retry_after == 800
    enforce(limit, "other", repo, now_epoch=start + 100)  # other keys are separate
    enforce(limit, "k", repo, now_epoch=start + 900)  # the next window starts afresh
    assert all(expiry > start for expiry in repo.expiries.values())


def test_limit_keys_do_not_reveal_the_email():
    key = limit_key("Asha@Example.in")
    assert key == limit_key("asha@example.in ")
    assert "asha" not in key


def test_challenge_ids_are_checked_before_any_lookup():
    assert _plausible_id("Abc-def_123456")
    assert not _plausible_id("short")
    assert not _plausible_id("../../etc/passwd")
    assert not _plausible_id("x" * 100)
