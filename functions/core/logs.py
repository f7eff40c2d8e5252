"""Structured JSON logging (Powertools). Never log passwords, codes, tokens or
full mobile numbers: log ids, and `mask_mobile` where a number helps support."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from functions.core.settings import get_settings

logger = Logger(service="iot-billing", level=get_settings().log_level)


def mask_mobile(mobile: str) -> str:
    return mobile[:3] + "*" * max(0, len(mobile) - 5) + mobile[-2:] if len(mobile) > 5 else "***"


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
