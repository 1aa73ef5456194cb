"""The server's access to the event store: short, locked openings for reads and privacy
requests (the loader, :mod:`journeylens.server.loader`, drains the journal into
``events.duckdb`` whenever the store is free). The server never keeps the store open between two
of them, so the CLI and other processes can open the workspace while the server runs
(docs/adr/0005-ingestion-durability.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from journeylens.config import Settings
from journeylens.events.journal import WorkspaceLock
from journeylens.server.loader import Loader
from journeylens.workspace import Workspace, open_workspace

__all__ = ["Loader", "StoreGate"]

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
