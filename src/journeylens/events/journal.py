"""The ingestion journal: where an HTTP batch is made durable before it is acknowledged, and how
acknowledged batches move into the event store (docs/adr/0005-ingestion-durability.md).

DuckDB lets one process at a time hold ``events.duckdb``. The server therefore never keeps the
store open while it ingests: it appends each batch, already validated and normalised, to a
*segment* file under ``<workspace>/journal/`` and fsyncs it (one fsync for every request that
arrived meanwhile: group commit) before it answers 200. Whoever holds the store — the server's
loader, a CLI command, a Python script — first *drains* the journal into it
(:func:`drain_journal`), so every acknowledged event is visible to every reader.

* ``<workspace>/.journeylens.lock``: an advisory lock (``flock``) held by whoever has the store
  open (:class:`WorkspaceLock`); it serialises the server's loader and other processes.
* A segment is a sequence of frames ``b"JLF1" | length u32 | crc32 u32 | payload`` where the
  payload is an Arrow IPC stream of rows with :data:`~journeylens.events.store.STAGED_SCHEMA`.
  A frame whose bytes are incomplete or whose checksum fails ends the readable part: it was
  never acknowledged (its fsync had not returned).
* ``segment.open`` is being written by a live writer, which holds a ``flock`` on it;
  ``segment.seg`` is sealed. An ``.open`` segment whose lock can be taken belongs to a writer
  that died: it is read up to its last whole frame, like a sealed one.
* The store's ``journal_progress`` table says, per segment, how many bytes are loaded; it is
  updated in the same transaction as the events, so a segment is loaded exactly once even when
  the loader dies half-way (and ``messageId`` dedupe would catch a repeat anyway). A segment is
  deleted once it is sealed (or dead) and fully loaded.
"""

from __future__ import annotations

import fcntl
import os
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Final

import pyarrow as pa

from journeylens.config import ChannelRule
from journeylens.engines.base import Engine
from journeylens.errors import StorageError
from journeylens.events.store import IMPORT_COLUMNS, STAGED_SCHEMA, append_events, register_source

__all__ = [
    "JOURNAL_DIR",
    "LOCK_FILE",
    "DrainResult",
    "JournalWriter",
    "WorkspaceLock",
    "drain_journal",
    "encode_frame",
    "pending_bytes",
    "read_frames",
]

JOURNAL_DIR: Final = "journal"
LOCK_FILE: Final = ".journeylens.lock"
_MAGIC: Final = b"JLF1"
_HEADER: Final = struct.Struct("<4sII")
_PROGRESS_DDL: Final = (
    "CREATE TABLE IF NOT EXISTS journal_progress "
    "(segment VARCHAR PRIMARY KEY, loaded_bytes BIGINT NOT NULL, loaded_at TIMESTAMP NOT NULL)"
)


