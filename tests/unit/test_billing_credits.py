"""Issue 16, item 3: a credit is netted against what the payer owes, never paid out."""

from __future__ import annotations

import pytest

from functions.core.billing_rules.credits import OpenBill, net


def test_an_ordinary_bill_with_nothing_open_asks_its_charges():
    result = net(138_000, 0, [])
    assert (result.total_paise, result.carried_paise, result.arrears_paise) == (138_000, 0, 0)
    assert result.total_payable_paise == 138_000


def test_arrears_are_the_open_bills_with_their_surcharge():
    result = net(50_000, 0, [OpenBill("A", 100_000, 1_500), OpenBill("B", 80_000)])
    assert result.total_paise == 50_000
    assert (result.arrears_paise, result.arrears_surcharge_paise) == (181_500, 1_500)
    assert result.total_payable_paise == 231_500
    assert [b.bill_id for b in result.arrears] == ["A", "B"]


def test_a_credit_is_netted_against_open_bills_oldest_first_then_carried():
    # A true-up credit of 1,200.00: the older bill (1,000.00 + 15.00 surcharge)
    # is cleared, the next reduced by 185.00.
    result = net(-120_000, 0, [OpenBill("A", 100_000, 1_500), OpenBill("B", 80_000)])
    assert result.total_paise == 0
    assert [(a.bill_id, a.from_total_paise, a.from_surcharge_paise) for a in result.applied] \
        == [("A", 100_000, 1_500), ("B", 18_500, 0)]
    assert result.carried_paise == 0
    assert [(b.bill_id, b.due_paise) for b in result.arrears] == [("B", 61_500)]
    assert result.total_payable_paise == 61_500


def test_a_credit_larger_than_what_is_owed_is_carried_to_the_next_bill():
    result = net(-30_000, 0, [OpenBill("A", 10_000)])
    assert (result.total_paise, result.credit_to_open_bills_paise, result.carried_paise) == (
        0, 10_000, 20_000)
    assert result.arrears == ()
    nxt = net(50_000, result.carried_paise, [])
    assert (nxt.total_paise, nxt.carried_paise) == (30_000, 0)


def test_a_credit_brought_forward_larger_than_the_charges_moves_on():
    result = net(15_000, 20_000, [])
    assert (result.total_paise, result.carried_paise) == (0, 5_000)


def test_nothing_is_ever_negative():
    for charges in (-1, -10**9, 0, 1):
        result = net(charges, 7, [OpenBill("A", 3, 2)])
        assert result.total_paise >= 0 and result.carried_paise >= 0
        assert all(b.due_paise >= 0 for b in result.arrears)
        # Every paisa of credit is accounted for exactly once.
        credit = max(0, 7 - charges)
        assert result.credit_to_open_bills_paise + result.carried_paise == credit
    with pytest.raises(ValueError):
        net(100, -1, [])
