"""The journal: frames, torn tails, dead writers, exactly-once loading; keys; the lock."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest

import journeylens
from journeylens.errors import ConfigError, NotFoundError
from journeylens.events.journal import JournalWriter, WorkspaceLock, encode_frame, read_frames
from journeylens.events.messages import MessageDefaults, normalise_message
from journeylens.events.store import STAGED_SCHEMA
from journeylens.server import KeyStore


def frame(*ids: str) -> bytes:
    defaults = MessageDefaults("web")
    rows = [
        normalise_message(
            {"type": "track", "event": "e", "userId": "u", "messageId": i},
            defaults,
            received_at=datetime(2026, 11, 20, 10),
        )
        for i in ids
    ]
    return encode_frame(
        pa.Table.from_pylist(rows, schema=STAGED_SCHEMA), source="web", data_party="first"
    )


def test_read_frames_stops_at_a_torn_or_corrupt_frame() -> None:
    a, b = frame("m1", "m2"), frame("m3")
    frames, end = read_frames(a + b)
    assert [f.table.num_rows for f in frames] == [2, 1] and end == len(a) + len(b)
    frames, end = read_frames(a + b[:-3])  # torn: the last frame was never acknowledged
    assert [f.table.num_rows for f in frames] == [2] and end == len(a)
    corrupt = a[:-1] + bytes([a[-1] ^ 0xFF]) + b
    assert read_frames(corrupt) == ([], 0)
    assert read_frames(a + b"\x00" * 40)[1] == len(a)  # zeros after a power cut


def test_open_workspace_loads_the_journal_once(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    journeylens.create_workspace(folder).close()
    writer = JournalWriter(folder)
    writer.append([frame("m1", "m2")])
    with open(next((folder / "journal").glob("*.open")), "ab") as file:
        file.write(frame("m3")[:-5])  # a torn tail
    # the writer is alive: its segment is loaded but kept, with its progress
    with journeylens.open_workspace(folder) as ws:
        assert ws.engine.rows("SELECT event_id FROM events ORDER BY 1") == [
            {"event_id": "m1"}, {"event_id": "m2"}]  # fmt: skip
        assert ws.engine.scalar("SELECT count(*) FROM imports WHERE kind = 'http'") == 1
    assert len(list((folder / "journal").glob("*.open"))) == 1
    with journeylens.open_workspace(folder) as ws:  # nothing new: nothing loaded twice
        assert ws.engine.scalar("SELECT count(*) FROM events") == 2
        assert ws.engine.scalar("SELECT count(*) FROM imports WHERE kind = 'http'") == 1
    os.close(writer._fd)  # type: ignore[arg-type]  # the writer dies without sealing
    writer._fd = None
    with journeylens.open_workspace(folder) as ws:
        assert ws.engine.scalar("SELECT count(*) FROM events") == 2
        assert ws.engine.scalar("SELECT count(*) FROM journal_progress") == 0
    assert list((folder / "journal").iterdir()) == []  # the dead segment, loaded, is gone


def test_sealed_segments_are_removed_and_duplicates_counted(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    journeylens.create_workspace(folder).close()
    writer = JournalWriter(folder)
    writer.append([frame("m1"), frame("m1", "m2")])  # an SDK retry journaled twice
    writer.rotate()
    with journeylens.open_workspace(folder, read_only=True) as ws:  # read-only openings load too
        assert ws.engine.scalar("SELECT count(*) FROM events") == 2
        ledger = ws.engine.rows("SELECT rows_read, stored, duplicates FROM imports")
    assert ledger == [{"rows_read": 3, "stored": 2, "duplicates": 1}]
    assert list((folder / "journal").iterdir()) == []


def test_lock_is_exclusive_between_processes_shared_within(tmp_path: Path) -> None:
    import subprocess
    import sys

    first, second = WorkspaceLock(tmp_path), WorkspaceLock(tmp_path)
    assert first.try_acquire() and second.try_acquire()
    code = (
        "import sys; from pathlib import Path\n"
        "from journeylens.events.journal import WorkspaceLock\n"
        f"sys.exit(0 if WorkspaceLock(Path({str(tmp_path)!r})).try_acquire() else 3)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 3
    first.release()
    assert subprocess.run([sys.executable, "-c", code]).returncode == 3  # second still holds it
    second.release()
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_keys_are_stored_hashed(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    created = keys.create("write", source="shop", data_party="second")
    assert created.secret.startswith("jlw_") and len(created.secret) == 36
    text = (tmp_path / "keys.json").read_text()
    assert created.secret not in text and created.key.sha256 in text
    assert oct((tmp_path / "keys.json").stat().st_mode & 0o777) == "0o600"
    key = keys.verify(created.secret, "write")
    assert key is not None and (key.source, key.data_party) == ("shop", "second")
    assert keys.verify(created.secret, "read", "admin") is None
    assert KeyStore(tmp_path).verify(created.secret, "write") is not None  # another process
    with pytest.raises(ConfigError, match="source"):
        keys.create("write")
    with pytest.raises(NotFoundError):
        keys.revoke("k_nope")
