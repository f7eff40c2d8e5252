"""The developer outbox (route and CLI) and the bootstrap admin command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from functions.api.blueprints import local_only_blueprints
from tests.fixtures.stack import unique_email, unique_mobile
from tests.integration.accounts_flow import (
    Person,
    confirm_email,
    confirm_mobile,
    finish_mfa,
    login_by_link,
    new_person,
    sign_up,
)

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env}, check=False)


def test_outbox_route_shows_what_was_sent_locally(stack):
    person = new_person()
    sign_up(stack, person)
    response = stack.api.get("/dev/outbox")
    assert response.status_code == 200
    to_person = [m for m in response.json()["emails"] if person.email in m["to"]]
    assert "verify-email.html?token=" in to_person[-1]["body"]


def test_outbox_route_does_not_exist_outside_the_local_stage(stack):
    assert local_only_blueprints("dev") == [] and local_only_blueprints("prod") == []
    probe = ("import json; from app import app; "
             "print(json.dumps(sorted(app.routes)))")
    dev = run(["-c", probe], APP_STAGE="dev")
    assert dev.returncode == 0, dev.stderr
    dev_routes = json.loads(dev.stdout.strip().splitlines()[-1])
    assert "/dev/outbox" not in dev_routes
    assert "/auth/signup" in dev_routes  # the rest of the app is there
    local = run(["-c", probe], APP_STAGE="local")
    assert "/dev/outbox" in json.loads(local.stdout.strip().splitlines()[-1])


def test_outbox_cli_prints_emails_and_sms(stack):
    person = new_person()
    sign_up(stack, person)
    confirm_email(stack, person)
    result = run(["-m", "devstack.outbox", "--to", person.email])
    assert result.returncode == 0, result.stderr
    assert "Confirm your email address" in result.stdout
    assert "verify-email.html?token=" in result.stdout
    sms = run(["-m", "devstack.outbox", "--to", person.mobile, "--json"])
    assert json.loads(sms.stdout)["sms"][0]["to"] == person.mobile
    down = run(["-m", "devstack.outbox"], AWS_ENDPOINT_URL="http://127.0.0.1:9")
    assert down.returncode == 1 and "make run" in down.stderr


def test_bootstrap_admin_command_then_the_usual_confirmation(stack):
    person = Person("First Admin", unique_email("bootstrap"), unique_mobile())
    result = run(["-m", "devstack.admin_cli", "create-admin", "--email", person.email,
                  "--name", person.name, "--mobile", person.mobile])
    assert result.returncode == 0, result.stderr
    assert "make outbox" in result.stdout

    state = confirm_email(stack, person)
    assert confirm_mobile(stack, person, state["sms"]["challenge"])["status"] == "verified"
    api = finish_mfa(stack, person.mobile, login_by_link(stack, person))
    me = api.get("/me").json()
    assert (me["role"], me["status"]) == ("admin", "verified")
    assert api.get("/admin/users").status_code == 200

    again = run(["-m", "devstack.admin_cli", "create-admin", "--email", person.email,
                 "--name", person.name, "--mobile", person.mobile])
    assert again.returncode == 1 and "already exists" in again.stderr
    bad = run(["-m", "devstack.admin_cli", "create-admin", "--email", "x@example.in",
               "--name", "X", "--mobile", "12345"])
    assert bad.returncode == 2 and "mobile" in bad.stderr