class WorkspaceLock:
    """The advisory lock on a workspace's store (``<workspace>/.journeylens.lock``).

    Exclusive between processes (``flock``). Within one process it is shared: DuckDB lets the
    connections of one process use a file together, so a second :class:`WorkspaceLock` on the
    same folder in the same process is granted at once, and the ``flock`` is released when the
    last holder releases. :func:`drain_journal` serialises the threads of a process itself.
    """

    _guard = threading.Lock()
    _held: ClassVar[dict[str, list[int]]] = {}
    """Folder → [file descriptor holding the flock, holders in this process]."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self._key = str(folder.resolve())
        self.held = False

    def try_acquire(self) -> bool:
        """Take the lock if it is free (or this process holds it); never waits."""
        if self.held:
            return True
        with self._guard:
            entry = self._held.get(self._key)
            if entry is None:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    return False
                entry = self._held[self._key] = [fd, 0]
            entry[1] += 1
        self.held = True
        return True

    def acquire(self, timeout: float = 60.0) -> WorkspaceLock:
        """Wait up to ``timeout`` seconds for the lock; :class:`StorageError` after that."""
        deadline = time.monotonic() + timeout
        delay = 0.002
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                raise StorageError(
                    f"the workspace {self.path.parent} stayed busy for {timeout:g} s (another "
                    "journeylens process holds its store); try again, or stop that process",
                    path=str(self.path),
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return self

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        with self._guard:
            entry = self._held[self._key]
            entry[1] -= 1
            if entry[1] == 0:
                del self._held[self._key]
                fcntl.flock(entry[0], fcntl.LOCK_UN)
                os.close(entry[0])

    def __enter__(self) -> WorkspaceLock:
        return self.acquire()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


# -- frames --------------------------------------------------------------------------------


def encode_frame(rows: pa.Table, *, source: str, data_party: str) -> bytes:
    """One journal frame holding ``rows`` (:data:`STAGED_SCHEMA` columns) delivered by
    ``source``; the frame checks itself with a CRC-32."""
    if not rows.schema.equals(STAGED_SCHEMA):
        rows = rows.cast(STAGED_SCHEMA)
    table = rows.replace_schema_metadata({"source": source, "data_party": data_party})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    payload: bytes = sink.getvalue().to_pybytes()
    return _HEADER.pack(_MAGIC, len(payload), zlib.crc32(payload)) + payload


@dataclass(frozen=True)
class _Frame:
    table: pa.Table
    source: str
    data_party: str


def read_frames(data: bytes, start: int = 0) -> tuple[list[_Frame], int]:
    """The whole, valid frames of ``data`` from byte ``start``, and the offset after the last.

    Reading stops at the first incomplete or corrupt frame (a torn, never acknowledged write).
    """
    frames: list[_Frame] = []
    offset = start
    while offset + _HEADER.size <= len(data):
        magic, length, crc = _HEADER.unpack_from(data, offset)
        end = offset + _HEADER.size + length
        if magic != _MAGIC or end > len(data):
            break
        payload = data[offset + _HEADER.size : end]
        if zlib.crc32(payload) != crc:
            break
        table = pa.ipc.open_stream(payload).read_all()
        meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
        frames.append(
            _Frame(table.replace_schema_metadata(None), meta["source"], meta["data_party"])
        )
        offset = end
    return frames, offset


# -- writing -------------------------------------------------------------------------------


class JournalWriter:
    """Appends frames to this process's open segment; :meth:`append` returns once they are on
    disk (written and fsynced). Not thread-safe: one writer thread calls it."""

    def __init__(self, folder: Path, *, segment_bytes: int = 64 << 20) -> None:
        self.directory = folder / JOURNAL_DIR
        self.directory.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        self._fd: int | None = None
        self._path: Path | None = None
        self._size = 0

    def _open(self) -> int:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # locked before it gets the name loaders look for, so that no loader takes a new
        # segment for the leftover of a dead writer
        creating = self.directory / f"{name}.new"
        fd = os.open(creating, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # "a live writer holds this segment"
        self._path = self.directory / f"{name}.open"
        os.rename(creating, self._path)
        _fsync_dir(self.directory)
        self._fd, self._size = fd, 0
        return fd

    def append(self, frames: Sequence[bytes]) -> None:
        """Write ``frames`` and fsync: when this returns, they survive a crash."""
        fd = self._fd if self._fd is not None else self._open()
        data = b"".join(frames)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
        self._size += len(data)
        if self._size >= self.segment_bytes:
            self.rotate()

    def rotate(self) -> None:
        """Seal the open segment (``.open`` → ``.seg``) so that a loader may delete it once
        loaded; the next append opens a new one."""
        if self._fd is None or self._path is None:
            return
        os.fsync(self._fd)
        sealed = self._path.with_suffix(".seg")
        os.rename(self._path, sealed)
        _fsync_dir(self.directory)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd, self._path, self._size = None, None, 0

    def close(self) -> None:
        self.rotate()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _writer_alive(path: Path) -> bool:
    """Whether a live writer holds the ``.open`` segment ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False  # sealed meanwhile
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def pending_bytes(folder: Path) -> int:
    """Bytes held in journal segments (loaded or not): a measure of the loader's backlog."""
    directory = folder / JOURNAL_DIR
    if not directory.is_dir():
        return 0
    total = 0
    for path in directory.iterdir():
        try:
            total += path.stat().st_size
        except FileNotFoundError:
            continue
    return total


# -- loading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DrainResult:
    """What one drain of the journal did."""

    import_id: str | None
    segments: int
    frames: int
    rows: int
    stored: int
    duplicates: int
    removed: int
    """Segments deleted because they were sealed (or dead) and fully loaded."""


