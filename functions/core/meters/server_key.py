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
requests they signed. A rotated-in key carries an endorsement signed by the offline ROOT
key ("replaces <old key> until <accept_until>"), so a meter provisioned with the root's
public key learns the new key from the network; the root's revocations withdraw a key at
once (docs/meter-protocol.md section 10). The online server key signs only requests: whoever
steals it cannot endorse a key of their own.

The root key pair is NOT in this secret: it lives in its own secret (``<name>-root``) that
only the key ceremony (``python -m functions.core.meters.server_key rotate|revoke``, an
admin's machine or a break-glass role) can read; the functions' roles cannot. This secret
keeps the root's public key(s) (``root_public_keys``), which provisioning hands to meters,
and the root-signed revocations (``revocations``), which every request carries.

Lambda keeps the parsed keys in memory for ``CACHE_SECONDS``, so a function does not call
Secrets Manager once per message; ``server_keys(refresh=True)`` re-reads at once (the
reading endpoint does that when a message names a key id it does not know yet).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from functions.core.aws import client
from functions.core.clock import iso, utcnow
from functions.core.crypto import (
    PrivateKey,
    encode_statements_header,
    generate_private_key,
    key_id,
    load_private_key,
    load_public_key_b64,
    make_endorsement,
    make_revocation,
    parse_timestamp,
    private_key_hex,
    public_key_b64,
)
from functions.core.crypto.statements import STATEMENT_VERSION
from functions.core.errors import Conflict
from functions.core.settings import get_settings

SECRET_FORMAT = 1
DEFAULT_GRACE = timedelta(days=7)
# The longest a replaced key stays trusted after its successor's endorsement: provisioned
# into every meter, which never trusts a replaced key longer, whatever an endorsement says.
MAX_KEY_OVERLAP = timedelta(days=30)
REVOCATION_RETENTION = timedelta(days=400)
CACHE_SECONDS = 300
# A forced refresh (unknown key id in a message) at most this often, so garbage key ids
# cannot turn into one Secrets Manager call per request.
MIN_REFRESH_SECONDS = 10


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
    root_public_keys: tuple[str, ...] = ()  # b64u; the private halves are offline
    revocations: tuple[dict[str, Any], ...] = ()  # root-signed, oldest first

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
        """Root endorsements of the usable keys, oldest first (what a meter applies)."""
        return [k.endorsement for k in reversed(self.usable(now))
                if k.endorsement and k.endorsement.get("v") == STATEMENT_VERSION]

    def statements_header(self, now: datetime | None = None) -> str | None:
        """The X-Server-Key-Endorsements value every request carries, or None if there is
        nothing to say (no rotation in its grace period, no revocation)."""
        endorsements = self.endorsements(now)
        if not endorsements and not self.revocations:
            return None
        return encode_statements_header(endorsements, list(self.revocations))

    def root_view(self) -> list[dict[str, str]]:
        return [{"key_id": key_id(load_public_key_b64(text)), "public_key": text}
                for text in self.root_public_keys]


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
                       "keys": [_key_to_json(k) for k in (keys.current, *keys.previous)],
                       "root_public_keys": list(keys.root_public_keys),
                       "revocations": list(keys.revocations)})


def _from_secret(text: str) -> ServerKeys:
    data = json.loads(text)
    if data.get("format") != SECRET_FORMAT or not data.get("keys"):
        raise ValueError("the server key secret has an unknown format")
    keys = [_key_from_json(item) for item in data["keys"]]
    return ServerKeys(current=keys[0], previous=tuple(keys[1:]),
                      root_public_keys=tuple(data.get("root_public_keys") or ()),
                      revocations=tuple(data.get("revocations") or ()))


def new_server_key(now: datetime, *, root: PrivateKey | None = None,
                   replaces: ServerKey | None = None, grace: timedelta = DEFAULT_GRACE
                   ) -> ServerKey:
    """A fresh server key; with ``root`` and ``replaces``, endorsed by the root as the
    successor of ``replaces``, which stays usable for ``grace``."""
    private = generate_private_key()
    endorsement = None
    if root is not None and replaces is not None:
        endorsement = make_endorsement(root, private, replaces_key_id=replaces.key_id,
                                       replaces_until=now + grace, issued_at=now)
    return ServerKey(private=private, key_id=key_id(private), public_key=public_key_b64(private),
                     created_at=now, endorsement=endorsement)


# ---------------------------------------------------------------- the offline root key


