"""The IoT server's secp256k1 identity, kept in Secrets Manager.

Secret value (JSON, never logged):

    {"format": 1,
     "keys": [{"private_key": "<64 hex>", "key_id": "...", "created_at": "...Z",
               "retired_at": null, "accept_until": null,
               "endorsement": {... signed by the key it replaced ...} | null},   <- current
              {... "retired_at": "...Z", "accept_until": "...Z"}]}              <- previous

The first key is current: it signs every read request and is the key meters encrypt new
readings to. Keys after it were rotated out and stay usable until ``accept_until`` (the
grace period): readings encrypted to them are still opened, and meters still accept
requests they signed. A rotated-in key carries an endorsement: its public key signed by
the key it replaced, so a meter that trusts the old key can learn the new one from the
network without being re-provisioned (docs/meter-protocol.md, "Server key rotation").

Lambda keeps the parsed keys in memory for ``CACHE_SECONDS``, so a function does not call
Secrets Manager once per message; ``server_keys(refresh=True)`` re-reads at once (the
reading endpoint does that when a message names a key id it does not know yet).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from functions.core.aws import client
from functions.core.clock import iso, utcnow
from functions.core.crypto import (
    PrivateKey,
    b64u_encode,
    canonical_json,
    format_timestamp,
    generate_private_key,
    key_id,
    load_private_key,
    parse_timestamp,
    private_key_hex,
    public_key_b64,
    sign_compact,
)
from functions.core.settings import get_settings

SECRET_FORMAT = 1
DEFAULT_GRACE = timedelta(days=7)
CACHE_SECONDS = 300
# A forced refresh (unknown key id in a message) at most this often, so garbage key ids
# cannot turn into one Secrets Manager call per request.
MIN_REFRESH_SECONDS = 10
ENDORSEMENT_TYPE = "server_key_endorsement"


@dataclass(frozen=True)
class ServerKey:
    private: PrivateKey
    key_id: str
    public_key: str  # unpadded base64url, compressed point
    created_at: datetime
    retired_at: datetime | None = None
    accept_until: datetime | None = None
    endorsement: dict[str, Any] | None = None


@dataclass(frozen=True)
class ServerKeys:
    current: ServerKey
    previous: tuple[ServerKey, ...] = ()
    loaded_at: float = field(default_factory=time.monotonic)

    def usable(self, now: datetime | None = None) -> list[ServerKey]:
        """Current key first, then previous keys still inside their grace period."""
        moment = now or utcnow()
        return [self.current, *(k for k in self.previous
                                if k.accept_until is not None and moment <= k.accept_until)]

    def private_keys(self, now: datetime | None = None) -> list[PrivateKey]:
        return [k.private for k in self.usable(now)]

    def key_ids(self, now: datetime | None = None) -> set[str]:
        return {k.key_id for k in self.usable(now)}

    def public_view(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """What a meter is provisioned with: public keys only."""
        return [{"key_id": k.key_id, "public_key": k.public_key,
                 "status": "current" if k is self.current else "previous",
                 "accept_until": iso(k.accept_until) if k.accept_until else None}
                for k in self.usable(now)]

    def endorsements(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Endorsements of the usable keys, oldest first (the chain a meter walks)."""
        return [k.endorsement for k in reversed(self.usable(now)) if k.endorsement]


# ---------------------------------------------------------------- secret (de)serialisation


def _key_to_json(key: ServerKey) -> dict[str, Any]:
    return {"private_key": private_key_hex(key.private), "key_id": key.key_id,
            "created_at": iso(key.created_at),
            "retired_at": iso(key.retired_at) if key.retired_at else None,
            "accept_until": iso(key.accept_until) if key.accept_until else None,
            "endorsement": key.endorsement}


def _key_from_json(data: dict[str, Any]) -> ServerKey:
    private = load_private_key(data["private_key"])

    def moment(name: str) -> datetime | None:
        return parse_timestamp(data[name]) if data.get(name) else None

    created = moment("created_at")
    return ServerKey(private=private, key_id=key_id(private), public_key=public_key_b64(private),
                     created_at=created or utcnow(), retired_at=moment("retired_at"),
                     accept_until=moment("accept_until"), endorsement=data.get("endorsement"))


def _to_secret(keys: ServerKeys) -> str:
    return json.dumps({"format": SECRET_FORMAT,
                       "keys": [_key_to_json(k) for k in (keys.current, *keys.previous)]})


def _from_secret(text: str) -> ServerKeys:
    data = json.loads(text)
    if data.get("format") != SECRET_FORMAT or not data.get("keys"):
        raise ValueError("the server key secret has an unknown format")
    keys = [_key_from_json(item) for item in data["keys"]]
    return ServerKeys(current=keys[0], previous=tuple(keys[1:]))


