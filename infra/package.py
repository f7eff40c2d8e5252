"""`make package`: the Lambda deployment package and both templates.

    python -m infra.package [--stage dev] [--no-lint]

Chalice ships only ``app.py``, ``chalicelib/``, ``vendor/`` and the
requirements, so the build assembles a small Chalice project under
``build/chalice-project/`` (git-ignored): ``app.py``, ``requirements.txt``,
``.chalice/config.json`` plus one IAM policy file per function (rendered from
infra/iam.py), and ``functions/`` copied to ``vendor/functions/``. Then
``chalice package`` (which downloads Lambda-platform wheels from the package
registry) writes the zip and its SAM template, and infra.app_template
finishes that template. Output, in ``build/<stage>/``:

    deployment.zip   the code of every function
    app.json         the app stack (API, functions, roles, event sources, logs)
    resources.json   the resources stack (tables, queues, key, secret, site)
    sam.json         Chalice's template before post-processing (for diffing)

Chalice caches the dependencies by a hash of requirements.txt and vendor/, so
a rebuild with unchanged code and requirements takes seconds.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.app_template import finish, missing_functions
from infra.iam import FUNCTION_ACCESS, policy_document
from infra.resources_template import render
from infra.stages import ROOT, StageConfig, chalice_config, stage_config

BUILD = ROOT / "build"
PROJECT = BUILD / "chalice-project"
APP_SOURCES = ("app.py", "requirements.txt")
KEEP_CACHED_PACKAGES = 3


@dataclass(frozen=True)
class Build:
    stage: str
    directory: Path
    zip_path: Path
    app_template: Path
    resources_template: Path
    missing_functions: tuple[str, ...]


def stage_project(stage: StageConfig) -> Path:
    """Refresh build/chalice-project: the app, its config and policies, vendor/functions."""
    chalice_dir = PROJECT / ".chalice"
    chalice_dir.mkdir(parents=True, exist_ok=True)
    for name in APP_SOURCES:
        shutil.copy2(ROOT / name, PROJECT / name)
    vendor = PROJECT / "vendor"
    shutil.rmtree(vendor, ignore_errors=True)
    shutil.copytree(ROOT / "functions", vendor / "functions",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))

    config: dict[str, Any] = json.loads(json.dumps(chalice_config()))
    functions = config["stages"][stage.name].setdefault("lambda_functions", {})
    for function in FUNCTION_ACCESS:
        policy_file = f"policy-{stage.name}-{function}.json"
        (chalice_dir / policy_file).write_text(
            json.dumps(policy_document(function, stage), indent=2))
        functions.setdefault(function, {})["iam_policy_file"] = policy_file
    # A function infra/iam.py does not know falls back to the stage policy:
    # logs only. infra.app_template then stops the build with a clear message.
    (chalice_dir / f"policy-{stage.name}.json").write_text(json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "NoAccessDeclaredInInfraIam", "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [{"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:"
                                     "${AWS::AccountId}:log-group:/aws/lambda/none:*"}]}]}))
    (chalice_dir / "config.json").write_text(json.dumps(config, indent=2))
    return PROJECT


def chalice_executable() -> str:
    beside_python = Path(sys.executable).parent / "chalice"
    found = str(beside_python) if beside_python.exists() else shutil.which("chalice")
    if not found:
        raise SystemExit("chalice is not installed: run `make install`")
    return found


def chalice_environment(stage: StageConfig) -> dict[str, str]:
    """Chalice imports app.py to find the functions; queue names are bound at
    import time, so it must see the stage's settings, not the laptop's."""
    env = dict(os.environ)
    env.pop("AWS_ENDPOINT_URL", None)
    env.update({"APP_STAGE": stage.name, "RESOURCE_PREFIX": stage.prefix,
                "AWS_DEFAULT_REGION": env.get("AWS_DEFAULT_REGION") or stage.region})
    return env


def run_chalice_package(stage: StageConfig, project: Path, out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    command = [chalice_executable(), "package", "--stage", stage.name,
               "--pkg-format", "cloudformation", "--template-format", "json", str(out)]
    result = subprocess.run(command, cwd=project, env=chalice_environment(stage),
                            capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:
        raise SystemExit(f"chalice package failed ({result.returncode}):\n"
                         f"{result.stdout}\n{result.stderr}")


def prune_cache(project: Path) -> None:
    """Chalice keeps one zip per dependency hash; keep only the newest few."""
    cached = sorted((project / ".chalice" / "deployments").glob("*.zip"),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for old in cached[KEEP_CACHED_PACKAGES:]:
        old.unlink(missing_ok=True)


@contextmanager
def build_lock() -> Iterator[None]:
    """One build at a time in this work tree (make package and the test may overlap)."""
    BUILD.mkdir(exist_ok=True)
    with open(BUILD / ".package.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n")


def build(stage_name: str = "dev") -> Build:
    stage = stage_config(stage_name)
    out = BUILD / stage.name
    with build_lock():
        project = stage_project(stage)
        raw = out / "chalice"
        run_chalice_package(stage, project, raw)
        prune_cache(project)
        shutil.move(raw / "deployment.zip", out / "deployment.zip")
        shutil.move(raw / "sam.json", out / "sam.json")
        shutil.rmtree(raw)
        sam = json.loads((out / "sam.json").read_text())
        app = finish(sam, stage)
        write_json(out / "app.json", app)
        write_json(out / "resources.json", render(stage))
    return Build(stage=stage.name, directory=out, zip_path=out / "deployment.zip",
                 app_template=out / "app.json", resources_template=out / "resources.json",
                 missing_functions=tuple(missing_functions(app, stage)))


def main() -> int:
    parser = argparse.ArgumentParser(description="Build the Lambda package and templates.")
    parser.add_argument("--stage", default=os.environ.get("STAGE", "dev"))
    parser.add_argument("--no-lint", action="store_true", help="skip cfn-lint")
    args = parser.parse_args()
    started = time.monotonic()
    result = build(args.stage)
    size_mb = result.zip_path.stat().st_size / 1e6
    print(f"package  {result.zip_path.relative_to(ROOT)} ({size_mb:.1f} MB)")
    print(f"app      {result.app_template.relative_to(ROOT)}")
    print(f"resources {result.resources_template.relative_to(ROOT)}")
    if result.missing_functions:
        print(f"warning: the app does not define {', '.join(result.missing_functions)} yet")
    if not args.no_lint:
        from infra.lint import lint

        problems = lint([result.app_template, result.resources_template])
        print(problems or "cfn-lint: clean")
        if problems:
            return 1
    print(f"built in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
