"""The IoT server key gets its value from the setup, whether the secret is
missing (local emulator) or was created empty by the resources stack (AWS)."""

from __future__ import annotations

import uuid

from functions.core.aws import client
from functions.core.meters.server_key import ServerKeyStore


def test_setup_fills_a_secret_that_the_stack_created_empty(emulator):
    name = f"iotbill-test-empty-key-{uuid.uuid4().hex[:6]}"
    client("secretsmanager").create_secret(Name=name, Description="created by the stack")
    store = ServerKeyStore(name)

    assert store.ensure() == "filled"
    first = client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    assert store.ensure() == "exists"
    assert client("secretsmanager").get_secret_value(SecretId=name)["SecretString"] == first


def test_setup_creates_a_missing_secret_once(emulator):
    name = f"iotbill-test-new-key-{uuid.uuid4().hex[:6]}"
    store = ServerKeyStore(name)
    assert store.ensure() == "created"
    assert store.ensure() == "exists"
