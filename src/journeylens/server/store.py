"""The server's access to the event store: a loader thread that drains the journal into
``events.duckdb`` whenever the store is free, and short, locked openings for reads and privacy
requests. The server never keeps the store open between two of them, so the CLI and other
processes can open the workspace while the server runs (docs/adr/0005-ingestion-durability.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from journeylens.config import Settings
from journeylens.errors import StorageError
from journeylens.events.journal import DrainResult, WorkspaceLock, pending_bytes
from journeylens.workspace import Workspace, open_workspace

__all__ = ["Loader", "StoreGate"]

log = logging.getLogger("journeylens.server")
T = TypeVar("T")


class StoreGate:
    """Opens the workspace for one piece of work at a time (opening drains the journal)."""

    def __init__(self, folder: Path, settings: Settings | None = None) -> None:
        self.folder = folder
        self.settings = settings or Settings()

    @contextmanager
    def workspace(self, *, timeout: float = 10.0) -> Iterator[Workspace]:
        """The open workspace, with every acknowledged event loaded; :class:`StorageError`
        when another process keeps the store for longer than ``timeout`` seconds."""
        lock = WorkspaceLock(self.folder).acquire(timeout)
        try:
            with open_workspace(self.folder, settings=self.settings) as ws:
                yield ws
        finally:
            lock.release()

    def run(self, work: Callable[[Workspace], T], *, timeout: float = 10.0) -> T:
        with self.workspace(timeout=timeout) as ws:
            return work(ws)


class Loader:
    """A thread that moves journaled events into the store every ``interval`` seconds, when
    something was journaled since its last pass and no other process holds the store."""

    def __init__(
        self, gate: StoreGate, journaled: Callable[[], int], *, interval: float = 0.25
    ) -> None:
        self.gate = gate
        self.journaled = journaled
        """Bytes journaled so far by this process (a counter that only grows)."""
        self.interval = interval
        self.loaded_through = -1
        self.last: DrainResult | None = None
        self.busy_skips = 0
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
        lock = WorkspaceLock(self.gate.folder)
        if not lock.try_acquire():
            self.busy_skips += 1
            return False
        try:
            with open_workspace(self.gate.folder, settings=self.gate.settings):
                pass  # opening drains the journal; closing checkpoints
            self.loaded_through = mark
            return True
        except StorageError as error:  # pragma: no cover - e.g. the file vanished
            log.warning("journal not loaded: %s", error)
            return False
        except Exception:  # pragma: no cover - keep the loader alive; events stay journaled
            log.exception("journal loader failed; events stay in the journal")
            time.sleep(1)
            return False
        finally:
            lock.release()

    def _foreign_segments(self) -> bool:
        """Whether segments left by a previous run (or another process) may wait."""
        return self.loaded_through < 0 and pending_bytes(self.gate.folder) > 0

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
        while not self.load_once(force=True) and time.monotonic() < deadline:
            time.sleep(0.05)
