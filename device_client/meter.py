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
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ecdsa import SECP256k1, SigningKey

from device_client import crypto
from device_client.profiles import register_at
from device_client.sender import PostResult, Sender
from device_client.state import MeterState, StateStore, TrustedServerKey

BEHAVIOURS = ("normal", "wrong_key", "replay", "tamper", "tamper_resigned", "stale",
              "backwards", "counter_reuse", "error", "silent", "offline")
ENDORSEMENT_HEADER = "X-Server-Key-Endorsements"
ENDORSEMENT_TYPE = "server_key_endorsement"
SERVER_KEY_GRACE = timedelta(days=7)
_HALF_N = SECP256k1.order // 2


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

    def __post_init__(self) -> None:
        if self.behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {self.behaviour!r}; one of {BEHAVIOURS}")


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
                  reading_url: str | None = None) -> None:
        """Install what the platform gave the installer: meter id, server key(s)."""
        keys: list[TrustedServerKey] = []
        for item in server_public_keys:
            text = item["public_key"] if isinstance(item, dict) else str(item)
            parsed = crypto.load_public_key_b64(text)  # validated as a curve point
            until = item.get("accept_until") if isinstance(item, dict) else None
            keys.append(TrustedServerKey(crypto.public_key_b64(parsed), crypto.key_id(parsed),
                                         until))
        if not keys:
            raise ValueError("at least one server public key is needed")
        with self.lock:
            self.state.meter_id = meter_id
            self.state.server_keys = keys
            self.state.reading_url = reading_url
            self.save()

    def save(self) -> None:
        self.store.save(self.state)

    # ---- the register --------------------------------------------------------

    def model_register(self, now: datetime) -> int:
        config = self.config
        if config.register_wh is not None:
            return config.register_wh
        simulated = config.start_at + (now - config.start_at) * config.speedup
        return register_at(config.seed, config.profile, simulated, start_at=config.start_at,
                           start_register_wh=config.start_register_wh,
                           daily_kwh=config.daily_kwh)

    # ---- receiving a read request --------------------------------------------

    def handle_read_request(self, body: bytes, headers: dict[str, str],
                            now: datetime | None = None) -> tuple[int, dict[str, Any]]:
        """HTTP status and JSON answer for a delivered request; the reading follows later."""
        now = now or utcnow()
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

    def _authentic_request(self, body: bytes, headers: dict[str, str],
                           now: datetime) -> dict[str, Any]:
        if not self.state.meter_id or not self.state.server_keys:
            raise Refused("not_provisioned", 409)
        self._drop_expired_server_keys(now)
        try:
            envelope = crypto.parse_envelope(body)
            if envelope.sender != crypto.SERVER_SENDER_ID:
                raise Refused("not_from_server")
            try:
                opened = self._open(envelope)
            except crypto.BadSignature:
                endorsements = _header(headers, ENDORSEMENT_HEADER)
                if not endorsements or not self.learn_endorsed_keys(endorsements, now):
                    raise
                opened = self._open(envelope)
            crypto.check_read_request(opened.payload, meter_id=self.state.meter_id, now=now)
        except crypto.CryptoError as error:
            raise Refused(error.reason) from error
        return dict(opened.payload)

    def _open(self, envelope: Any) -> Any:
        server_keys = [crypto.load_public_key_b64(k.public_key) for k in self.state.server_keys]
        return crypto.open_envelope(envelope, recipient_priv=self.config.private_key,
                                    sender_pub=server_keys, expect_type="read_request")

    def _drop_expired_server_keys(self, now: datetime) -> None:
        keep = [k for k in self.state.server_keys
                if k.accept_until is None or crypto.parse_timestamp(k.accept_until) >= now]
        if keep and len(keep) != len(self.state.server_keys):
            self.state.server_keys = keep
            self.save()

    def learn_endorsed_keys(self, header_value: str, now: datetime) -> bool:
        """Trust new server keys endorsed (signed) by a key this meter already trusts.

        The header carries base64url(canonical JSON {"endorsements": [...]}), oldest first;
        each endorsement names the new key and the key id of its signer. The signer stays
        trusted for the grace period after the endorsement was issued."""
        try:
            data = json.loads(crypto.b64u_decode(header_value, field="endorsements"))
            endorsements = list(data["endorsements"])
        except Exception:
            return False
        learned = False
        for item in endorsements:
            trusted = {k.key_id: k for k in self.state.server_keys}
            if not isinstance(item, dict) or item.get("new_key_id") in trusted:
                continue
            signer = trusted.get(str(item.get("signer_key_id")))
            if signer is None or not _endorsement_valid(item, signer.public_key):
                continue
            issued = crypto.parse_timestamp(item["issued_at"])
            if issued > now + crypto.CLOCK_SKEW:
                continue
            signer.accept_until = crypto.format_timestamp(issued + SERVER_KEY_GRACE)
            new_key = crypto.load_public_key_b64(item["new_key"])
            self.state.server_keys.insert(0, TrustedServerKey(
                crypto.public_key_b64(new_key), crypto.key_id(new_key)))
            learned = True
        if learned:
            self.save()
        return learned

    # ---- answering -----------------------------------------------------------

    def _answers(self, request: dict[str, Any], now: datetime) -> list[tuple[str, bytes]]:
        """The envelope(s) to post for ``request``, per the configured behaviour."""
        behaviour = self.config.behaviour
        assert self.state.meter_id is not None
        server_key = crypto.load_public_key_b64(self.state.server_keys[0].public_key)
        if behaviour == "error":
            payload = crypto.make_error(request["nonce"], meter_id=self.state.meter_id,
                                        code="register_unavailable",
                                        message="metrology unit did not answer")
            envelope = crypto.seal(payload, msg_type="error", recipient_pub=server_key,
                                   sender_priv=self.config.private_key,
                                   sender_id=self.state.meter_id)
            return [(request["reply_to"], crypto.envelope_to_bytes(envelope))]
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
                "requests_received": state.requests_received,
                "requests_refused": state.requests_refused,
                "readings_sent": state.readings_sent,
                "readings_refused": state.readings_refused,
                "last_error": state.last_error,
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


def _endorsement_valid(item: dict[str, Any], signer_public_key: str) -> bool:
    try:
        if item.get("type") != ENDORSEMENT_TYPE or item.get("v") != 1:
            return False
        signature = crypto.b64u_decode(item["sig"], field="sig", length=64)
        if int.from_bytes(signature[32:], "big") > _HALF_N:
            return False  # high-S: refused as everywhere in the protocol
        statement = {k: v for k, v in item.items() if k != "sig"}
        new_key = crypto.load_public_key_b64(item["new_key"])
        if crypto.key_id(new_key) != item["new_key_id"]:
            return False
        signer = crypto.load_public_key_b64(signer_public_key)
        return bool(crypto.verify_compact(signer, signature, crypto.canonical_json(statement)))
    except Exception:
        return False


def _flip_ciphertext_byte(envelope: dict[str, Any]) -> dict[str, Any]:
    ct = bytearray(crypto.b64u_decode(envelope["ct"], field="ct"))
    ct[len(ct) // 2] ^= 0x01
    return {**envelope, "ct": crypto.b64u_encode(bytes(ct))}


def _resign(envelope: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    unsigned = {k: v for k, v in envelope.items() if k != "sig"}
    return {**unsigned, "sig": crypto.b64u_encode(crypto.sign_compact(
        key, crypto.canonical_json(unsigned)))}
