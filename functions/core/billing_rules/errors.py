"""Errors raised by the billing rules.

They are domain errors (functions/core/errors.py), so the API maps them to HTTP
in its one place. The 400-type ones are also ValueErrors, so a pydantic
validator that raises one produces an ordinary ValidationError.
"""

from __future__ import annotations

from functions.core.errors import InvalidInput, NotFound


class BillingRuleError(InvalidInput, ValueError):
    """Input that the billing rules cannot work with (400)."""


class InvalidPeriod(BillingRuleError):
    """A billing period that is not a valid "YYYY-MM"."""


class InvalidOccupancy(BillingRuleError):
    """Occupancy spans that do not tile the billing period exactly."""


class TariffNotFound(NotFound, LookupError):
    """No tariff version of a category is in force on a date."""
