"""Real meters for the journeys: `python -m device_client simulate` serving a
small fleet on 127.0.0.1. An admin registers them in the portal; the test then
does what the installer does on site (hands the meter its provisioning)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from device_client.fleet import create_fleet
from functions.core.clock import utcnow
from functions.core.meters.models import MeterRecord
from functions.core.meters.repositories import MeterRepository
from tests.simulator import Simulator


@contextmanager
def simulated_meters(directory: Path, behaviours: list[str],
                     start_register_wh: int = 2_000_000) -> Iterator[Simulator]:
    """Meters that started `start_register_wh` Wh three weeks ago, one per behaviour
    (normal, silent, ...). They reply to the test API (the stack fixture sets
    API_BASE_URL)."""
    fleet = directory / "fleet.json"
    create_fleet(fleet, len(behaviours), prefix=f"WEB{uuid.uuid4().hex[:6].upper()}",
                 commercial_every=0, start_at=utcnow() - timedelta(days=21),
                 start_register_wh=start_register_wh)
    data = json.loads(fleet.read_text())
    for entry, behaviour in zip(data["meters"], behaviours, strict=True):
        entry["behaviour"] = behaviour
    fleet.write_text(json.dumps(data))
    sim = Simulator(directory, fleet)
    sim.start_register_wh = start_register_wh
    try:
        yield sim
    finally:
        sim.stop()
        retire_serials([m["serial"] for m in sim.meters])


def retire_serials(serials: list[str]) -> None:
    """Deactivate the journey's meters, so later billing runs of the test session
    do not ask meters whose simulator has stopped."""
    repo = MeterRepository()
    for record in MeterRecord.scan(MeterRecord.serial.is_in(*serials)):
        if record.status in ("registered", "active"):
            repo.update(record, actions=record.status_actions("inactive"))
