"""The webhook signing secret, shared by the gateway and us. Never in the repo.

Where it comes from, in order:
1. `PAYMENT_WEBHOOK_SECRET` in the environment (for a one-off run).
2. AWS Secrets Manager, secret `PAYMENT_WEBHOOK_SECRET_NAME`
   (default "<resource prefix>-payment-webhook-secret"). In AWS an operator puts
   the gateway's secret there; locally the emulator holds it.
3. Local stage only: if the secret does not exist yet, a random one is created in
   the emulator's Secrets Manager, so a fresh laptop needs no setup. Tests read
   it from the same place.

The value is cached per process for a few minutes, so a rotated secret is picked
up without a redeploy.
"""

from __future__ import annotations

import secrets
import threading
import time

from botocore.exceptions import ClientError
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from functions.core.aws import client
from functions.core.settings import get_settings

CACHE_SECONDS = 300


class PaymentSecretSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    webhook_secret: str = Field(default="", alias="PAYMENT_WEBHOOK_SECRET")
    webhook_secret_name: str = Field(default="", alias="PAYMENT_WEBHOOK_SECRET_NAME")


_lock = threading.Lock()
_cache: dict[tuple[str | None, str], tuple[float, bytes]] = {}


def webhook_secret_name() -> str:
    configured = PaymentSecretSettings().webhook_secret_name
    return configured or get_settings().resource_name("payment-webhook-secret")


def webhook_secret() -> bytes:
    from_env = PaymentSecretSettings().webhook_secret
    if from_env:
        return from_env.encode()
    name = webhook_secret_name()
    key = (get_settings().aws_endpoint_url, name)
    with _lock:
        cached = _cache.get(key)
        if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        value = _read_or_create(name)
        _cache[key] = (time.monotonic(), value)
        return value


def _read_or_create(name: str) -> bytes:
    manager = client("secretsmanager")
    try:
        return str(manager.get_secret_value(SecretId=name)["SecretString"]).encode()
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        if not get_settings().is_local:
            raise RuntimeError(f"payment webhook secret {name!r} is missing from "
                               "Secrets Manager; put the gateway's secret there") from error
    try:
        manager.create_secret(Name=name, SecretString=secrets.token_urlsafe(32),
                              Description="Sandbox payment gateway webhook secret (local)")
    except ClientError as error:
        # Another process created it first: use theirs.
        if error.response["Error"]["Code"] != "ResourceExistsException":
            raise
    return str(manager.get_secret_value(SecretId=name)["SecretString"]).encode()


def clear_cache() -> None:
    with _lock:
        _cache.clear()
