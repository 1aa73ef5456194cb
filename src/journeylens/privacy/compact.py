"""Rewriting the store file so that deleted rows leave the disk.

DuckDB marks deleted rows and frees their blocks at a checkpoint, but does not overwrite freed
blocks: the bytes of a deleted person can stay in the file until the space is reused. A
delete request checkpoints; :func:`compact_store` then copies every table and view into a new
file (``COPY FROM DATABASE``) and puts it in place of the old one, so the old blocks are gone.
It needs the workspace closed (no server, no other process holding the store).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
from sqlglot import exp

from journeylens.errors import NotFoundError, StorageError

__all__ = ["CompactResult", "compact_store"]

STORE_FILE = "events.duckdb"


@dataclass(frozen=True)
class CompactResult:
    bytes_before: int
    bytes_after: int

    def to_dict(self) -> dict[str, int]:
        return {"bytes_before": self.bytes_before, "bytes_after": self.bytes_after}


def _lit(path: Path) -> str:
    return exp.Literal.string(str(path)).sql("duckdb")


def compact_store(workspace_path: str | Path) -> CompactResult:
    """Copy the store of a closed workspace into a fresh file and replace the old one."""
    folder = Path(workspace_path)
    store = folder / STORE_FILE
    if not store.exists():
        raise NotFoundError(f"no event store at {store}", kind="workspace", key=str(folder))
    fresh = folder / f".{STORE_FILE}.compact"
    fresh.unlink(missing_ok=True)
    before = store.stat().st_size + _size(folder / f"{STORE_FILE}.wal")
    con = duckdb.connect()
    try:
        try:
            con.execute(f"ATTACH {_lit(store)} AS old").fetchall()
        except duckdb.Error as exc:  # held by another process, or by this one
            raise StorageError(
                f"cannot compact {store}: {exc}. Stop the server or other process holding "
                "the workspace first.",
                path=str(store),
            ) from exc
        con.execute("CHECKPOINT old").fetchall()  # fold the WAL into the file
        con.execute(f"ATTACH {_lit(fresh)} AS fresh").fetchall()
        con.execute("COPY FROM DATABASE old TO fresh").fetchall()
        con.execute("DETACH fresh").fetchall()
        con.execute("DETACH old").fetchall()
    except BaseException:
        fresh.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    os.replace(fresh, store)
    (folder / f"{STORE_FILE}.wal").unlink(missing_ok=True)
    return CompactResult(before, store.stat().st_size)


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0
