"""Consumer numbers: the short number a customer quotes at a cash counter, on a call
or as a payment reference.

Ten digits: a nine-digit serial (from 100000001 up) and a Verhoeff check digit. The
Verhoeff scheme (the one Aadhaar uses) catches every single-digit error and every swap
of two adjacent digits, so a mistyped number is refused before anything is looked up,
instead of paying someone else's bill.

Assigned once, when a connection (a property) is registered, from an atomic counter
(DynamoDB ADD on one item of the shared counters table) and never reused: a number
taken by a registration that then failed is simply skipped. One counter item is
fine here because numbers are assigned when a property is created (a person's
action, a few per second at most), never per meter during a billing run.
"""

from __future__ import annotations

import re

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.core.db import registered, table_meta
from functions.core.errors import InvalidInput

COUNTER_NAME = "consumer-number"
SERIAL_BASE = 100_000_000  # serial n gets the nine digits SERIAL_BASE + n
LENGTH = 10

# Verhoeff's tables: multiplication in the dihedral group D5, the permutation, the inverse.
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6), (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4), (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2), (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)

_SEPARATORS = re.compile(r"[\s\-]+")


def check_digit(digits: str) -> str:
    """The Verhoeff check digit to append to `digits`."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[(i + 1) % 8][int(ch)]]
    return str(_INV[c])


def is_valid(number: str) -> bool:
    if not number.isdigit() or not number.isascii():
        return False
    c = 0
    for i, ch in enumerate(reversed(number)):
        c = _D[c][_P[i % 8][int(ch)]]
    return c == 0


def from_serial(serial: int) -> str:
    body = str(SERIAL_BASE + serial)
    return body + check_digit(body)


def parse(text: str) -> str:
    """A consumer number as typed (spaces and dashes allowed) -> its ten digits, or
    InvalidInput with a message a customer can act on."""
    number = _SEPARATORS.sub("", text or "")
    if not number.isascii() or not number.isdigit() or len(number) != LENGTH:
        raise InvalidInput(f"A consumer number has {LENGTH} digits. It is printed at the "
                           "top of your bill.")
    if not is_valid(number):
        raise InvalidInput("This consumer number is not valid: a digit is wrong or two "
                           "digits are swapped. Check it against your bill.")
    return number


def display(number: str) -> str:
    """Grouped for reading aloud: 1000 0000 17."""
    return f"{number[:4]} {number[4:8]} {number[8:]}" if len(number) == LENGTH else number


@registered
class ConsumerNumberCounter(Model):
    """The row "consumer-number" of the shared counters table."""

    Meta = table_meta("counters")

    name = UnicodeAttribute(hash_key=True)
    value = NumberAttribute(default=0)


def next_consumer_number() -> str:
    """A new consumer number, never handed out before (atomic ADD)."""
    counter = ConsumerNumberCounter(name=COUNTER_NAME)
    counter.update(actions=[ConsumerNumberCounter.value.add(1)])
    return from_serial(int(counter.value))
