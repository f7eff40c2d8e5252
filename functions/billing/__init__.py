"""The billing function (SQS: readings queue). See handler.py."""

from functions.billing.handler import bp

__all__ = ["bp"]
