"""A real `python -m device_client simulate` process serving a fleet of meters
on 127.0.0.1, for the integration and browser tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]


class Simulator:
    def __init__(self, directory: Path, fleet: Path) -> None:
        self.ready_file = directory / "ready.json"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        errors = directory / "simulator.log"  # a file: an unread pipe would fill and stall it
        with errors.open("ab") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "device_client", "simulate", "--fleet", str(fleet),
                 "--port", "0", "--state-dir", str(directory / "state"), "--ready-file",
                 str(self.ready_file), "--attempts", "3", "--backoff", "0.1"],
                cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=sink)
        deadline = time.monotonic() + 30
        while not self.ready_file.exists():
            if self.process.poll() is not None:
                raise AssertionError(f"simulator exited: {errors.read_text()[-500:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError("simulator did not start in 30 s")
            time.sleep(0.1)
        self.ready: dict[str, Any] = json.loads(self.ready_file.read_text())
        self.base = f"http://127.0.0.1:{self.ready['port']}"
        self.start_register_wh = 0  # what every meter's register read when the fleet began

    @property
    def meters(self) -> list[dict[str, Any]]:
        return list(self.ready["meters"])

    def meter(self, serial: str) -> dict[str, Any]:
        return next(m for m in self.ready["meters"] if m["serial"] == serial)

    def status(self, serial: str) -> dict[str, Any]:
        return dict(requests.get(f"{self.base}/meters/{serial}", timeout=5).json())

    def provision(self, serial: str, provisioning: dict[str, Any]) -> None:
        """The installer's step: the meter learns its id, the server and root keys, its ToD
        zones and where to post."""
        # The whole provisioning config (ids, server and root keys, ToD zones).
        response = requests.post(f"{self.base}/meters/{serial}/provision", timeout=5,
                                 json=provisioning)
        assert response.status_code == 200, response.text

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
