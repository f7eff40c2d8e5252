"""Every refusal of docs/meter-protocol.md section 12.1, one test each, through the real
endpoint (POST /device/readings on the emulated stack): the documented status and body, and
the refusal recorded for the admin with its reason and the body's SHA-256.

The reason codes come from the document's own table (rows marked "endpoint"), so a code
added there without a case here fails the first test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from device_client import crypto as meter_crypto
from functions.api.device import REFUSALS
from functions.core.clock import utcnow
from tests.integration.meters_support import (
    current_server_key,
    fitted_meter,
    flip,
    issue_request,
    new_run,
    resign,
    seal_reading,
    wait_for,
    wire,
)

pytestmark = pytest.mark.usefixtures("meters_retired_after_each_test")

DOC = Path(__file__).resolve().parents[2] / "docs" / "meter-protocol.md"
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
BODY_OF_STATUS = REFUSALS  # one fixed body per status, whatever the reason


def documented_refusals() -> dict[str, int]:
    """reason -> HTTP status, for the rows of section 12.1 a test must produce."""
    text = DOC.read_text()
    table = text[text.index("### 12.1"):text.index("### 12.2")]
    rows = re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \| .* \| endpoint \|$", table, re.M)
    return {reason: int(status) for reason, status in rows}


class Meter:
    """A fitted meter, an open request of a run, and ways to build what it might post."""

    def __init__(self, as_admin: Any, as_customer: Any) -> None:
        view, self.key, _ = fitted_meter(as_admin, as_customer)
        self.meter_id, self.serial = view["meter_id"], view["serial"]
        self.server_key = current_server_key(as_admin)
        self.run_id = new_run()
        self.request = issue_request(self.meter_id, self.run_id)

    def reading(self, **changes: Any) -> dict[str, Any]:
        return seal_reading(self.key, self.meter_id, changes.pop("request", self.request),
                            self.server_key, counter=changes.pop("counter", 1),
                            register_wh=changes.pop("register_wh", 1_000_000), **changes)

    def payload(self, **changes: Any) -> dict[str, Any]:
        return {**meter_crypto.make_reading(self.request, counter=1, register_wh=1_000,
                                            read_at=utcnow()), **changes}

    def sealed_plaintext(self, plaintext: bytes, *, msg_type: str = "reading",
                         padded: bool = True, version: int = 1) -> dict[str, Any]:
        """An envelope the meter really signed and MACed around ``plaintext`` (bypassing the
        sender-side checks a conforming meter makes)."""
        server = meter_crypto.load_public_key_b64(self.server_key)
        ephemeral = meter_crypto.generate_private_key()
        epk = meter_crypto.public_key_bytes(ephemeral)
        rcpt = meter_crypto.key_id(server)
        okm = meter_crypto.x963_kdf(
            meter_crypto.ecdh_x(ephemeral.privkey.secret_multiplier, server), 64,
            meter_crypto._shared_info(msg_type, self.meter_id, rcpt, version))
        iv = os.urandom(16)
        ct = (meter_crypto.aes_cbc_encrypt(okm[:32], iv, plaintext) if padded
              else meter_crypto._aes_cbc(okm[:32], iv, plaintext, encrypt=True))
        envelope = {"v": version, "type": msg_type, "sender": self.meter_id, "rcpt": rcpt,
                    "epk": meter_crypto.b64u_encode(epk), "iv": meter_crypto.b64u_encode(iv),
                    "ct": meter_crypto.b64u_encode(ct),
                    "mac": meter_crypto.b64u_encode(hmac.new(okm[32:], epk + iv + ct,
                                                             "sha256").digest())}
        return resign(envelope, self.key)


def _high_s(envelope: dict[str, Any]) -> dict[str, Any]:
    sig = meter_crypto.b64u_decode(envelope["sig"], field="sig")
    s = int.from_bytes(sig[32:], "big")
    return {**envelope, "sig": meter_crypto.b64u_encode(sig[:32] + (N - s).to_bytes(32, "big"))}


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


Post = tuple[bytes, dict[str, str]]
JSON = {"Content-Type": "application/json"}


def case_body(reason: str, m: Meter, as_admin: Any, post: Callable[[bytes], Any]) -> Post:
    """The body (and headers) that must be refused with ``reason``; may post first what
    makes it so (an earlier reading, a deactivation)."""
    env = m.reading()
    cases: dict[str, Callable[[], Post]] = {
        "unsupported_media_type": lambda: (wire(env), {"Content-Type": "text/plain"}),
        "too_large": lambda: (b"{" + b" " * 9000 + b"}", JSON),
        "bad_json": lambda: (b'{"v":1,', JSON),
        "unsupported_version": lambda: (wire({**env, "v": 3}), JSON),
        "missing_field": lambda: (wire({k: v for k, v in env.items() if k != "mac"}), JSON),
        "unknown_field": lambda: (wire({**env, "extra": "x"}), JSON),
        "unknown_type": lambda: (wire({**env, "type": "invoice"}), JSON),
        "unexpected_type": lambda: (wire(m.sealed_plaintext(
            _json(dict(m.request)), msg_type="read_request")), JSON),
        "bad_field": lambda: (wire({**env, "rcpt": "NOT-A-KEY-ID"}), JSON),
        "bad_base64": lambda: (wire({**env, "iv": env["iv"] + "="}), JSON),
        "bad_field_length": lambda: (wire({**env, "iv": meter_crypto.b64u_encode(
            b"\x01" * 15)}), JSON),
        "pubkey_prefix": lambda: (wire(resign({**env, "epk": meter_crypto.b64u_encode(
            b"\x04" + b"\x11" * 32)}, m.key)), JSON),
        "pubkey_not_on_curve": lambda: (wire(resign({**env, "epk": meter_crypto.b64u_encode(
            b"\x02" + (5).to_bytes(32, "big"))}, m.key)), JSON),
        # firmware that signs as its serial instead of the platform's meter id
        "unknown_meter": lambda: (wire(resign({**env, "sender": m.serial}, m.key)), JSON),
        "sig_encoding": lambda: (wire({**env, "sig": meter_crypto.b64u_encode(
            b"\x00" * 32 + b"\x01" * 32)}), JSON),
        "sig_high_s": lambda: (wire(_high_s(env)), JSON),
        "bad_signature": lambda: (wire(m.reading(signer=meter_crypto.generate_private_key())),
                                  JSON),
        "unknown_recipient": lambda: (wire(resign({**env, "rcpt": "0123456789abcdef"},
                                                  m.key)), JSON),
        "bad_mac": lambda: (wire(resign({**env, "ct": flip(env["ct"])}, m.key)), JSON),
        "bad_padding": lambda: (wire(m.sealed_plaintext(b"x" * 32, padded=False)), JSON),
        "payload_missing_field": lambda: (wire(m.sealed_plaintext(_json(
            {k: v for k, v in m.payload().items() if k != "counter"}))), JSON),
        "payload_unknown_field": lambda: (wire(m.sealed_plaintext(_json(
            m.payload(note="x")))), JSON),
        "payload_bad_field": lambda: (wire(m.sealed_plaintext(_json(
            m.payload(register_wh=-1)))), JSON),
        "sender_mismatch": lambda: (wire(m.sealed_plaintext(_json(
            m.payload(meter_id="mtr-someone-else")))), JSON),
        "unknown_request": lambda: (wire(m.reading(request={
            **m.request, "nonce": meter_crypto.b64u_encode(os.urandom(32))})), JSON),
        "run_mismatch": lambda: (wire(m.reading(request={**m.request, "run_id": "other-run"})),
                                 JSON),
        "read_in_future": lambda: (wire(m.reading(read_at=utcnow() + timedelta(hours=1))),
                                   JSON),
        "read_before_request": lambda: (wire(m.reading(
            read_at=utcnow() - timedelta(hours=1))), JSON),
    }
    if reason in cases:
        return cases[reason]()
    if reason == "meter_inactive":
        assert as_admin.post(f"/admin/meters/{m.meter_id}/deactivate").status_code == 200
        return wire(env), JSON
    if reason == "request_expired":
        stale = issue_request(m.meter_id, m.run_id, issued_at=utcnow() - timedelta(hours=1),
                              ttl=timedelta(minutes=5))
        return wire(m.reading(request=stale)), JSON
    if reason == "counter_replay":
        assert post(wire(m.reading(counter=5))).status_code == 202
        second = issue_request(m.meter_id, m.run_id)
        return wire(m.reading(request=second, counter=5)), JSON
    if reason == "duplicate_reading":
        assert post(wire(env)).status_code == 202
        return wire(env), JSON
    raise AssertionError(f"no test case for the documented refusal {reason}")


CASES = sorted(documented_refusals())


def test_the_table_lists_every_refusal_and_each_has_a_case():
    assert len(CASES) >= 30 and "unsupported_media_type" in CASES
    assert documented_refusals()["unsupported_media_type"] == 415
    assert documented_refusals()["too_large"] == 413


@pytest.mark.parametrize("reason", CASES)
def test_each_documented_refusal(stack, admin, customer, reason):
    _, as_admin = admin
    _, as_customer = customer
    meter = Meter(as_admin, as_customer)

    def post(body: bytes, headers: dict[str, str] = JSON) -> Any:
        return stack.api.post("/device/readings", data=body, headers=headers)

    body, headers = case_body(reason, meter, as_admin, post)
    status = documented_refusals()[reason]
    response = post(body, headers)
    assert response.status_code == status, (reason, response.status_code, response.text)
    assert response.json() == BODY_OF_STATUS[status]
    digest = hashlib.sha256(body).hexdigest()

    def recorded() -> dict[str, Any] | None:
        found = as_admin.get("/admin/meter-rejections",
                             params={"reason": reason}).json()["rejections"]
        return next((r for r in found if r["body_sha256"] == digest), None)

    record = wait_for(recorded, timeout=10)
    assert record["body_bytes"] == len(body)
    expected_owner = "unknown" if reason in ("too_large", "bad_json", "unknown_meter") \
        else meter.meter_id
    assert record["meter_id"] == expected_owner, record
