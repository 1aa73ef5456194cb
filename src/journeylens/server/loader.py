"""The loader: moves journaled events into ``events.duckdb`` every ``interval`` seconds.

A thread of the server decides *when* to load (something was journaled since the last pass, and
no other process holds the store); the *work* — opening the store, which drains the journal,
DuckDB's insert with channel derivation and dedupe, the checkpoint on close — runs by default
in a helper process (:func:`helper_main`, started with ``sys.executable``), so that it never
holds the request process's GIL: measured, a loader pass inside the request process cost
ingestion about a fifth of its rate (benchmarks/RESULTS.md, "Ingestion server").

The helper reads one line per pass on stdin and answers one JSON line on stdout
(``{"ok": true}``, ``{"busy": true}`` when another process holds the store, or
``{"error": "..."}``); it exits when its stdin closes, which also happens when the server dies,
even by SIGKILL. A helper that dies is started again at the next pass; events stay journaled
meanwhile, and whoever opens the store next loads them (docs/adr/0005-ingestion-durability.md).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from journeylens.config import Settings
from journeylens.errors import StorageError
from journeylens.events.journal import DrainResult, WorkspaceLock, pending_bytes

__all__ = ["Loader", "helper_main", "load_pass"]

log = logging.getLogger("journeylens.server")
_HELPER = "import sys; from journeylens.server.loader import helper_main; helper_main(sys.argv[1:])"


def load_pass(folder: Path, settings: Settings) -> str:
    """One pass in this process: ``"ok"`` when the store was free and the journal is loaded,
    ``"busy"`` when another process holds the store (nothing waited for)."""
    from journeylens.workspace import open_workspace

    lock = WorkspaceLock(folder)
    if not lock.try_acquire():
        return "busy"
    try:
        with open_workspace(folder, settings=settings):
            pass  # opening drains the journal; closing checkpoints
        return "ok"
    finally:
        lock.release()


class _Helper:
    """The helper process, started on first use."""

    def __init__(self, folder: Path, settings: Settings) -> None:
        self.folder = folder
        self.settings = settings
        self._process: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        arguments = json.dumps(self.settings.model_dump(mode="json", exclude_unset=True))
        process = subprocess.Popen(
            [sys.executable, "-c", _HELPER, str(self.folder), arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        self._process = process
        return process

    def load(self) -> str:
        process = self._process
        if process is None or process.poll() is not None:
            process = self._start()
        stdin, stdout = _pipes(process)
        try:
            stdin.write(b"load\n")
            stdin.flush()
            line = stdout.readline()
        except (BrokenPipeError, OSError):
            line = b""
        if not line:  # the helper died; the next pass starts another
            self.close()
            raise StorageError("the journal loader process ended unexpectedly")
        try:
            answer: dict[str, Any] = json.loads(line)
        except ValueError:  # out of step with its answers: the next pass starts another
            self.close(kill=True)
            raise StorageError(f"the journal loader process answered {line[:200]!r}") from None
        if "error" in answer:
            raise StorageError(f"the journal loader failed: {answer['error']}")
        return "busy" if answer.get("busy") else "ok"

    def close(self, timeout: float = 30.0, *, kill: bool = False) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if kill:
            process.kill()
        try:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):  # pragma: no cover - a stuck helper
            process.kill()
            process.wait()
        finally:
            if process.stdout is not None:
                process.stdout.close()


def _pipes(process: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    assert process.stdin is not None and process.stdout is not None
    return process.stdin, process.stdout


class Loader:
    """A thread that moves journaled events into the store every ``interval`` seconds, when
    something was journaled since its last pass and no other process holds the store.

    ``process``: do the work in the helper process (the default of the server) or in this
    thread.
    """

    def __init__(
        self,
        folder: Path,
        settings: Settings,
        journaled: Callable[[], int],
        *,
        interval: float = 0.25,
        process: bool = True,
    ) -> None:
        self.folder = folder
        self.settings = settings
        self.journaled = journaled
        """Bytes journaled so far by this process (a counter that only grows)."""
        self.interval = interval
        self.loaded_through = -1
        self.last: DrainResult | None = None
        self.busy_skips = 0
        self.passes = 0
        self._helper = _Helper(folder, settings) if process else None
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="journal-loader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.load_once()

    def load_once(self, *, force: bool = False) -> bool:
        """One pass: True when the store was free (and loaded), False when it was busy."""
        mark = self.journaled()
        if not force and mark == self.loaded_through and not self._foreign_segments():
            return True
        with self._guard:
            try:
                if self._helper is not None:
                    outcome = self._helper.load()
                else:
                    outcome = load_pass(self.folder, self.settings)
            except StorageError as error:
                log.warning("journal not loaded: %s", error)
                return False
            except Exception:  # pragma: no cover - keep the loader alive; events stay journaled
                log.exception("journal loader failed; events stay in the journal")
                time.sleep(1)
                return False
        if outcome == "busy":
            self.busy_skips += 1
            return False
        self.passes += 1
        self.loaded_through = mark
        return True

    def _foreign_segments(self) -> bool:
        """Whether segments left by a previous run (or another process) may wait."""
        return self.loaded_through < 0 and pending_bytes(self.folder) > 0

    def backlog(self) -> int:
        """Bytes this process journaled that are not loaded yet (as of the last pass)."""
        return self.journaled() - max(self.loaded_through, 0)

    def stop(self, *, timeout: float = 30.0) -> None:
        """Stop the thread, then load what is left if the store can be had within
        ``timeout`` seconds (what cannot stays journaled: the next opening loads it)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        deadline = time.monotonic() + timeout
        try:
            while not self.load_once(force=True) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            if self._helper is not None:
                self._helper.close(timeout)


def helper_main(argv: list[str]) -> None:
    """The helper process (``argv``: the workspace folder, the settings as JSON): one pass per
    line read on stdin, until stdin closes."""
    folder = Path(argv[0])
    settings = Settings(**json.loads(argv[1])) if len(argv) > 1 else Settings()
    # answers go to the original stdout; whatever else writes to file descriptor 1 (DuckDB's
    # progress bar on a long pass, a stray print) goes to stderr instead
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    for _ in sys.stdin.buffer:
        try:
            answer: dict[str, Any] = (
                {"busy": True} if load_pass(folder, settings) == "busy" else {"ok": True}
            )
        except Exception as error:  # reported to the server, which logs it and tries again
            answer = {"error": f"{type(error).__name__}: {error}"}
        out.write(json.dumps(answer).encode() + b"\n")
        out.flush()
