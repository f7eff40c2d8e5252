"""What a meter keeps across restarts: its message counter, its provisioning (meter id,
trusted server keys), the last register it reported and the nonces it answered.

One JSON file per meter, written atomically (temporary file, fsync, rename), so a crash never
leaves a half-written state and a counter value is never used twice: the counter is saved
BEFORE the message that uses it is sent (docs/meter-protocol.md section 9).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ANSWERED_NONCES_KEPT = 200


@dataclass
class TrustedServerKey:
    public_key: str  # unpadded base64url, compressed point
    key_id: str
    accept_until: str | None = None  # after this (UTC, ...Z) the key is dropped


@dataclass
class MeterState:
    serial: str
    meter_id: str | None = None
    counter: int = 0  # last counter value used
    server_keys: list[TrustedServerKey] = field(default_factory=list)  # current first
    reading_url: str | None = None
    # Key management (docs/meter-protocol.md section 10): the offline root key(s) that may
    # endorse or revoke server keys, the provisioned bound on a replaced key's overlap, the
    # revoked server key ids (never trusted again), the newest endorsement applied.
    root_keys: list[str] = field(default_factory=list)
    max_key_overlap_seconds: int = 7 * 24 * 3600
    revoked_key_ids: list[str] = field(default_factory=list)
    newest_endorsement_at: str | None = None
    tod_zone_starts: list[int] | None = None  # provisioned time-of-day zones (IST hours)
    clock_offset_seconds: float = 0.0  # forward steps taken from authentic requests
    last_register_wh: int | None = None
    answered_nonces: list[str] = field(default_factory=list)
    # Prepaid supply control (docs/meter-protocol.md 8.5): the relay, when it opened, the
    # spans it was open (no energy flows then), and the commands already received.
    relay: str = "connected"
    relay_off_since: str | None = None
    relay_off_spans: list[list[str]] = field(default_factory=list)
    command_nonces: list[str] = field(default_factory=list)
    last_command_issued_at: str | None = None
    commands_refused: int = 0
    # Operational status (shown by GET /meters).
    requests_received: int = 0
    requests_refused: int = 0
    readings_sent: int = 0
    readings_refused: int = 0
    last_error: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MeterState:
        keys = [TrustedServerKey(**k) for k in data.pop("server_keys", [])]
        known = {f for f in cls.__dataclass_fields__}
        return cls(server_keys=keys, **{k: v for k, v in data.items() if k in known})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class StateStore:
    """Per-meter state files under one directory (None: memory only, for unit tests)."""

    def __init__(self, directory: str | Path | None) -> None:
        self.directory = Path(directory) if directory else None
        self._lock = threading.Lock()
        if self.directory:
            self.directory.mkdir(parents=True, exist_ok=True)

    def path(self, serial: str) -> Path | None:
        return self.directory / f"{serial}.json" if self.directory else None

    def load(self, serial: str) -> MeterState | None:
        path = self.path(serial)
        if path is None or not path.exists():
            return None
        return MeterState.from_json(json.loads(path.read_text()))

    def save(self, state: MeterState) -> None:
        path = self.path(state.serial)
        if path is None:
            return
        data = json.dumps(state.to_json(), indent=1, sort_keys=True)
        with self._lock:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{state.serial}.")
            try:
                with os.fdopen(fd, "w") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