def new_server_key(now: datetime, endorsed_by: PrivateKey | None = None) -> ServerKey:
    private = generate_private_key()
    endorsement = endorse(endorsed_by, private, now) if endorsed_by is not None else None
    return ServerKey(private=private, key_id=key_id(private), public_key=public_key_b64(private),
                     created_at=now, endorsement=endorsement)


def endorse(old: PrivateKey, new: PrivateKey, now: datetime) -> dict[str, Any]:
    """The new server public key, signed by the key it replaces (ECDSA over the canonical
    JSON of every field but "sig", exactly as envelopes are signed)."""
    statement: dict[str, Any] = {
        "type": ENDORSEMENT_TYPE,
        "v": 1,
        "new_key": public_key_b64(new),
        "new_key_id": key_id(new),
        "signer_key_id": key_id(old),
        "issued_at": format_timestamp(now),
    }
    statement["sig"] = b64u_encode(sign_compact(old, canonical_json(statement)))
    return statement


# ---------------------------------------------------------------- store + cache


class ServerKeyStore:
    """Secrets Manager behind a tiny interface, with the in-memory cache."""

    def __init__(self, secret_name: str | None = None) -> None:
        self.secret_name = secret_name or get_settings().server_key_secret
        self._lock = threading.Lock()
        self._cached: ServerKeys | None = None

    def _read(self) -> ServerKeys:
        value = client("secretsmanager").get_secret_value(SecretId=self.secret_name)
        return _from_secret(value["SecretString"])

    def _write(self, keys: ServerKeys) -> None:
        client("secretsmanager").put_secret_value(SecretId=self.secret_name,
                                                  SecretString=_to_secret(keys))

    def keys(self, *, refresh: bool = False) -> ServerKeys:
        with self._lock:
            cached = self._cached
            age = time.monotonic() - cached.loaded_at if cached else None
            stale = age is None or age > CACHE_SECONDS or (refresh and age > MIN_REFRESH_SECONDS)
            if stale:
                self._cached = cached = self._read()
            assert cached is not None
            return cached

    def ensure(self) -> str:
        """Give the secret a key if it has none. Idempotent.

        Locally the secret does not exist yet; in AWS the resources stack creates
        it empty (no key material in a template), so both cases are handled."""
        secrets = client("secretsmanager")
        keys = ServerKeys(current=new_server_key(utcnow()))
        try:
            secrets.describe_secret(SecretId=self.secret_name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            try:
                secrets.create_secret(Name=self.secret_name, SecretString=_to_secret(keys),
                                      Description="IoT billing: the server's secp256k1 key pair")
            except ClientError as race:
                if race.response["Error"]["Code"] != "ResourceExistsException":  # racing setup
                    raise
                return "exists"
            return "created"
        if self._has_value(secrets):
            return "exists"
        secrets.put_secret_value(SecretId=self.secret_name, SecretString=_to_secret(keys))
        return "filled"

    def _has_value(self, secrets: Any) -> bool:
        try:
            secrets.get_secret_value(SecretId=self.secret_name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return False  # the secret exists but has no version yet
            raise
        return True

    def rotate(self, grace: timedelta = DEFAULT_GRACE, now: datetime | None = None
               ) -> ServerKeys:
        """New current key (endorsed by the old one); the old one stays usable for
        ``grace``. Keys whose grace period is over are dropped from the secret."""
        moment = now or utcnow()
        old = self._read()
        retired = ServerKey(private=old.current.private, key_id=old.current.key_id,
                            public_key=old.current.public_key, created_at=old.current.created_at,
                            retired_at=moment, accept_until=moment + grace,
                            endorsement=old.current.endorsement)
        still_usable = tuple(k for k in old.previous
                             if k.accept_until is not None and k.accept_until > moment)
        rotated = ServerKeys(current=new_server_key(moment, endorsed_by=old.current.private),
                             previous=(retired, *still_usable))
        self._write(rotated)
        with self._lock:
            self._cached = rotated
        return rotated

    def forget(self) -> None:
        with self._lock:
            self._cached = None


_stores: dict[str, ServerKeyStore] = {}
_stores_lock = threading.Lock()


def key_store() -> ServerKeyStore:
    """The process-wide store for the configured secret (cache lives as long as Lambda)."""
    name = get_settings().server_key_secret
    with _stores_lock:
        if name not in _stores:
            _stores[name] = ServerKeyStore(name)
        return _stores[name]


def server_keys(*, refresh: bool = False) -> ServerKeys:
    return key_store().keys(refresh=refresh)


def ensure_server_key() -> dict[str, str]:
    """Resource setup (devstack/provision.py, infra): create the server key if missing."""
    store = key_store()
    return {f"secret {store.secret_name}": store.ensure()}


def rotate_server_key(grace: timedelta = DEFAULT_GRACE) -> ServerKeys:
    return key_store().rotate(grace)
