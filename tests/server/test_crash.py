"""SIGKILL at random moments: every event that got a 200 is stored exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

import journeylens
from journeylens.server import KeyStore
from tests.server.conftest import free_port

BATCH = 25


def _start(folder: Path, port: int) -> subprocess.Popen[bytes]:
    code = "from journeylens.cli.main import main; main()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "-w", str(folder), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=0.5)
            return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the server did not start")


class Client(threading.Thread):
    """Sends numbered events in batches; a batch that got no 200 is sent again (as SDKs do)."""

    def __init__(self, name: str, url: str, key: str) -> None:
        super().__init__(daemon=True)
        self.name_, self.url, self.key = name, url, key
        self.acked: list[str] = []
        self.sent = 0
        self.stop = threading.Event()

    def run(self) -> None:
        number = 0
        batch: list[dict[str, object]] | None = None
        with httpx.Client(timeout=2, auth=(self.key, "")) as http:
            while not self.stop.is_set():
                if batch is None:
                    batch = [
                        {"type": "track", "event": "n", "userId": self.name_,
                         "messageId": f"{self.name_}-{number + i}", "timestamp": "2026-11-20"}
                        for i in range(BATCH)
                    ]  # fmt: skip
                    number += BATCH
                try:
                    response = http.post(f"{self.url}/v1/batch", json={"batch": batch})
                except httpx.TransportError:
                    time.sleep(0.02)
                    continue
                self.sent += 1
                if response.status_code == 200:
                    self.acked += [str(m["messageId"]) for m in batch]
                    batch = None


@pytest.mark.slow
def test_sigkill_loses_no_acknowledged_event(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("JL_CRASH_SEED", "6")))
    folder = tmp_path / "ws"
    journeylens.create_workspace(folder).close()
    key = KeyStore(folder).create("write", source="crash").secret
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = _start(folder, port)
    clients = [Client(f"c{i}", url, key) for i in range(2)]
    for client in clients:
        client.start()
    try:
        for _ in range(4):
            time.sleep(rng.uniform(0.2, 1.2))
            process.send_signal(signal.SIGKILL)
            process.wait()
            process = _start(folder, port)
        time.sleep(rng.uniform(0.2, 0.6))
        process.send_signal(signal.SIGKILL)
        process.wait()
    finally:
        for client in clients:
            client.stop.set()
        for client in clients:
            client.join()
        if process.poll() is None:
            process.kill()
    acked = [m for client in clients for m in client.acked]
    assert len(acked) > 500, "the clients got too few answers for the test to mean anything"
    assert len(set(acked)) == len(acked)
    # the server is dead; opening the workspace loads what it journaled (its segments are dead)
    with journeylens.open_workspace(folder) as ws:
        counts = {r["event_id"]: r["n"] for r in ws.engine.rows(
            "SELECT event_id, count(*) AS n FROM events GROUP BY event_id")}  # fmt: skip
    missing = [m for m in acked if m not in counts]
    assert missing == []
    assert [m for m, n in counts.items() if n != 1] == []
    assert not list((folder / "journal").glob("*.open")), "dead segments are removed once loaded"
