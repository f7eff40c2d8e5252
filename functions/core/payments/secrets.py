"""The payment gateway's credentials: API key id, key secret and webhook secret.
Never in the repo, never in a template.

One Secrets Manager secret holds all three as JSON:

    {"key_id": "rzp_test_...", "key_secret": "...", "webhook_secret": "..."}

Its name is `PAYMENT_GATEWAY_SECRET_NAME` (default
"<resource prefix>-payment-gateway-secret"). In AWS an operator puts the
Razorpay keys there (docs/payments.md, "Going live"); locally the emulator
holds it, and on the local stage a missing secret is created with random
sandbox keys, so a fresh laptop needs no setup. The local Razorpay sandbox
reads the same secret, as the real gateway knows the keys of its merchant.

`RAZORPAY_KEY_ID` / `RAZORPAY_KEY_SECRET` / `RAZORPAY_WEBHOOK_SECRET` in the
environment override it for a one-off run (all three or none).

The value is cached per process for a few minutes, so rotated keys are picked
up without a redeploy.
"""

from __future__ import annotations

import json
import secrets
import string
import threading
import time
from dataclasses import dataclass

from botocore.exceptions import ClientError
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from functions.core.aws import client
from functions.core.settings import get_settings

CACHE_SECONDS = 300


class GatewaySecretSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    secret_name: str = Field(default="", alias="PAYMENT_GATEWAY_SECRET_NAME")
    key_id: str = Field(default="", alias="RAZORPAY_KEY_ID")
    key_secret: str = Field(default="", alias="RAZORPAY_KEY_SECRET")
    webhook_secret: str = Field(default="", alias="RAZORPAY_WEBHOOK_SECRET")


@dataclass(frozen=True)
class GatewayKeys:
    key_id: str
    key_secret: str
    webhook_secret: str

    def __repr__(self) -> str:  # never print a secret by accident
        return f"GatewayKeys(key_id={self.key_id!r}, key_secret=***, webhook_secret=***)"

    @property
    def test_mode(self) -> bool:
        return self.key_id.startswith("rzp_test_")


_lock = threading.Lock()
_cache: dict[tuple[str | None, str], tuple[float, GatewayKeys]] = {}


def gateway_secret_name() -> str:
    configured = GatewaySecretSettings().secret_name
    return configured or get_settings().resource_name("payment-gateway-secret")


# The name infra/ and its drift test know the secret by.
webhook_secret_name = gateway_secret_name


def gateway_keys() -> GatewayKeys:
    env = GatewaySecretSettings()
    if env.key_id and env.key_secret and env.webhook_secret:
        return GatewayKeys(env.key_id, env.key_secret, env.webhook_secret)
    name = gateway_secret_name()
    key = (get_settings().aws_endpoint_url, name)
    with _lock:
        cached = _cache.get(key)
        if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        value = _parse(name, _read_or_create(name))
        _cache[key] = (time.monotonic(), value)
        return value


def webhook_secret() -> bytes:
    return gateway_keys().webhook_secret.encode()


def _parse(name: str, text: str) -> GatewayKeys:
    try:
        data = json.loads(text)
        keys = GatewayKeys(str(data["key_id"]), str(data["key_secret"]),
                           str(data["webhook_secret"]))
    except (ValueError, KeyError, TypeError) as error:
        raise RuntimeError(f"payment gateway secret {name!r} is not JSON with key_id, "
                           "key_secret and webhook_secret") from error
    if not (keys.key_id and keys.key_secret and keys.webhook_secret):
        raise RuntimeError(f"payment gateway secret {name!r} has an empty field")
    return keys


def sandbox_keys_json() -> str:
    """Random keys in Razorpay's format, for the local sandbox account."""
    alphabet = string.ascii_letters + string.digits
    key_id = "rzp_test_" + "".join(secrets.choice(alphabet) for _ in range(14))
    key_secret = "".join(secrets.choice(alphabet) for _ in range(24))
    return json.dumps({"key_id": key_id, "key_secret": key_secret,
                       "webhook_secret": secrets.token_urlsafe(24)})


def _read_or_create(name: str) -> str:
    manager = client("secretsmanager")
    try:
        return str(manager.get_secret_value(SecretId=name)["SecretString"])
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        if not get_settings().is_local:
            raise RuntimeError(f"payment gateway secret {name!r} has no value in Secrets "
                               "Manager; put the Razorpay keys there (docs/payments.md)") \
                from error
    try:
        manager.create_secret(Name=name, SecretString=sandbox_keys_json(),
                              Description="Razorpay sandbox keys (local stage)")
    except ClientError as error:
        # Another process created it first: use theirs.
        if error.response["Error"]["Code"] != "ResourceExistsException":
            raise
    return str(manager.get_secret_value(SecretId=name)["SecretString"])


def clear_cache() -> None:
    with _lock:
        _cache.clear()
