"""One meter: verifies and decrypts read requests, answers with a signed, encrypted reading.

The meter trusts only the server public key(s) it was provisioned with (and keys endorsed by
one of them, see ``learn_endorsed_keys``), answers an authentic, unexpired request for its own
meter id with 202 at once, and posts the reading to the request's ``reply_to`` in the
background. Its message counter is saved before each reading is sent.

Behaviours (for tests and demos; "normal" unless configured):
    normal           answer correctly
    wrong_key        sign the reading with a key that is not the registered one
    replay           send the same reading envelope twice
    tamper           flip one ciphertext byte after signing (the signature breaks)
    tamper_resigned  flip one ciphertext byte and sign again (the MAC breaks)
    stale            report a read_at two days in the past
    backwards        report a register below the last one reported
    counter_reuse    reuse the last counter value
    error            answer with an "error" message (register unavailable)
    silent           accept the request (202) and never answer
    offline          refuse deliveries with 503 (the server sees an unreachable meter)
  version 2 meters (``protocol_version=2``) also:
    no_snapshot      has no billing snapshot (memory lost): answers with live registers
    bad_zones        time-of-day zones that do not add up to the import register
    md_impossible    a maximum demand far beyond any connection's limit
    wrong_snapshot   a snapshot latched at another time than the billing date asked for

Version 2 (docs/meter-protocol.md section 8): at 00:00 IST of every billing date (the 1st)
the meter latches its billing snapshot (import, export, time-of-day zones, maximum demand of
the month with its time) and keeps the last SNAPSHOTS_KEPT; a v2 request names the billing
date and gets that snapshot, or the live registers (source "live") if it has none.

Trust (section 10): the meter trusts the server keys it was provisioned with and keys a
provisioned ROOT key endorses; root-signed revocations remove a key at once. The online
server key cannot endorse anything. Clock (section 9.3): an authentic request's issued_at
moves a slow clock forward; nothing moves it back.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ecdsa import SigningKey

from device_client import crypto
from device_client.profiles import (
    DEFAULT_TOD_ZONE_STARTS,
    Registers,
    billing_instants,
    last_billing_instant,
    register_at,
    registers_between,
)
from device_client.sender import PostResult, Sender
from device_client.state import MeterState, StateStore, TrustedServerKey

BEHAVIOURS = ("normal", "wrong_key", "replay", "tamper", "tamper_resigned", "stale",
              "backwards", "counter_reuse", "error", "silent", "offline", "no_snapshot",
              "bad_zones", "md_impossible", "wrong_snapshot")
ENDORSEMENT_HEADER = "X-Server-Key-Endorsements"
SNAPSHOTS_KEPT = 12  # billing snapshots a meter keeps (IS 15959 asks for at least 6)
DAILY_PROFILES_KEPT = 40  # daily snapshots (00:00 IST) a meter keeps for the daily reads


class Refused(Exception):
    """A request the meter will not answer; ``reason`` is for its own log only."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass
