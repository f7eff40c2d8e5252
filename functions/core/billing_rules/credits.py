"""Netting a bill's charges against what its payer owes (issue 16).

An over-estimate's true-up can make a period's charges negative: a credit. A
credit is never paid out and a bill never asks for a negative amount; it is
netted, in integer paise:

1. the credit brought forward from the payer's previous bill of the property
   (what was left of an earlier credit) is taken off this bill's charges;
2. if that leaves a credit, it is netted against the payer's open (unpaid)
   earlier bills of the property in the order given (the caller puts the
   over-estimated bills being trued up first, then the others oldest first):
   first their bill amount, then any late-payment surcharge they carry;
3. what is still left is carried forward to the payer's next bill;
4. arrears brought forward are the open bills' amounts due after that, and the
   total payable is this bill's amount plus the arrears.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class OpenBill:
    """An unpaid earlier bill of the payer: its amount and late surcharge (paise)."""

    bill_id: str
    total_paise: int
    surcharge_paise: int = 0

    @property
    def due_paise(self) -> int:
        return self.total_paise + self.surcharge_paise


@dataclass(frozen=True)
class CreditApplied:
    """Credit netted against one open bill: off its amount, then its surcharge."""

    bill_id: str
    from_total_paise: int
    from_surcharge_paise: int

    @property
    def paise(self) -> int:
        return self.from_total_paise + self.from_surcharge_paise


@dataclass(frozen=True)
class Netting:
    charges_paise: int  # the period's charges (negative: a credit)
    credit_brought_forward_paise: int  # taken off the charges
    total_paise: int  # what this bill asks to be paid, never negative
    applied: tuple[CreditApplied, ...] = ()  # credit netted against open bills
    carried_paise: int = 0  # credit left for the payer's next bill
    arrears: tuple[OpenBill, ...] = field(default=())  # open bills after netting

    @property
    def credit_to_open_bills_paise(self) -> int:
        return sum(a.paise for a in self.applied)

    @property
    def arrears_paise(self) -> int:
        return sum(b.due_paise for b in self.arrears)

    @property
    def arrears_surcharge_paise(self) -> int:
        return sum(b.surcharge_paise for b in self.arrears)

    @property
    def total_payable_paise(self) -> int:
        return self.total_paise + self.arrears_paise


def net(charges_paise: int, credit_brought_forward_paise: int,
        open_bills: Sequence[OpenBill]) -> Netting:
    """The rule in the module docstring. `open_bills`: in the order to net them."""
    if credit_brought_forward_paise < 0:
        raise ValueError("a credit brought forward cannot be negative")
    if any(b.total_paise < 0 or b.surcharge_paise < 0 for b in open_bills):
        raise ValueError("an open bill cannot owe a negative amount")
    net_paise = charges_paise - credit_brought_forward_paise
    credit = max(0, -net_paise)
    applied: list[CreditApplied] = []
    arrears: list[OpenBill] = []
    for bill in open_bills:
        from_total = min(credit, bill.total_paise)
        from_surcharge = min(credit - from_total, bill.surcharge_paise)
        credit -= from_total + from_surcharge
        if from_total or from_surcharge:
            applied.append(CreditApplied(bill.bill_id, from_total, from_surcharge))
        left = OpenBill(bill.bill_id, bill.total_paise - from_total,
                        bill.surcharge_paise - from_surcharge)
        if left.due_paise > 0:
            arrears.append(left)
    return Netting(charges_paise=charges_paise,
                   credit_brought_forward_paise=credit_brought_forward_paise,
                   total_paise=max(0, net_paise), applied=tuple(applied),
                   carried_paise=credit, arrears=tuple(arrears))
