"""Real meters for the journeys: `python -m device_client simulate` serving a
small fleet on 127.0.0.1. An admin registers them in the portal; the test then
does what the installer does on site (hands the meter its provisioning)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

from device_client.fleet import create_fleet
from functions.core.clock import utcnow
from functions.core.meters.models import MeterRecord
from functions.core.meters.repositories import MeterRepository
from functions.core.settings import reload_settings

ROOT = Path(__file__).resolve().parents[2]


class Simulator:
    def __init__(self, directory: Path, fleet: Path) -> None:
        self.ready_file = directory / "ready.json"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "device_client", "simulate", "--fleet", str(fleet),
             "--port", "0", "--state-dir", str(directory / "state"), "--ready-file",
             str(self.ready_file), "--attempts", "3", "--backoff", "0.1"],
            cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not self.ready_file.exists():
            if self.process.poll() is not None:
                raise AssertionError(f"simulator exited: {self.process.stderr.read()!r}")  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                raise AssertionError("simulator did not start in 30 s")
            time.sleep(0.1)
        self.ready: dict[str, Any] = json.loads(self.ready_file.read_text())
        self.base = f"http://127.0.0.1:{self.ready['port']}"
        self.start_register_wh = 0  # what every meter's register read when the fleet began

    @property
    def meters(self) -> list[dict[str, Any]]:
        return list(self.ready["meters"])

    def provision(self, serial: str, provisioning: dict[str, Any]) -> None:
        """The installer's step: the meter learns its id, the server keys and where to post."""
        response = requests.post(f"{self.base}/meters/{serial}/provision", timeout=5, json={
            "meter_id": provisioning["meter_id"],
            "server_public_keys": provisioning["server_public_keys"],
            "reading_url": provisioning["reading_url"]})
        assert response.status_code == 200, response.text

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@contextmanager
def simulated_meters(directory: Path, api_base_url: str, behaviours: list[str],
                     start_register_wh: int = 2_000_000) -> Iterator[Simulator]:
    """Meters that started `start_register_wh` Wh three weeks ago, one per behaviour
    (normal, silent, ...). Read requests tell meters to reply to API_BASE_URL, so
    it points at the test API while they run."""
    fleet = directory / "fleet.json"
    create_fleet(fleet, len(behaviours), prefix=f"WEB{uuid.uuid4().hex[:6].upper()}",
                 commercial_every=0, start_at=utcnow() - timedelta(days=21),
                 start_register_wh=start_register_wh)
    data = json.loads(fleet.read_text())
    for entry, behaviour in zip(data["meters"], behaviours, strict=True):
        entry["behaviour"] = behaviour
    fleet.write_text(json.dumps(data))
    before = os.environ.get("API_BASE_URL")
    os.environ["API_BASE_URL"] = api_base_url
    reload_settings()
    sim = Simulator(directory, fleet)
    sim.start_register_wh = start_register_wh
    try:
        yield sim
    finally:
        sim.stop()
        if before is None:
            os.environ.pop("API_BASE_URL", None)
        else:
            os.environ["API_BASE_URL"] = before
        reload_settings()
        retire_serials([m["serial"] for m in sim.meters])


def retire_serials(serials: list[str]) -> None:
    """Deactivate the journey's meters, so later billing runs of the test session
    do not ask meters whose simulator has stopped."""
    repo = MeterRepository()
    for record in MeterRecord.scan(MeterRecord.serial.is_in(*serials)):
        if record.status in ("registered", "active"):
            repo.update(record, actions=[MeterRecord.status.set("inactive")])
