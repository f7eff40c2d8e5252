"""`make test` runs the schemathesis suite (tests/property/api_fuzz.py) on a stack of its
own, in a subprocess (its own emulator and resource prefix: the tariffs, runs and keys it
creates never meet the other tests' data). Bounded for CI by FUZZ_EXAMPLES (default in
api_fuzz.py); the README says how to run it longer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_no_server_errors_and_every_answer_as_documented(
        capsys: pytest.CaptureFixture[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.property.api_fuzz"], cwd=ROOT, env=dict(os.environ),
        capture_output=True, text=True, timeout=1500, check=False)
    lines = result.stdout.splitlines()
    report = [line for line in lines if line.startswith(("schemathesis:", "time in"))]
    summary = lines[-1] if lines else "(no output)"
    with capsys.disabled():  # the counts show in every run, not only on failure
        print("\n" + "\n".join([*report, summary]))
    failures = "\n".join(line for line in lines if not line.startswith("{"))[-8000:]
    assert result.returncode == 0, failures or result.stderr[-4000:]
    assert summary.endswith("cases, 0 server errors, 0 other failures"), summary
    assert int(summary.split()[0]) >= 500, summary  # it really ran
