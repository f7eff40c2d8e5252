"""Test wiring. The environment is fixed here, before any project module is
imported, so every module reads the same settings: a dedicated resource
prefix and an emulator port of our own."""

from __future__ import annotations

import os

from devstack.emulator import free_port

os.environ.update({
    "APP_STAGE": "local",
    "RESOURCE_PREFIX": "iotbill-test",
    "AWS_DEFAULT_REGION": "ap-south-1",
    # The emulator accepts any credentials; these are placeholders, not secrets.
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
    # The browser tests serve the portal here; the API's CORS allows this origin only.
    "PORTAL_ORIGIN": f"http://127.0.0.1:{free_port()}",
    "POWERTOOLS_METRICS_NAMESPACE": "iot-billing-test",
})
os.environ.pop("AWS_PROFILE", None)

pytest_plugins = ["tests.fixtures.stack"]
