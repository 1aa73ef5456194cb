"""Suppressed identities: dropped at ingestion, checked without opening the store.

Two checks, with the same tokens (:mod:`journeylens.privacy.tokens`):

* :func:`drop_suppressed` — the event store calls it on every append (files, HTTP batches,
  ``Workspace.append_messages``): rows carrying a suppressed identifier (user id, anonymous id,
  previous id, or a trait identifier in ``traits`` / ``context.traits``) are not stored. The
  ``suppressions`` table is the source of truth.
* :class:`SuppressionFilter` — for a server that wants to drop a message before it reaches the
  store: it reads ``<workspace>/suppressions.json`` (the tokens, the trait identifiers and the
  phone region) and ``<workspace>/privacy.key`` (the secret), both written atomically whenever
  suppressions change, and rebuilt from the store when missing.

>>> import tempfile, journeylens
>>> with journeylens.create_workspace(tempfile.mkdtemp() + "/ws") as ws:
...     _ = ws.privacy.suppress("Mario.Rossi@example.it")
...     report = ws.append_messages([
...         {"type": "identify", "userId": "u1", "traits": {"email": "mario.rossi@EXAMPLE.it"},
...          "timestamp": "2026-11-02T10:00:00Z"},
...         {"type": "track", "event": "x", "userId": "u2", "timestamp": "2026-11-02T10:01:00Z"},
...     ], source="web")
...     f = SuppressionFilter.for_workspace(ws.path)
...     message = {"context": {"traits": {"email": "MARIO.rossi@example.it"}}}
...     (report.stored, f.is_suppressed(message))
(1, True)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa

from journeylens.engines.base import Engine
from journeylens.identity.identifiers import EMAIL, ID_KINDS, PHONE, WHITESPACE, phone_table
from journeylens.privacy.tables import read_settings
from journeylens.privacy.tokens import SEP, message_identifiers, token

__all__ = [
    "CACHE_FILE",
    "KEY_FILE",
    "SuppressionFilter",
    "drop_suppressed",
    "write_cache",
]

CACHE_FILE: Final = "suppressions.json"
KEY_FILE: Final = "privacy.key"
_POINTER: Final = "'/' || replace(replace(?, '~', '~0'), '/', '~1')"


@dataclass(frozen=True)
class _Stamp:
    mtime_ns: int
    size: int


def _stamp(path: Path) -> _Stamp | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return _Stamp(st.st_mtime_ns, st.st_size)


class SuppressionFilter:
    """Is a message (a dict as an SDK sent it) from a suppressed person?

    Reads the workspace's ``suppressions.json`` and ``privacy.key``; :meth:`refresh` re-reads
    them only when they changed (modification time or size). Without the files nothing is
    suppressed.
    """

    def __init__(self, cache: Path, key: Path) -> None:
        self.cache = cache
        self.key = key
        self._stamps: tuple[_Stamp | None, _Stamp | None] | None = None
        self._secret = ""
        self._identifiers: tuple[str, ...] = ()
        self._region = "IT"
        self._tokens: frozenset[str] = frozenset()
        self.refresh()

    @classmethod
    def for_workspace(cls, workspace_path: str | Path) -> SuppressionFilter:
        folder = Path(workspace_path)
        return cls(folder / CACHE_FILE, folder / KEY_FILE)

    def __len__(self) -> int:
        """How many identifier tokens are suppressed."""
        return len(self._tokens)

    def refresh(self) -> None:
        """Re-read the files if they changed since the last read (cheap otherwise: two stats)."""
        stamps = (_stamp(self.cache), _stamp(self.key))
        if stamps == self._stamps:
            return
        try:
            data = json.loads(self.cache.read_text("utf-8")) if stamps[0] else {}
            secret = self.key.read_text("utf-8").strip() if stamps[1] else ""
        except FileNotFoundError:  # replaced between stat and read: read again next time
            return
        tokens = data.get("tokens", {}) if secret else {}
        self._tokens = frozenset(t for values in tokens.values() for t in values)
        self._secret = secret
        self._identifiers = tuple(data.get("identifiers", ()))
        self._region = str(data.get("phone_region", "IT"))
        self._stamps = stamps

    def is_suppressed(self, message: Any) -> bool:
        """Whether ``message`` carries any suppressed identifier (see
        :func:`journeylens.privacy.tokens.message_identifiers` for the keys read)."""
        if not self._tokens or not isinstance(message, dict):
            return False
        return any(
            token(self._secret, kind, value) in self._tokens
            for kind, value in message_identifiers(message, self._identifiers, self._region)
        )


def _atomic_write(path: Path, text: str, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_cache(engine: Engine, folder: Path) -> None:
    """Write ``suppressions.json`` and ``privacy.key`` from the store (atomically)."""
    settings = read_settings(engine)
    if settings is None:
        return
    key = folder / KEY_FILE
    if not key.exists() or key.read_text("utf-8").strip() != settings.secret:
        _atomic_write(key, settings.secret + "\n", 0o600)
    tokens: dict[str, list[str]] = {}
    for row in engine.rows("SELECT DISTINCT kind, token FROM suppressions ORDER BY kind, token"):
        tokens.setdefault(row["kind"], []).append(row["token"])
    payload = {
        "version": 1,
        "about": "tokens of suppressed identifiers (keyed SHA-256, see docs/privacy.md); "
        "rebuilt from the store's suppressions table",
        "identifiers": list(settings.identifiers),
        "phone_region": settings.phone_region,
        "tokens": tokens,
    }
    _atomic_write(folder / CACHE_FILE, json.dumps(payload, indent=1, sort_keys=True) + "\n")


def drop_suppressed(engine: Engine, batch: pa.Table) -> tuple[pa.Table, int]:
    """``batch`` (canonical event columns) without the rows of suppressed people, and how many
    rows were dropped. Costs one catalogue look-up while nothing is suppressed."""
    if batch.num_rows == 0 or not engine.table_exists("suppressions"):
        return batch, 0
    kinds = [r["kind"] for r in engine.rows("SELECT DISTINCT kind FROM suppressions")]
    settings = read_settings(engine)
    if not kinds or settings is None:
        return batch, 0
    rows = pa.array(np.arange(batch.num_rows, dtype=np.int64))
    staged = batch.select(["user_id", "anonymous_id", "previous_id", "traits", "context"])
    staged = staged.append_column("_row", rows)
    with engine.registered("_jl_sup_batch", staged):
        parts, params = _candidates(engine, kinds, settings.phone_region)
        if not parts:
            return batch, 0
        query = (
            "SELECT DISTINCT c._row FROM (" + " UNION ALL ".join(parts) + ") c "
            "JOIN suppressions s ON s.kind = c.kind AND s.token = sha256(? || c.kind || ? || c.f)"
        )
        raws: list[str | None] = []
        if PHONE in kinds:
            raws = engine.arrow(
                "SELECT DISTINCT json_extract_string(j, '/phone') AS raw FROM "
                "(SELECT traits AS j FROM _jl_sup_batch UNION ALL "
                "SELECT json_extract(context, '$.traits') FROM _jl_sup_batch) WHERE j IS NOT NULL"
            )["raw"].to_pylist()
        phones = phone_table(raws, settings.phone_region)
        with engine.registered("_jl_sup_phones", phones):
            hit = engine.arrow(query, [*params, settings.secret + SEP, SEP])
    if hit.num_rows == 0:
        return batch, 0
    keep = np.ones(batch.num_rows, dtype=bool)
    keep[hit["_row"].to_numpy()] = False
    return batch.filter(pa.array(keep)), int((~keep).sum())


def _candidates(engine: Engine, kinds: list[str], region: str) -> tuple[list[str], list[Any]]:
    """SELECTs of ``(_row, kind, f)``: each identifier a row carries, in its token form."""
    parts: list[str] = []
    params: list[Any] = []
    for kind in ID_KINDS:
        if kind not in kinds:
            continue
        for column in (kind, "previous_id"):
            parts.append(
                f"SELECT _row, ? AS kind, {column} AS f FROM _jl_sup_batch "
                f"WHERE nullif({column}, '') IS NOT NULL"
            )
            params.append(kind)
    traits = (
        "(SELECT _row, traits AS j FROM _jl_sup_batch UNION ALL "
        "SELECT _row, json_extract(context, '$.traits') FROM _jl_sup_batch)"
    )
    for kind in kinds:
        if kind in ID_KINDS:
            continue
        raw = f"json_extract_string(j, {_POINTER})"
        if kind == PHONE:
            parts.append(
                f"SELECT t._row, ? AS kind, sha256(p.e164) AS f FROM {traits} t "
                f"JOIN _jl_sup_phones p ON p.raw = {raw} WHERE p.e164 IS NOT NULL"
            )
            params += [kind, kind]
            continue
        normal = f"lower(trim({raw}, ?))" if kind == EMAIL else f"nullif(trim({raw}, ?), '')"
        parts.append(
            f"SELECT _row, ? AS kind, sha256({normal}) AS f FROM {traits} t "
            f"WHERE {normal} IS NOT NULL"
        )
        params += [kind, kind, WHITESPACE, kind, WHITESPACE]
    return parts, params