class RootKeyStore:
    """The root key pair's own secret, ``<server key secret>-root`` (format 1, a list of
    private keys, current first). Only the key ceremony reads it; locally the resource
    setup creates it so that rotation works on a laptop."""

    def __init__(self, secret_name: str) -> None:
        self.secret_name = secret_name

    def private(self) -> PrivateKey:
        try:
            value = client("secretsmanager").get_secret_value(SecretId=self.secret_name)
        except ClientError as exc:
            raise Conflict("The root key is offline (not readable here): rotate or revoke "
                           "with the key ceremony, python -m functions.core.meters.server_key"
                           ) from exc
        data = json.loads(value["SecretString"])
        if data.get("format") != SECRET_FORMAT or not data.get("keys"):
            raise ValueError("the root key secret has an unknown format")
        return load_private_key(data["keys"][0]["private_key"])

    def ensure(self) -> tuple[str, PrivateKey | None]:
        """("created", key) for a new root key, ("exists", None) if there is one."""
        secrets = client("secretsmanager")
        root = generate_private_key()
        value = json.dumps({"format": SECRET_FORMAT, "keys": [
            {"private_key": private_key_hex(root), "key_id": key_id(root),
             "created_at": iso(utcnow())}]})
        try:
            secrets.create_secret(Name=self.secret_name, SecretString=value,
                                  Description="IoT billing: the OFFLINE root key that endorses "
                                              "and revokes server keys (key ceremony only)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceExistsException":
                raise
            return "exists", None
        return "created", root


# ---------------------------------------------------------------- store + cache


class ServerKeyStore:
    """Secrets Manager behind a tiny interface, with the in-memory cache."""

    def __init__(self, secret_name: str | None = None) -> None:
        self.secret_name = secret_name or get_settings().server_key_secret
        self.root = RootKeyStore(f"{self.secret_name}-root")
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
        _, root = self.root.ensure()
        roots = (public_key_b64(root or self.root.private()),)
        keys = ServerKeys(current=new_server_key(utcnow()), root_public_keys=roots)
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
            current = self._read()
            if roots[0] not in current.root_public_keys:  # a server key older than the root
                self._write(replace(current, root_public_keys=(*current.root_public_keys,
                                                               *roots)))
                return "root added"
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
        """New current key, endorsed by the ROOT key; the old one stays usable for
        ``grace`` (at most MAX_KEY_OVERLAP, the bound meters are provisioned with). Keys
        whose grace period is over are dropped from the secret."""
        if not timedelta(0) <= grace <= MAX_KEY_OVERLAP:
            raise ValueError(f"grace must be between 0 and {MAX_KEY_OVERLAP.days} days")
        moment = now or utcnow()
        root = self.root.private()
        old = self._read()
        retired = ServerKey(private=old.current.private, key_id=old.current.key_id,
                            public_key=old.current.public_key, created_at=old.current.created_at,
                            retired_at=moment, accept_until=moment + grace,
                            endorsement=old.current.endorsement)
        still_usable = tuple(k for k in old.previous
                             if k.accept_until is not None and k.accept_until > moment)
        rotated = replace(old, current=new_server_key(moment, root=root, replaces=old.current,
                                                      grace=grace),
                          previous=(retired, *still_usable))
        self._write(rotated)
        with self._lock:
            self._cached = rotated
        return rotated

    def revoke(self, revoked_key_id: str, now: datetime | None = None) -> ServerKeys:
        """Withdraw a server key at once (it leaked): a root-signed revocation that every
        request carries from now on; the key is dropped from the secret. Revoking the
        current key first rotates to a new one with no grace."""
        moment = now or utcnow()
        keys = self._read()
        if keys.current.key_id == revoked_key_id:
            keys = self.rotate(timedelta(0), moment)
        elif revoked_key_id not in {k.key_id for k in keys.previous}:
            raise KeyError(revoked_key_id)
        revocation = make_revocation(self.root.private(), revoked_key_id, issued_at=moment)
        kept = tuple(r for r in keys.revocations
                     if parse_timestamp(r["issued_at"]) > moment - REVOCATION_RETENTION)
        revoked = replace(keys, previous=tuple(k for k in keys.previous
                                               if k.key_id != revoked_key_id),
                          revocations=(*kept, revocation))
        self._write(revoked)
        with self._lock:
            self._cached = revoked
        return revoked

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


def revoke_server_key(revoked_key_id: str) -> ServerKeys:
    return key_store().revoke(revoked_key_id)


if __name__ == "__main__":  # the key ceremony: python -m functions.core.meters.server_key
    import sys

    command = sys.argv[1:2]
    if command == ["rotate"]:
        days = int(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_GRACE.days
        print(rotate_server_key(timedelta(days=days)).current.key_id)
    elif command == ["revoke"] and len(sys.argv) == 3:
        print(revoke_server_key(sys.argv[2]).current.key_id)
    else:
        sys.exit("usage: python -m functions.core.meters.server_key rotate [grace days] | "
                 "revoke <key id>")
