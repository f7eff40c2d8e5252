"""Fleet files: the meters one simulator process runs, and how to create them.

    {"version": 1,
     "meters": [{"serial": "SIM-0001",
                 "key_file": "keys/SIM-0001.key",      # or "private_key": "<64 hex>"
                 "meter_id": "mtr-...",                # optional: set when provisioned
                 "server_public_keys": ["<b64url>"],   # optional: set when provisioned
                 "profile": "residential", "seed": 1, "daily_kwh": null,
                 "start_at": "2026-10-01T00:00:00Z", "start_register_wh": 0,
                 "register_wh": null, "behaviour": "normal", "speedup": 1,
                 "protocol_version": 1, "solar_kwp": 0}]}      # 2: billing snapshots

Relative key_file paths are relative to the fleet file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from device_client import crypto
from device_client.meter import BEHAVIOURS, MeterConfig

FLEET_VERSION = 1


def write_private_key(path: str | Path, key: Any | None = None) -> Any:
    """Create a key file readable by its owner only (0600); refuses to overwrite."""
    key = key or crypto.generate_private_key()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(crypto.private_key_hex(key) + "\n")
    os.chmod(target, 0o600)  # whatever the umask
    return key


def read_private_key(path: str | Path) -> Any:
    target = Path(path)
    mode = target.stat().st_mode & 0o777
    if mode & 0o077:
        raise PermissionError(f"{target} is readable by others (mode {mode:o}); chmod 600 it")
    return crypto.load_private_key(target.read_text().strip())


@dataclass
class FleetEntry:
    config: MeterConfig
    meter_id: str | None
    server_public_keys: list[str]
    reading_url: str | None


def _moment(text: str | None) -> datetime:
    return crypto.parse_timestamp(text) if text else datetime.now(UTC)


def load_fleet(path: str | Path) -> list[FleetEntry]:
    fleet_path = Path(path)
    data = json.loads(fleet_path.read_text())
    if data.get("version") != FLEET_VERSION:
        raise ValueError(f"{fleet_path}: unknown fleet file version")
    entries = []
    serials: set[str] = set()
    for item in data["meters"]:
        serial = str(item["serial"])
        if serial in serials:
            raise ValueError(f"{fleet_path}: serial {serial} appears twice")
        serials.add(serial)
        if "private_key" in item:
            key = crypto.load_private_key(item["private_key"])
        else:
            key_file = Path(item["key_file"])
            key = read_private_key(key_file if key_file.is_absolute()
                                   else fleet_path.parent / key_file)
        behaviour = item.get("behaviour", "normal")
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"{serial}: unknown behaviour {behaviour!r}")
        config = MeterConfig(
            serial=serial, private_key=key, profile=item.get("profile", "residential"),
            seed=int(item.get("seed", 0)), daily_kwh=item.get("daily_kwh"),
            start_at=_moment(item.get("start_at")),
            start_register_wh=int(item.get("start_register_wh", 0)),
            behaviour=behaviour, register_wh=item.get("register_wh"),
            speedup=float(item.get("speedup", 1)),
            protocol_version=int(item.get("protocol_version", 1)),
            solar_kwp=float(item.get("solar_kwp", 0)))
        entries.append(FleetEntry(config, item.get("meter_id"),
                                  list(item.get("server_public_keys") or []),
                                  item.get("reading_url")))
    return entries


def create_fleet(out: str | Path, count: int, *, key_dir: str | Path | None = None,
                 prefix: str = "SIM", commercial_every: int = 4, start_at: datetime | None = None,
                 start_register_wh: int = 0, speedup: float = 1.0,
                 server_public_keys: list[str] | None = None, protocol_version: int = 1,
                 v2_every: int = 0, solar_every: int = 0, solar_kwp: float = 3.0
                 ) -> list[dict[str, Any]]:
    """Generate ``count`` meter keys (0600 files) and a fleet file; returns, per meter, what
    an admin registers: serial, public key, profile, protocol version and capabilities.
    Every ``commercial_every``-th meter is commercial, the others residential. Meters speak
    ``protocol_version``, or every ``v2_every``-th speaks 2 (a mixed fleet); every
    ``solar_every``-th v2 residential meter has ``solar_kwp`` of rooftop solar."""
    fleet_path = Path(out)
    keys_path = Path(key_dir) if key_dir else fleet_path.parent / "keys"
    moment = crypto.format_timestamp(start_at or datetime.now(UTC))
    meters: list[dict[str, Any]] = []
    for index in range(1, count + 1):
        serial = f"{prefix}-{index:04d}"
        key_file = keys_path / f"{serial}.key"
        key = write_private_key(key_file)
        profile = "commercial" if commercial_every and index % commercial_every == 0 \
            else "residential"
        version = 2 if v2_every and index % v2_every == 0 else protocol_version
        solar = solar_kwp if (version == 2 and profile == "residential" and solar_every
                              and index % solar_every == 0) else 0.0
        meters.append({
            "serial": serial,
            "key_file": os.path.relpath(key_file, fleet_path.parent),
            "public_key": crypto.public_key_b64(key),
            "profile": profile, "seed": index, "start_at": moment,
            "start_register_wh": start_register_wh, "behaviour": "normal",
            "speedup": speedup, "protocol_version": version, "solar_kwp": solar,
            **({"server_public_keys": server_public_keys} if server_public_keys else {}),
        })
    fleet_path.parent.mkdir(parents=True, exist_ok=True)
    fleet_path.write_text(json.dumps({"version": FLEET_VERSION, "meters": meters}, indent=1))
    return [{"serial": m["serial"], "public_key": m["public_key"], "profile": m["profile"],
             "protocol_version": m["protocol_version"], "solar_kwp": m["solar_kwp"],
             **capabilities(int(m["protocol_version"]), float(m["solar_kwp"]))}
            for m in meters]


def capabilities(protocol_version: int, solar_kwp: float = 0.0) -> dict[str, Any]:
    """What an admin records for such a meter at registration (POST /admin/meters)."""
    if protocol_version == 1:
        return {"capabilities": {"protocol_version": 1}}
    return {"capabilities": {"protocol_version": 2, "tod_zones": 4, "export": solar_kwp > 0,
                             "demand": True}}
