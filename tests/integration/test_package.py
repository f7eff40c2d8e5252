"""The Lambda package as AWS would run it: built with `chalice package`
(Lambda-platform wheels from the package registry), then imported from the
extracted zip alone, in a Python that sees nothing but the zip and the
standard library."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from functions.core.resources import QUEUES
from infra.app_template import functions_of
from infra.lint import lint
from infra.package import Build, build
from infra.stages import FUNCTIONS, stage_config

pytestmark = pytest.mark.package

STAGE = stage_config("dev")

# Runs inside the zip-only interpreter: imports the app, every module of the
# handler packages and every function's Handler exactly as Lambda resolves it.
PROBE = r"""
import importlib, json, os, pkgutil, sys
root = sys.argv[1]
sys.path[:] = [root] + [p for p in sys.path if "site-packages" not in p and p]
handlers = json.loads(sys.argv[2])
import app as app_module
modules = []
for package_name in ("functions.api", "functions.billing", "functions.iot_fanout",
                     "functions.notifications"):
    package = importlib.import_module(package_name)
    modules.append(package_name)
    for info in pkgutil.walk_packages(package.__path__, package_name + "."):
        importlib.import_module(info.name)
        modules.append(info.name)
from functions.core.notifications.templates import render_email, render_sms
rendered = [render_email("account_verified", name="Zip", portal="p").subject,
            render_sms("one_time_code", code="123456", purpose="sign in", minutes=5).text]
resolved = {}
for function, handler in handlers.items():
    module_name, attribute = handler.rsplit(".", 1)
    resolved[function] = callable(getattr(importlib.import_module(module_name), attribute))
app = app_module.app
origins = sorted({os.path.dirname(m.__file__) for m in list(sys.modules.values())
                  if getattr(m, "__file__", None) and "site-packages" in m.__file__})
print(json.dumps({
    "modules": modules,
    "handler_map": sorted(app.handler_map),
    "routes": len(app.routes),
    "resolved": resolved,
    "site_packages_modules": origins,
    "sys_path": sys.path,
    "rendered": rendered,
}))
"""


@pytest.fixture(scope="module")
def package() -> Build:
    return build(STAGE.name)


@pytest.fixture(scope="module")
def app_template(package: Build) -> dict[str, Any]:
    return dict(json.loads(package.app_template.read_text()))


@pytest.fixture(scope="module")
def extracted(package: Build, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("lambda-zip")
    with zipfile.ZipFile(package.zip_path) as archive:
        archive.extractall(target)
    return target


@pytest.fixture(scope="module")
def probe(extracted: Path, app_template: dict[str, Any]) -> dict[str, Any]:
    handlers = {name: resource["Properties"]["Handler"]
                for name, resource in functions_of(app_template).items()}
    # -I: no user site, no PYTHON* variables; -S: no site-packages; -B: no .pyc.
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", PROBE, str(extracted), json.dumps(handlers)],
        cwd=extracted, capture_output=True, text=True, timeout=120,
        env={"APP_STAGE": STAGE.name, "RESOURCE_PREFIX": STAGE.prefix,
             "AWS_DEFAULT_REGION": STAGE.region, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_zip_carries_the_app_and_the_functions_package(package: Build) -> None:
    with zipfile.ZipFile(package.zip_path) as archive:
        names = set(archive.namelist())
    assert "app.py" in names
    assert "functions/api/http.py" in names
    assert "functions/core/resources.py" in names
    assert "chalice/app.py" in names  # Chalice's runtime half
    # The notifications' templates and their engine travel with the code.
    assert "functions/core/notifications/templates/email/bill_issued.txt.j2" in names
    assert "functions/core/notifications/sms_templates.toml" in names
    assert "jinja2/__init__.py" in names
    assert not any(name.startswith("vendor/") for name in names)
    assert not any("__pycache__" in name for name in names)
    # Native wheels are built for Lambda's platform, not for this laptop by chance.
    natives = [n for n in names if n.endswith(".so")]
    assert any(n.startswith("pydantic_core/") for n in natives)
    assert any(n.startswith("coincurve/") for n in natives)
    assert all("x86_64-linux-gnu" in n or "abi3" in n for n in natives), natives


def test_every_handler_module_imports_from_the_zip_alone(probe: dict[str, Any],
                                                        extracted: Path) -> None:
    assert probe["site_packages_modules"] == []
    assert all(p.startswith(str(extracted)) or "site-packages" not in p
               for p in probe["sys_path"])
    assert "functions.api.http" in probe["modules"]
    assert any(m.startswith("functions.billing.") for m in probe["modules"]), probe["modules"]
    assert any(m.startswith("functions.iot_fanout.") for m in probe["modules"]), probe["modules"]
    assert probe["resolved"] and all(probe["resolved"].values()), probe["resolved"]
    assert probe["routes"] > 0
    assert probe["rendered"][0] == "Your Discom Smart Billing account is verified"
    assert probe["rendered"][1].startswith("123456 is your Discom Smart Billing code")


def test_the_app_in_the_zip_defines_every_function(probe: dict[str, Any],
                                                   app_template: dict[str, Any]) -> None:
    non_http = [f for f in FUNCTIONS if f != "api_handler"]
    missing = [f for f in non_http if f not in probe["handler_map"]]
    assert missing == [], f"the packaged app has no handler named {missing}"
    assert set(functions_of(app_template)) == {STAGE.function_name(f) for f in FUNCTIONS}


def test_sqs_functions_report_partial_batch_failures(app_template: dict[str, Any]) -> None:
    queues_seen = set()
    for name, resource in functions_of(app_template).items():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            properties = event["Properties"]
            assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"], name
            assert properties["ScalingConfig"]["MaximumConcurrency"] >= 2
            queues_seen.add(properties["Queue"]["Fn::Sub"].rsplit(":", 1)[1])
    assert queues_seen == {STAGE.name_of(q.logical) for q in QUEUES}


def test_packaged_templates_pass_cfn_lint(package: Build) -> None:
    assert lint([package.app_template, package.resources_template]) == ""
