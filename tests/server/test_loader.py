"""The loader's helper process: it loads the journal, skips its turn while another process holds
the store, is started again when it dies, and ends when the server dies (even by SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest

import journeylens
from journeylens.config import Settings
from journeylens.events.journal import JournalWriter, encode_frame
from journeylens.events.messages import MessageDefaults, normalise_message
from journeylens.events.store import STAGED_SCHEMA
from journeylens.server.loader import Loader


def journal(folder: Path, *ids: str) -> None:
    rows = [
        normalise_message(
            {"type": "track", "event": "e", "userId": "u", "messageId": i},
            MessageDefaults("web"),
            received_at=datetime(2026, 11, 20, 10),
        )
        for i in ids
    ]
    frame = encode_frame(
        pa.Table.from_pylist(rows, schema=STAGED_SCHEMA), source="web", data_party="first"
    )
    writer = JournalWriter(folder)
    writer.append([frame])
    writer.close()


def stored(folder: Path) -> list[str]:
    with journeylens.open_workspace(folder) as ws:
        return [r["event_id"] for r in ws.engine.rows("SELECT event_id FROM events ORDER BY 1")]


def gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie waiting to be reaped counts as ended)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return any(line.split()[1] == "Z" for line in status if line.startswith("State:"))
    except FileNotFoundError:
        return True


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    journeylens.create_workspace(folder).close()
    return folder


@pytest.mark.slow  # four interpreters start: ~10 s on a busy 2-core machine
def test_the_helper_loads_skips_while_busy_and_is_restarted(folder: Path) -> None:
    journaled = [0]
    loader = Loader(folder, Settings(), lambda: journaled[0], interval=3600)
    try:
        journal(folder, "m1", "m2")
        journaled[0] = 1
        assert loader.load_once() is True and loader.passes == 1
        helper = loader._helper._process  # type: ignore[union-attr]
        assert helper is not None and helper.pid != os.getpid()

        # another process holds the store: the helper skips its turn, nothing waits
        journal(folder, "m3")
        journaled[0] = 2
        holder = subprocess.Popen(
            [sys.executable, "-c", "import sys, journeylens; ws = journeylens.open_workspace("
             "sys.argv[1]); print('open', flush=True); sys.stdin.readline()", str(folder)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline() == b"open\n"  # it loaded m3 on opening, as readers do
        started = time.monotonic()
        assert loader.load_once() is False
        assert loader.busy_skips == 1 and time.monotonic() - started < 5
        holder.stdin.close()
        holder.wait(30)
        assert loader.load_once() is True

        # the helper died: the next pass starts another helper
        helper.send_signal(signal.SIGKILL)
        helper.wait(10)
        journal(folder, "m4")
        journaled[0] = 3
        assert loader.load_once() is True
        replacement = loader._helper._process  # type: ignore[union-attr]
        assert replacement is not None and replacement.pid != helper.pid

        # a helper that dies unnoticed (between the liveness check and its answer): that pass
        # fails and is retried by the next, with a new helper
        replacement.send_signal(signal.SIGKILL)
        replacement.wait(10)
        replacement.poll = lambda: None  # type: ignore[method-assign]
        journal(folder, "m5")
        journaled[0] = 4
        assert loader.load_once() is False and loader.loaded_through == 3
        assert loader.load_once() is True and loader.loaded_through == 4
        last = loader._helper._process  # type: ignore[union-attr]
        assert last is not None and last.pid not in (helper.pid, replacement.pid)
    finally:
        loader.stop()
    assert last.poll() == 0  # stop() closed its stdin: it ended by itself
    assert stored(folder) == ["m1", "m2", "m3", "m4", "m5"]


SERVER = """
import sys, time
from pathlib import Path
from journeylens.config import Settings
from journeylens.server.loader import Loader
loader = Loader(Path(sys.argv[1]), Settings(), lambda: 1, interval=3600)
assert loader.load_once()
print(loader._helper._process.pid, flush=True)
time.sleep(600)
"""


def test_the_helper_ends_when_the_server_is_killed(folder: Path) -> None:
    journal(folder, "m1")
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(folder)], stdout=subprocess.PIPE)
    assert server.stdout is not None
    helper = int(server.stdout.readline())
    assert not gone(helper)
    server.send_signal(signal.SIGKILL)
    server.wait(10)
    deadline = time.monotonic() + 20
    while not gone(helper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(helper)
    assert stored(folder) == ["m1"]


def test_the_loader_can_work_in_a_thread(folder: Path) -> None:
    journal(folder, "m1")
    loader = Loader(folder, Settings(), lambda: 1, interval=3600, process=False)
    assert loader.load_once() is True and loader._helper is None
    loader.stop()
    assert stored(folder) == ["m1"]


NOISY_HELPER = """
import os, sys
import journeylens.server.loader as loader
real = loader.load_pass
def noisy(folder, settings):
    os.write(1, b" 100%\\xe2\\x96\\x95 as DuckDB's progress bar prints on a long pass ")
    print("and a stray print", flush=True)
    return real(folder, settings)
loader.load_pass = noisy
loader.helper_main(sys.argv[1:])
"""


def test_output_of_the_helper_s_work_does_not_garble_its_answers(folder: Path) -> None:
    journal(folder, "m1")
    helper = subprocess.Popen(
        [sys.executable, "-c", NOISY_HELPER, str(folder), "{}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert helper.stdin is not None and helper.stdout is not None
    for _ in range(2):
        helper.stdin.write(b"load\n")
        helper.stdin.flush()
        assert helper.stdout.readline() == b'{"ok": true}\n'
    _, err = helper.communicate(timeout=30)
    assert helper.returncode == 0
    assert err.count(b"100%") == 2 and b"and a stray print" in err  # it went to stderr
    assert stored(folder) == ["m1"]
