"""boto3 clients, all built from Settings so one endpoint switch covers them."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from functions.core.settings import get_settings

_lock = threading.Lock()
_clients: dict[tuple[str, str | None, str], Any] = {}

# Adaptive retries absorb throttling in AWS; short timeouts keep a stuck call
# from eating a whole Lambda invocation.
_CONFIG = Config(
    retries={"max_attempts": 5, "mode": "adaptive"},
    connect_timeout=3,
    read_timeout=10,
    max_pool_connections=32,
)


def client(service: str) -> Any:
    """A cached client for ``service`` at the configured endpoint and region."""
    settings = get_settings()
    endpoint = settings.endpoint_for(service)
    key = (service, endpoint, settings.aws_region)
    with _lock:
        if key not in _clients:
            _clients[key] = boto3.session.Session().client(
                service,  # type: ignore[call-overload]
                region_name=settings.aws_region,
                endpoint_url=endpoint,
                config=_CONFIG,
            )
        return _clients[key]


def reset_clients() -> None:
    with _lock:
        _clients.clear()
