"""A real server on 127.0.0.1 (uvicorn in a thread) over a real workspace, with its keys."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

import journeylens
from journeylens.server import KeyStore, ServerConfig, create_app
from journeylens.workspace import Workspace


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Running:
    folder: Path
    url: str
    write_key: str
    read_key: str
    admin_key: str
    server: uvicorn.Server
    app: Any

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10, **kwargs)

    def post(
        self, path: str, body: Any = None, *, key: str | None = None, **kw: Any
    ) -> httpx.Response:
        auth = (self.write_key if key is None else key, "")
        with self.client() as client:
            return client.post(path, json=body, auth=auth, **kw)

    def open(self) -> Workspace:
        """The workspace, opened as the CLI would (alongside the running server)."""
        return journeylens.open_workspace(self.folder)

    def events(self, columns: str = "event_id") -> list[dict[str, Any]]:
        with self.open() as ws:
            return ws.engine.rows(f"SELECT {columns} FROM events ORDER BY ts, event_id")


def start_server(
    folder: Path, config: ServerConfig | None = None, wrap: Callable[[Any], Any] | None = None
) -> Running:
    keys = KeyStore(folder)
    write = keys.create("write", source="website").secret
    read = keys.create("read").secret
    admin = keys.create("admin", name="dpo").secret
    app = create_app(folder, config or ServerConfig(load_interval_seconds=0.05))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            wrap(app) if wrap else app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.01)
    running = Running(folder, f"http://127.0.0.1:{port}", write, read, admin, server, app)
    running._thread = thread  # type: ignore[attr-defined]
    return running


def stop_server(running: Running) -> None:
    running.server.should_exit = True
    running._thread.join(timeout=30)  # type: ignore[attr-defined]


@pytest.fixture
def ws_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    journeylens.create_workspace(folder, timezone="Europe/Rome").close()
    return folder


@pytest.fixture
def server(ws_folder: Path) -> Iterator[Running]:
    running = start_server(ws_folder)
    yield running
    stop_server(running)