class MeterConfig:
    serial: str
    private_key: SigningKey
    profile: str = "residential"
    seed: int = 0
    daily_kwh: float | None = None
    start_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    start_register_wh: int = 0
    behaviour: str = "normal"
    register_wh: int | None = None  # a fixed register (tests): overrides the profile
    speedup: float = 1.0  # simulated seconds per real second
    protocol_version: int = 1  # 2: billing snapshots, ToD zones, export, maximum demand
    solar_kwp: float = 0.0  # rooftop solar (v2): exports at midday

    def __post_init__(self) -> None:
        if self.behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {self.behaviour!r}; one of {BEHAVIOURS}")
        if self.protocol_version not in crypto.SUPPORTED_VERSIONS:
            raise ValueError(f"protocol_version must be one of {crypto.SUPPORTED_VERSIONS}")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Meter:
    def __init__(self, config: MeterConfig, store: StateStore, sender: Sender,
                 state: MeterState | None = None) -> None:
        self.config = config
        self.store = store
        self.sender = sender
        self.lock = threading.RLock()
        self.state = state or store.load(config.serial) or MeterState(serial=config.serial)
        self._wrong_key: SigningKey | None = None

    @property
    def serial(self) -> str:
        return self.config.serial

    @property
    def public_key(self) -> str:
        return str(crypto.public_key_b64(self.config.private_key))

    # ---- provisioning ----------------------------------------------------------

    def provision(self, meter_id: str, server_public_keys: list[Any],
                  reading_url: str | None = None, *,
                  root_public_keys: list[Any] | None = None,
                  max_key_overlap_seconds: int | None = None,
                  tod_zone_starts: list[int] | None = None) -> None:
        """Install what the platform gave the installer: meter id (the platform's, not the
        serial), server key(s), root key(s) and their overlap bound, ToD zones."""
        keys: list[TrustedServerKey] = []
        for item in server_public_keys:
            text = item["public_key"] if isinstance(item, dict) else str(item)
            parsed = crypto.load_public_key_b64(text)  # validated as a curve point
            until = item.get("accept_until") if isinstance(item, dict) else None
            keys.append(TrustedServerKey(crypto.public_key_b64(parsed), crypto.key_id(parsed),
                                         until))
        if not keys:
            raise ValueError("at least one server public key is needed")
        roots = []
        for item in root_public_keys or []:
            text = item["public_key"] if isinstance(item, dict) else str(item)
            roots.append(crypto.public_key_b64(crypto.load_public_key_b64(text)))
        zones = [int(h) for h in tod_zone_starts] if tod_zone_starts else None
        if zones is not None and (not 1 <= len(zones) <= crypto.MAX_TOD_ZONES
                                  or zones != sorted(set(zones)) or zones[0] != 0
                                  or zones[-1] > 23):
            raise ValueError("tod_zone_starts: 1 to 8 increasing IST hours starting at 0")
        with self.lock:
            self.state.meter_id = meter_id
            self.state.server_keys = keys
            self.state.reading_url = reading_url
            self.state.root_keys = roots
            if max_key_overlap_seconds is not None:
                self.state.max_key_overlap_seconds = int(max_key_overlap_seconds)
            self.state.revoked_key_ids = []
            self.state.newest_endorsement_at = None
            self.state.tod_zone_starts = zones
            self.save()

    def save(self) -> None:
        self.store.save(self.state)

    # ---- the register --------------------------------------------------------

    def model_register(self, now: datetime) -> int:
        config = self.config
        if config.register_wh is not None:
            return config.register_wh

        def raw(moment: datetime) -> int:
            return register_at(config.seed, config.profile, self.simulated(moment),
                               start_at=config.start_at,
                               start_register_wh=config.start_register_wh,
                               daily_kwh=config.daily_kwh)

        # While the relay was open no energy flowed: those spans' growth is taken out.
        return raw(now) - sum(raw(min(now, end)) - raw(min(now, start))
                              for start, end in self.relay_off_spans(now) if start < now)

    def relay_off_spans(self, now: datetime) -> list[tuple[datetime, datetime]]:
        """Real-time spans the relay was open (the current one ends now)."""
        spans = [(crypto.parse_timestamp(a), crypto.parse_timestamp(b))
                 for a, b in self.state.relay_off_spans]
        if self.state.relay == "disconnected" and self.state.relay_off_since:
            spans.append((crypto.parse_timestamp(self.state.relay_off_since), now))
        return spans

    def simulated(self, now: datetime) -> datetime:
        config = self.config
        return config.start_at + (now - config.start_at) * config.speedup

    @property
    def zone_starts(self) -> tuple[int, ...]:
        return tuple(self.state.tod_zone_starts or DEFAULT_TOD_ZONE_STARTS)

    def model_registers(self, moment: datetime, md_since: datetime) -> Registers:
        """The v2 registers at ``moment`` (simulated time), maximum demand since
        ``md_since``; a fixed register_wh (tests) is all in zone 1."""
        config = self.config
        if config.register_wh is not None:
            zones = (config.register_wh,) + (0,) * (len(self.zone_starts) - 1)
            return Registers(config.register_wh, 0, zones, 0, moment)
        def grow(until: datetime) -> Registers:
            return registers_between(config.seed, config.profile, config.start_at, until,
                                     daily_kwh=config.daily_kwh, solar_kwp=config.solar_kwp,
                                     zone_starts=self.zone_starts,
                                     md_since=max(md_since, config.start_at))

        grown = grow(moment)
        imported, exported, tod = grown.import_wh, grown.export_wh, list(grown.tod_wh)
        # While the relay was open no energy flowed (spans in simulated time).
        for start, end in self.relay_off_spans(utcnow()):
            first, last = self.simulated(start), self.simulated(end)
            if first >= moment or first <= config.start_at:
                continue
            before, after = grow(first), grow(min(moment, last))
            imported -= after.import_wh - before.import_wh
            exported -= after.export_wh - before.export_wh
            tod = [z - (a - b) for z, a, b in zip(tod, after.tod_wh, before.tod_wh,
                                                  strict=True)]
        zones = (tod[0] + config.start_register_wh, *tod[1:])
        return Registers(imported + config.start_register_wh, exported, zones,
                         grown.md_w, grown.md_at)

    def snapshot(self, billing_at: datetime, now: datetime) -> Registers | None:
        """The billing snapshot latched at ``billing_at``, if the meter has one: it must be
        one of its billing instants (00:00 IST on a 1st), after it was installed, and among
        the last SNAPSHOTS_KEPT."""
        if self.config.behaviour == "no_snapshot":
            return None
        latched = billing_instants(self.config.start_at, self.simulated(now))[-SNAPSHOTS_KEPT:]
        if billing_at not in latched and not self._daily_latch(billing_at, now):
            return None
        return self.model_registers(
            billing_at, last_billing_instant(billing_at - timedelta(seconds=1)))

    def _daily_latch(self, moment: datetime, now: datetime) -> bool:
        """Every 00:00 IST the meter also latches a daily profile (the same registers),
        kept for DAILY_PROFILES_KEPT days: the daily read cycle asks for them."""
        ist_midnight = (moment + timedelta(hours=5, minutes=30)).time() == datetime.min.time()
        simulated = self.simulated(now)
        return (ist_midnight and self.config.start_at < moment <= simulated
                and simulated - moment <= timedelta(days=DAILY_PROFILES_KEPT))

    # ---- receiving a read request --------------------------------------------

    def handle_read_request(self, body: bytes, headers: dict[str, str],
                            now: datetime | None = None) -> tuple[int, dict[str, Any]]:
        """HTTP status and JSON answer for a delivered request; the reading follows later."""
        now = now or self.now()
        with self.lock:
            self.state.requests_received += 1
            if self.config.behaviour == "offline":
                return 503, {"error": "unavailable"}
            try:
                request = self._authentic_request(body, headers, now)
            except Refused as refused:
                self.state.requests_refused += 1
                self.state.last_error = refused.reason
                self.save()
                return refused.status, {"error": "rejected"}
            if request["nonce"] in self.state.answered_nonces:
                return 202, {"status": "already_answered"}  # a redelivered request
            self.state.answered_nonces = [*self.state.answered_nonces[-199:], request["nonce"]]
            if self.config.behaviour == "silent":
                self.save()
                return 202, {"status": "accepted"}
            posts = self._answers(request, now)  # saves the counter first
        self.sender.submit_sequence(posts, done=self._after_post)
        return 202, {"status": "accepted"}

    # ---- receiving a relay command (prepaid) -----------------------------------

    def handle_command(self, body: bytes, headers: dict[str, str],
                       now: datetime | None = None) -> tuple[int, dict[str, Any]]:
        """Obey an authentic disconnect/reconnect command and answer with the signed
        acknowledgement (section 8.5) in the response body; refuse anything else."""
        now = now or self.now()
        with self.lock:
            if self.config.behaviour == "offline":
                return 503, {"error": "unavailable"}
            try:
                command = self._authentic_command(body, headers, now)
            except Refused as refused:
                self.state.commands_refused += 1
                self.state.last_error = refused.reason
                self.save()
                return refused.status, {"error": "rejected", "reason": refused.reason}
            relay = "disconnected" if command["operation"] == "disconnect" else "connected"
            if relay != self.state.relay:
                if relay == "disconnected":
                    self.state.relay_off_since = crypto.format_timestamp(now)
                elif self.state.relay_off_since:
                    self.state.relay_off_spans = [
                        *self.state.relay_off_spans[-49:],
                        [self.state.relay_off_since, crypto.format_timestamp(now)]]
                    self.state.relay_off_since = None
                self.state.relay = relay
            self.state.command_nonces = [*self.state.command_nonces[-199:], command["nonce"]]
            self.state.last_command_issued_at = command["issued_at"]
            self.save()  # obeyed and remembered before the acknowledgement leaves
            assert self.state.meter_id is not None
            ack = crypto.make_command_ack(command, relay=self.state.relay, acted_at=now)
            server_key = crypto.load_public_key_b64(self.state.server_keys[0].public_key)
            envelope = crypto.seal(ack, msg_type="command_ack", recipient_pub=server_key,
                                   sender_priv=self._signing_key(),
                                   sender_id=self.state.meter_id)
        return 200, envelope

    def _authentic_command(self, body: bytes, headers: dict[str, str],
                           now: datetime) -> dict[str, Any]:
        if not self.state.meter_id or not self.state.server_keys:
            raise Refused("not_provisioned", 409)
        try:
            envelope = crypto.parse_envelope(body)
            if envelope.sender != crypto.SERVER_SENDER_ID:
                raise Refused("not_from_server")
            server_keys = [crypto.load_public_key_b64(k.public_key)
                           for k in self.state.server_keys]
            opened = crypto.open_envelope(envelope, recipient_priv=self.config.private_key,
                                          sender_pub=server_keys, expect_type="command")
            command = dict(opened.payload)
            crypto.check_command(command, meter_id=self.state.meter_id, now=now,
                                 seen_nonces=self.state.command_nonces,
                                 last_issued_at=self.state.last_command_issued_at)
        except crypto.CryptoError as error:
            raise Refused(error.reason, 409 if error.reason in (
                "command_replayed", "command_superseded") else 400) from error
        return command

    def _authentic_request(self, body: bytes, headers: dict[str, str],
                           now: datetime) -> dict[str, Any]:
        if not self.state.meter_id or (not self.state.server_keys and not self.state.root_keys):
            raise Refused("not_provisioned", 409)
        try:
            statements = _header(headers, ENDORSEMENT_HEADER)
            if statements:
                self.apply_statements(statements, now)  # bad header: refused, trust kept
            self._drop_expired_server_keys(now)
            envelope = crypto.parse_envelope(body)
            if envelope.sender != crypto.SERVER_SENDER_ID:
                raise Refused("not_from_server")
            if not self.state.server_keys:
                raise crypto.BadSignature("bad_signature", "no server key is trusted")
            opened = self._open(envelope)
            request = dict(opened.payload)
            if request["meter_id"] != self.state.meter_id:
                raise crypto.ReplayRejected("meter_mismatch", "request is for another meter")
            # Clock discipline: the server's issued_at moves a slow clock forward, never back.
            issued_at = crypto.parse_timestamp(request["issued_at"])
            corrected = max(now, issued_at)
            crypto.check_read_request(request, meter_id=self.state.meter_id, now=corrected)
            if issued_at > now:
                self.state.clock_offset_seconds += (issued_at - now).total_seconds()
                self.save()
        except crypto.CryptoError as error:
            raise Refused(error.reason) from error
        return request

    def now(self) -> datetime:
        """The meter's clock: the system clock plus the forward steps it took."""
        return utcnow() + timedelta(seconds=self.state.clock_offset_seconds)

    def _open(self, envelope: Any) -> Any:
        server_keys = [crypto.load_public_key_b64(k.public_key) for k in self.state.server_keys]
        return crypto.open_envelope(envelope, recipient_priv=self.config.private_key,
                                    sender_pub=server_keys, expect_type="read_request")

    def _drop_expired_server_keys(self, now: datetime) -> None:
        keep = [k for k in self.state.server_keys
                if k.accept_until is None or crypto.parse_timestamp(k.accept_until) >= now]
        if len(keep) != len(self.state.server_keys):
            self.state.server_keys = keep
            self.save()

    def apply_statements(self, header_value: str, now: datetime) -> list[list[Any]]:
        """Apply the root-signed endorsements and revocations of a request's header
        (docs/meter-protocol.md section 10.4); returns what was ignored, as [index, reason].
        A header that cannot be decoded raises StatementRejected (the request is refused
        and trust is unchanged)."""
        endorsements, revocations = crypto.decode_statements_header(header_value)
        state = self.state
        trust = {"server_keys": [[k.public_key, k.key_id, k.accept_until]
                                 for k in state.server_keys],
                 "root_keys": list(state.root_keys),
                 "max_overlap_seconds": state.max_key_overlap_seconds,
                 "revoked": list(state.revoked_key_ids),
                 "newest_endorsement_at": state.newest_endorsement_at}
        after = crypto.apply_statements(trust, endorsements, revocations, now)
        keys = [TrustedServerKey(public, kid, until) for public, kid, until
                in after["server_keys"]]
        if (keys != state.server_keys or after["revoked"] != state.revoked_key_ids
                or after["newest_endorsement_at"] != state.newest_endorsement_at):
            state.server_keys = keys
            state.revoked_key_ids = after["revoked"]
            state.newest_endorsement_at = after["newest_endorsement_at"]
            self.save()
        ignored: list[list[Any]] = after["ignored"]
        return ignored

    # ---- answering -----------------------------------------------------------

    def _answers(self, request: dict[str, Any], now: datetime) -> list[tuple[str, bytes]]:
        """The envelope(s) to post for ``request``, per the configured behaviour."""
        behaviour = self.config.behaviour
        assert self.state.meter_id is not None
        server_key = crypto.load_public_key_b64(self.state.server_keys[0].public_key)
        if behaviour == "error":
            payload = crypto.make_error(request["nonce"], meter_id=self.state.meter_id,
                                        code="register_unavailable",
                                        message="metrology unit did not answer",
                                        version=request["v"])
            envelope = crypto.seal(payload, msg_type="error", recipient_pub=server_key,
                                   sender_priv=self.config.private_key,
                                   sender_id=self.state.meter_id)
            return [(request["reply_to"], crypto.envelope_to_bytes(envelope))]
        if request["v"] == crypto.PROTOCOL_V2:
            return self._answer_v2(request, now, server_key)
        register = self.model_register(now)
        last = self.state.last_register_wh
        if behaviour == "backwards":
            register = max(0, (last if last is not None else register) - 10_000)
        elif last is not None:
            register = max(register, last)  # a register never runs backwards
        if behaviour != "counter_reuse":
            self.state.counter += 1
        self.state.last_register_wh = register
        self.save()  # the counter is on disk before the message leaves
        read_at = now - timedelta(days=2) if behaviour == "stale" else now
        payload = crypto.make_reading(request, counter=self.state.counter, register_wh=register,
                                      read_at=read_at)
        signer = self._signing_key()
        envelope = crypto.seal(payload, msg_type="reading", recipient_pub=server_key,
                               sender_priv=signer, sender_id=self.state.meter_id)
        if behaviour in ("tamper", "tamper_resigned"):
            envelope = _flip_ciphertext_byte(envelope)
            if behaviour == "tamper_resigned":
                envelope = _resign(envelope, signer)
        body = crypto.envelope_to_bytes(envelope)
        copies = 2 if behaviour == "replay" else 1
        return [(request["reply_to"], body)] * copies

    def _answer_v2(self, request: dict[str, Any], now: datetime, server_key: Any
                   ) -> list[tuple[str, bytes]]:
        """The billing snapshot for the request's billing_at, else the live registers."""
        behaviour = self.config.behaviour
        billing_at = crypto.parse_timestamp(request["billing_at"])
        registers = self.snapshot(billing_at, now)
        source, snapshot_at = "snapshot", billing_at
        if registers is None:
            simulated = self.simulated(now)
            registers = self.model_registers(simulated, last_billing_instant(simulated))
            source, snapshot_at = "live", now
        tod = list(registers.tod_wh)
        md_w, md_at = registers.md_w, registers.md_at
        if behaviour == "bad_zones":
            tod[0] += 5_000
        elif behaviour == "md_impossible":
            md_w = 500_000
        elif behaviour == "wrong_snapshot" and source == "snapshot":
            snapshot_at = billing_at + timedelta(days=2)
        import_wh = registers.import_wh
        if behaviour == "backwards":
            import_wh = max(0, import_wh - 10_000)
            tod[0] = max(0, tod[0] - (registers.import_wh - import_wh))
        if behaviour != "counter_reuse":
            self.state.counter += 1
        self.state.last_register_wh = registers.import_wh
        self.save()  # the counter is on disk before the message leaves
        assert self.state.meter_id is not None
        read_at = now - timedelta(days=2) if behaviour == "stale" else now
        payload = crypto.make_reading_v2(
            request, counter=self.state.counter, read_at=read_at, source=source,
            snapshot_at=snapshot_at, import_wh=import_wh,
            export_wh=registers.export_wh, tod_wh=tod, md_w=md_w, md_at=md_at)
        signer = self._signing_key()
        envelope = crypto.seal(payload, msg_type="reading", recipient_pub=server_key,
                               sender_priv=signer, sender_id=self.state.meter_id)
        if behaviour in ("tamper", "tamper_resigned"):
            envelope = _flip_ciphertext_byte(envelope)
            if behaviour == "tamper_resigned":
                envelope = _resign(envelope, signer)
        body = crypto.envelope_to_bytes(envelope)
        return [(request["reply_to"], body)] * (2 if behaviour == "replay" else 1)

    def _signing_key(self) -> SigningKey:
        if self.config.behaviour != "wrong_key":
            return self.config.private_key
        if self._wrong_key is None:
            self._wrong_key = crypto.generate_private_key()
        return self._wrong_key

    def _after_post(self, result: PostResult) -> None:
        with self.lock:
            if result.accepted:
                self.state.readings_sent += 1
            else:
                self.state.readings_refused += 1
                self.state.last_error = result.error
            self.save()

    # ---- status ----------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        with self.lock:
            state = self.state
            return {
                "serial": self.serial, "meter_id": state.meter_id,
                "public_key": self.public_key, "behaviour": self.config.behaviour,
                "profile": self.config.profile, "counter": state.counter,
                "last_register_wh": state.last_register_wh,
                "register_now_wh": self.model_register(utcnow()),
                "server_key_ids": [k.key_id for k in state.server_keys],
                "revoked_key_ids": list(state.revoked_key_ids),
                "protocol_version": self.config.protocol_version,
                "solar_kwp": self.config.solar_kwp,
                "clock_offset_seconds": state.clock_offset_seconds,
                "requests_received": state.requests_received,
                "requests_refused": state.requests_refused,
                "readings_sent": state.readings_sent,
                "readings_refused": state.readings_refused,
                "last_error": state.last_error,
                "relay": state.relay,
                "commands_refused": state.commands_refused,
            }

    def configure(self, changes: dict[str, Any]) -> None:
        """Runtime changes from the control endpoint: behaviour, register_wh, daily_kwh."""
        with self.lock:
            if "behaviour" in changes:
                behaviour = str(changes["behaviour"])
                if behaviour not in BEHAVIOURS:
                    raise ValueError(f"unknown behaviour {behaviour!r}")
                self.config.behaviour = behaviour
            if "register_wh" in changes:
                value = changes["register_wh"]
                if value is not None and (type(value) is not int or value < 0):
                    raise ValueError("register_wh must be a non-negative integer or null")
                self.config.register_wh = value
            if "daily_kwh" in changes:
                self.config.daily_kwh = (None if changes["daily_kwh"] is None
                                         else float(changes["daily_kwh"]))


def _header(headers: dict[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _flip_ciphertext_byte(envelope: dict[str, Any]) -> dict[str, Any]:
    ct = bytearray(crypto.b64u_decode(envelope["ct"], field="ct"))
    ct[len(ct) // 2] ^= 0x01
    return {**envelope, "ct": crypto.b64u_encode(bytes(ct))}


def _resign(envelope: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    unsigned = {k: v for k, v in envelope.items() if k != "sig"}
    return {**unsigned, "sig": crypto.b64u_encode(crypto.sign_compact(
        key, crypto.canonical_json(unsigned)))}
