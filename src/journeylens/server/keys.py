"""Keys of a workspace: write keys (one per source) for the ingestion endpoints, read tokens for
the query API, admin tokens for privacy requests.

Keys live in ``<workspace>/keys.json`` (mode 0600), stored as SHA-256 hashes of the secret:
the secret is shown once, when the key is created, and cannot be read back. A key is a random
``jlw_…`` (write), ``jlr_…`` (read) or ``jla_…`` (admin) string of 32 URL-safe characters after
the prefix; being random and long, an unsalted hash is enough to make a stolen file useless.

A running server sees keys created or revoked by the CLI at once: it re-reads the file when its
modification time or size changes.

>>> import tempfile
>>> from pathlib import Path
>>> keys = KeyStore(Path(tempfile.mkdtemp()))
>>> created = keys.create("write", source="website")
>>> keys.verify(created.secret, "write").source
'website'
>>> keys.revoke(created.key.id).revoked_at is not None
True
>>> keys.verify(created.secret, "write") is None
True
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import secrets
import threading
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from journeylens.errors import ConfigError, NotFoundError
from journeylens.schema import DATA_PARTIES

__all__ = ["KEYS_FILE", "KIND_PREFIX", "CreatedKey", "Key", "KeyKind", "KeyStore"]

KEYS_FILE: Final = "keys.json"
KeyKind = Literal["write", "read", "admin"]
KIND_PREFIX: Final[dict[str, str]] = {"write": "jlw_", "read": "jlr_", "admin": "jla_"}
"""What each kind of key opens: write → ingestion (as its source); read → the query API;
admin → the query API and privacy requests."""


@dataclass(frozen=True)
class Key:
    """One key as stored: never the secret, only its hash and first characters."""

    id: str
    kind: KeyKind
    name: str
    source: str | None
    """The source the events sent with this write key are stored under."""
    data_party: str
    sha256: str
    hint: str
    """The first characters of the secret, to recognise it in a list."""
    created_at: str
    revoked_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CreatedKey:
    key: Key
    secret: str
    """Shown once; only its hash is kept."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class KeyStore:
    """The keys of one workspace folder (``keys.json``)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / KEYS_FILE
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._keys: list[Key] = []
        self._by_hash: dict[str, Key] = {}

    # -- reading ---------------------------------------------------------------------------
    def _refresh(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._keys, self._by_hash = None, [], {}
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            keys = [Key(**entry) for entry in raw["keys"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"{self.path}: not a keys file ({exc}); restore it from a backup or delete it "
                "and create the keys again",
                file=str(self.path),
            ) from exc
        self._stamp, self._keys = stamp, keys
        self._by_hash = {k.sha256: k for k in keys if k.revoked_at is None}

    def list(self) -> builtins.list[Key]:
        """Every key, revoked ones included, oldest first."""
        with self._lock:
            self._refresh()
            return list(self._keys)

    def verify(self, secret: str | None, *kinds: KeyKind) -> Key | None:
        """The live key whose secret is ``secret``, if it is of one of ``kinds``."""
        if not secret:
            return None
        with self._lock:
            self._refresh()
            key = self._by_hash.get(_hash(secret))
        return key if key is not None and key.kind in kinds else None

    def has(self, kind: KeyKind) -> bool:
        return any(k.kind == kind and k.revoked_at is None for k in self.list())

    # -- writing ---------------------------------------------------------------------------
    def create(
        self,
        kind: KeyKind,
        *,
        source: str | None = None,
        name: str | None = None,
        data_party: str = "first",
    ) -> CreatedKey:
        """A new key; a write key needs the ``source`` its events are stored under."""
        if kind not in KIND_PREFIX:
            raise ConfigError(
                f"kind: {kind!r} is not a key kind", field="kind", allowed=list(KIND_PREFIX)
            )
        if kind == "write" and not source:
            raise ConfigError(
                "source: a write key needs the source its events come from (e.g. website)",
                field="source",
            )
        if data_party not in DATA_PARTIES:
            raise ConfigError(
                f"data_party: {data_party!r} is not one of {', '.join(DATA_PARTIES)}",
                field="data_party",
                allowed=DATA_PARTIES,
            )
        secret = KIND_PREFIX[kind] + secrets.token_urlsafe(24)
        key = Key(
            id="k_" + secrets.token_hex(4),
            kind=kind,
            name=name or (source if kind == "write" and source else kind),
            source=source if kind == "write" else None,
            data_party=data_party,
            sha256=_hash(secret),
            hint=secret[:8],
            created_at=_now(),
        )
        with self._lock:
            self._refresh()
            self._save([*self._keys, key])
        return CreatedKey(key, secret)

    def revoke(self, key_id: str) -> Key:
        """Revoke a key by id: requests carrying it get 401 from then on."""
        with self._lock:
            self._refresh()
            found = next((k for k in self._keys if k.id == key_id), None)
            if found is None:
                raise NotFoundError(
                    f"no key {key_id!r}; `journeylens keys list` shows the ids",
                    kind="key",
                    key=key_id,
                )
            revoked = found if found.revoked_at else replace(found, revoked_at=_now())
            self._save([revoked if k.id == key_id else k for k in self._keys])
        return revoked

    def _save(self, keys: builtins.list[Key]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{KEYS_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump({"keys": [k.to_dict() for k in keys]}, file, indent=2)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, self.path)
        self._stamp = None
        self._refresh()
