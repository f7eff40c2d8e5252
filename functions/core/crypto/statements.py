"""Signed key-management statements: server key endorsements and revocations by the ROOT key.

docs/meter-protocol.md section 10. The online server key only signs read requests; a new
server key becomes trusted by a meter only through an endorsement signed by an offline root
key the meter was provisioned with, and a server key is withdrawn at once by a revocation
signed by the same root. So whoever steals the online server key cannot endorse a key of
their own, and loses the stolen key as soon as the root revokes it.

    endorsement = {"type": "server_key_endorsement", "v": 2, "key": <b64u point>,
                   "key_id": <16 hex>, "replaces_key_id": <16 hex>,
                   "replaces_until": <time>, "issued_at": <time>,
                   "signer_key_id": <root key id>, "sig": <b64u r||s>}
    revocation  = {"type": "server_key_revocation", "v": 2, "key_id": <16 hex>,
                   "issued_at": <time>, "signer_key_id": <root key id>, "sig": <b64u r||s>}

``sig`` is ECDSA-SHA-256 (RFC 6979, low-S, 64-byte r||s) by the root key over the canonical
JSON of every member but ``sig``: the envelope's signature rules.

``check_statement`` is what both sides verify (stateless). ``apply_statements`` is the
meter's trust update, written here too as the server's reference for the test vectors (the
meter's own implementation is device_client/crypto.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from .encoding import b64u_decode, b64u_encode, canonical_json, strict_json_object
from .errors import BadSignature, CryptoError, InvalidKey, MalformedEnvelope, StatementRejected
from .keys import PrivateKey, PublicKey, key_id, load_public_key, public_key_b64
from .payloads import CLOCK_SKEW, format_timestamp, parse_timestamp
from .primitives import SIGNATURE_LEN, check_signature_encoding, sign_compact, verify_compact

STATEMENT_VERSION = 2
ENDORSEMENT = "server_key_endorsement"
REVOCATION = "server_key_revocation"
STATEMENTS_HEADER = "X-Server-Key-Endorsements"
MAX_STATEMENTS = 16  # per header, each list
_FIELDS = {
    ENDORSEMENT: frozenset({"type", "v", "key", "key_id", "replaces_key_id", "replaces_until",
                            "issued_at", "signer_key_id", "sig"}),
    REVOCATION: frozenset({"type", "v", "key_id", "issued_at", "signer_key_id", "sig"}),
}
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_TIME_FIELDS = ("issued_at", "replaces_until")
_KEY_ID_FIELDS = ("key_id", "replaces_key_id", "signer_key_id")


def _signed(statement: Mapping[str, Any]) -> bytes:
    return canonical_json({name: value for name, value in statement.items() if name != "sig"})


def _sign(root: PrivateKey, statement: dict[str, Any]) -> dict[str, Any]:
    statement["signer_key_id"] = key_id(root)
    statement["sig"] = b64u_encode(sign_compact(root, _signed(statement)))
    return statement


def make_endorsement(root: PrivateKey, new_key: PublicKey | PrivateKey, *, replaces_key_id: str,
                     replaces_until: datetime, issued_at: datetime) -> dict[str, Any]:
    """The root's word that ``new_key`` is the server key from ``issued_at``, and that the
    key it replaces may be used until ``replaces_until`` (the rotation's grace)."""
    if replaces_until < issued_at:
        raise ValueError("replaces_until must not precede issued_at")
    return _sign(root, {"type": ENDORSEMENT, "v": STATEMENT_VERSION,
                        "key": public_key_b64(new_key), "key_id": key_id(new_key),
                        "replaces_key_id": replaces_key_id,
                        "replaces_until": format_timestamp(replaces_until),
                        "issued_at": format_timestamp(issued_at)})


def make_revocation(root: PrivateKey, revoked_key_id: str, *, issued_at: datetime
                    ) -> dict[str, Any]:
    """The root's word that server key ``revoked_key_id`` must never be trusted again."""
    return _sign(root, {"type": REVOCATION, "v": STATEMENT_VERSION, "key_id": revoked_key_id,
                        "issued_at": format_timestamp(issued_at)})


def check_statement(statement: Any, root_keys: Mapping[str, PublicKey], now: datetime
                    ) -> dict[str, Any]:
    """The statement if it is well formed, signed by one of ``root_keys`` (key id -> key) and
    not issued in the future; else StatementRejected/BadSignature/InvalidKey with the reason.
    Order: shape (bad_statement), signer (untrusted_signer), signature (sig_encoding,
    sig_high_s, bad_signature), the endorsed key (pubkey_*, key_id_mismatch), time
    (statement_not_yet_valid)."""
    if not isinstance(statement, Mapping):
        raise StatementRejected("bad_statement", "a statement is a JSON object")
    kind = statement.get("type")
    if kind not in _FIELDS or statement.keys() != _FIELDS[kind]:
        raise StatementRejected("bad_statement", "unknown type or member set")
    if type(statement["v"]) is not int or statement["v"] != STATEMENT_VERSION:
        raise StatementRejected("bad_statement", "statement v must be 2")
    for name in _KEY_ID_FIELDS:
        if name in statement and not (isinstance(statement[name], str)
                                      and _KEY_ID.fullmatch(statement[name])):
            raise StatementRejected("bad_statement", f"{name} is not a key id")
    try:
        moments = {name: parse_timestamp(statement[name])
                   for name in _TIME_FIELDS if name in statement}
        signature = b64u_decode(statement["sig"], field="sig", length=SIGNATURE_LEN)
    except (TypeError, ValueError, MalformedEnvelope) as error:
        raise StatementRejected("bad_statement", str(error)) from error
    root = root_keys.get(statement["signer_key_id"])
    if root is None:
        raise StatementRejected("untrusted_signer", "not signed by a root key of this meter")
    check_signature_encoding(signature)
    if not verify_compact(root, signature, _signed(statement)):
        raise BadSignature("bad_signature", "the root key did not sign this statement")
    if kind == ENDORSEMENT:
        try:
            endorsed = load_public_key(b64u_decode(statement["key"], field="key"))
        except MalformedEnvelope as error:
            raise InvalidKey("pubkey_encoding", "key is not base64url") from error
        if key_id(endorsed) != statement["key_id"]:
            raise StatementRejected("key_id_mismatch", "key_id is not the endorsed key's id")
        if moments["replaces_until"] < moments["issued_at"]:
            raise StatementRejected("bad_statement", "replaces_until precedes issued_at")
    if moments["issued_at"] > now + CLOCK_SKEW:
        raise StatementRejected("statement_not_yet_valid", "issued_at is in the future")
    return dict(statement)


def encode_statements_header(endorsements: Sequence[Mapping[str, Any]],
                             revocations: Sequence[Mapping[str, Any]]) -> str:
    """The X-Server-Key-Endorsements value: base64url(canonical JSON {"endorsements",
    "revocations"}), each list oldest first."""
    return b64u_encode(canonical_json({"endorsements": [dict(e) for e in endorsements],
                                       "revocations": [dict(r) for r in revocations]}))


def decode_statements_header(value: str) -> tuple[list[Any], list[Any]]:
    """(endorsements, revocations) of a header; StatementRejected("bad_statement") if the
    header itself is malformed (then the meter refuses the request, trust unchanged)."""
    try:
        data = strict_json_object(b64u_decode(value, field="statements"), what="statements")
    except MalformedEnvelope as error:
        raise StatementRejected("bad_statement", error.detail) from error
    if data.keys() != {"endorsements", "revocations"} or not all(
            type(data[name]) is list and len(data[name]) <= MAX_STATEMENTS for name in data):
        raise StatementRejected("bad_statement", "expected endorsements and revocations lists")
    return data["endorsements"], data["revocations"]


# ---------------------------------------------------------------- the meter's trust


@dataclass(frozen=True)
class TrustedKey:
    public_key: str  # b64u compressed point
    key_id: str
    accept_until: str | None = None  # UTC time; None while it is the current key


@dataclass(frozen=True)
class Trust:
    """What a meter trusts: server keys (current first), the root keys it was provisioned
    with, the provisioned bound on a replaced key's overlap, the revoked key ids and the
    issue time of the newest endorsement it applied."""

    server_keys: tuple[TrustedKey, ...]
    root_keys: tuple[str, ...]  # b64u
    max_overlap: timedelta
    revoked: tuple[str, ...] = ()
    newest_endorsement_at: str | None = None
    ignored: tuple[tuple[int, str], ...] = field(default=(), compare=False)

    def usable(self, now: datetime) -> list[TrustedKey]:
        return [k for k in self.server_keys
                if k.accept_until is None or parse_timestamp(k.accept_until) >= now]


def apply_statements(trust: Trust, endorsements: Iterable[Any], revocations: Iterable[Any],
                     now: datetime) -> Trust:
    """The meter's rules (section 10.4): revocations first, then endorsements in order.
    A statement that fails check_statement(), endorses a revoked key or is not newer than
    the newest endorsement applied is ignored (its reason lands in ``ignored``: the index
    in the header's combined list, revocations first); nothing else changes trust."""
    roots = {key_id(k): k for k in (load_public_key(b64u_decode(t, field="root"))
                                    for t in trust.root_keys)}
    ignored: list[tuple[int, str]] = []
    state = replace(trust, ignored=())
    items = [(REVOCATION, r) for r in revocations] + [(ENDORSEMENT, e) for e in endorsements]
    for index, (expected, item) in enumerate(items):
        try:
            statement = check_statement(item, roots, now)
            if statement["type"] != expected:
                raise StatementRejected("bad_statement", f"expected a {expected}")
            state = _apply_one(state, statement)
        except CryptoError as error:
            ignored.append((index, error.reason))
    return replace(state, ignored=tuple(ignored))


def _apply_one(state: Trust, statement: dict[str, Any]) -> Trust:
    if statement["type"] == REVOCATION:
        revoked = statement["key_id"]
        return replace(state, revoked=tuple(dict.fromkeys((*state.revoked, revoked))),
                       server_keys=tuple(k for k in state.server_keys if k.key_id != revoked))
    if statement["key_id"] in state.revoked:
        raise StatementRejected("key_revoked", "the endorsed key was revoked")
    issued_at = parse_timestamp(statement["issued_at"])
    newest = state.newest_endorsement_at
    if newest is not None and issued_at <= parse_timestamp(newest):
        raise StatementRejected("statement_stale", "not newer than the last endorsement")
    # The replaced key stays usable until replaces_until, never longer than provisioning says.
    until = format_timestamp(min(parse_timestamp(statement["replaces_until"]),
                                 issued_at + state.max_overlap))
    keys = [TrustedKey(statement["key"], statement["key_id"])]
    for old in state.server_keys:
        if old.key_id == statement["key_id"]:
            continue
        if old.key_id == statement["replaces_key_id"] or old.accept_until is None:
            limit = until if old.accept_until is None else min(old.accept_until, until)
            old = TrustedKey(old.public_key, old.key_id, limit)
        keys.append(old)
    return replace(state, server_keys=tuple(keys),
                   newest_endorsement_at=statement["issued_at"])


def trust_json(trust: Trust) -> str:
    """A stable text form of a trust state (for the test vectors)."""
    return json.dumps({"server_keys": [[k.key_id, k.accept_until] for k in trust.server_keys],
                       "revoked": list(trust.revoked),
                       "newest_endorsement_at": trust.newest_endorsement_at,
                       "ignored": [list(item) for item in trust.ignored]}, sort_keys=True)