def drain_journal(
    engine: Engine,
    folder: Path,
    channel_rules: Sequence[ChannelRule] = (),
    *,
    max_rows: int = 1_000_000,
) -> DrainResult:
    """Load every acknowledged, not yet loaded frame of the journal into ``events``, in one
    transaction, then delete the segments that are sealed and fully loaded.

    The caller holds the :class:`WorkspaceLock` and ``engine`` is the store's, open for
    writing. Reads whole segments until about ``max_rows`` rows are gathered (call again while
    ``rows`` > 0 to go on); an empty journal costs one directory listing.
    """
    directory = folder / JOURNAL_DIR
    if not any(directory.glob("*.open")) and not any(directory.glob("*.seg")):
        return DrainResult(None, 0, 0, 0, 0, 0, 0)
    with WorkspaceLock._guard:
        serial = _DRAINING.setdefault(str(folder.resolve()), threading.Lock())
    with serial:
        return _drain(engine, directory, channel_rules, max_rows)


_DRAINING: dict[str, threading.Lock] = {}
"""Folder → the lock that lets one thread of this process drain its journal at a time."""


def _drain(
    engine: Engine, directory: Path, channel_rules: Sequence[ChannelRule], max_rows: int
) -> DrainResult:
    paths = sorted(directory.glob("*.open")) + sorted(directory.glob("*.seg"))
    engine.execute(_PROGRESS_DDL)
    progress = {
        r["segment"]: r["loaded_bytes"]
        for r in engine.rows("SELECT segment, loaded_bytes FROM journal_progress")
    }
    frames: list[_Frame] = []
    advanced: dict[str, int] = {}
    finished: list[Path] = []  # sealed or dead, read to the end
    rows = 0
    for path in sorted(paths, key=lambda p: p.stem):
        if rows >= max_rows:
            break
        sealed = path.suffix == ".seg" or not _writer_alive(path)
        start = progress.get(path.stem, 0)
        try:
            with path.open("rb") as file:
                file.seek(start)
                data = file.read()
        except FileNotFoundError:  # sealed (renamed) since listed: picked up next time
            continue
        found, end = read_frames(data)
        if found:
            frames += found
            advanced[path.stem] = start + end
            rows += sum(f.table.num_rows for f in found)
        if sealed:
            finished.append(path)
    import_id, stored, duplicates = None, 0, 0
    if frames:
        import_id = (
            "http-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        )
        started = datetime.now(UTC).replace(tzinfo=None)
        batch = pa.concat_tables([f.table for f in frames])
        batch = batch.set_column(
            batch.schema.get_field_index("import_id"),
            "import_id",
            pa.array([import_id] * batch.num_rows, pa.string()),
        )
        with engine.transaction():
            for source, party in sorted({(f.source, f.data_party) for f in frames}):
                register_source(engine, source, data_party=party)
            result = append_events(engine, batch, channel_rules)
            stored, duplicates = result.stored, result.duplicates
            _ledger(engine, import_id, started, batch.num_rows, stored, duplicates)
            now = datetime.now(UTC).replace(tzinfo=None)
            for segment, end in advanced.items():
                engine.execute(
                    "INSERT OR REPLACE INTO journal_progress VALUES (?, ?, ?)", [segment, end, now]
                )
    removed = 0
    for path in finished:
        path.unlink(missing_ok=True)
        removed += 1
    if finished:
        names = [p.stem for p in finished]
        engine.execute(
            "DELETE FROM journal_progress WHERE segment IN (SELECT unnest(?::VARCHAR[]))", [names]
        )
    return DrainResult(
        import_id, len(paths), len(frames), sum(f.table.num_rows for f in frames),
        stored, duplicates, removed,
    )  # fmt: skip


def _ledger(
    engine: Engine, import_id: str, started: datetime, read: int, stored: int, duplicates: int
) -> None:
    values: dict[str, Any] = {
        "import_id": import_id,
        "kind": "http",
        "file": None,
        "file_sha256": None,
        "mapping": None,
        "source": None,
        "started_at": started,
        "finished_at": datetime.now(UTC).replace(tzinfo=None),
        "rows_read": read,
        "stored": stored,
        "duplicates": duplicates,
        "rejected": 0,
    }
    names = [c.name for c in IMPORT_COLUMNS]
    engine.execute(
        f"INSERT INTO imports ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
        [values[n] for n in names],
    )
