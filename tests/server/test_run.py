"""Worker processes: how many by default, their configuration, and their tie to the main
process (`journeylens serve` with more than one worker)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from journeylens.server import run

WORKER = """
import ctypes, json, signal
from fastapi.testclient import TestClient
from journeylens.server.run import app_from_environment
app = app_from_environment()
libc = ctypes.CDLL(None)
found = ctypes.c_int()
libc.prctl(2, ctypes.byref(found), 0, 0, 0)  # PR_GET_PDEATHSIG
json_body = {"Content-Type": "application/json"}
with TestClient(app) as client:
    big = client.post("/v1/batch", content=b"x" * 5000, headers=json_body)
print(json.dumps({"status": big.status_code, "limit": big.json().get("limit"),
                  "deathsig": found.value == signal.SIGKILL}))
"""


@pytest.mark.parametrize(("cores", "workers"), [(1, 1), (2, 2), (8, 2), (None, 1)])
def test_default_workers(monkeypatch: pytest.MonkeyPatch, cores: int | None, workers: int) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert run.default_workers() == workers


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_a_worker_gets_the_config_and_dies_with_the_main_process(ws_folder: Path) -> None:
    env = {
        **os.environ,
        run._ENV_FOLDER: str(ws_folder),
        run._ENV_CONFIG: json.dumps({"max_body_bytes": 4096, "load_interval_seconds": 0.5}),
        run._ENV_PARENT: str(os.getpid()),  # this test plays the main process
    }
    done = subprocess.run(
        [sys.executable, "-c", WORKER], env=env, capture_output=True, timeout=120, check=True
    )
    answer = json.loads(done.stdout.splitlines()[-1])
    # the body is above the 4,096 bytes the main process configured: 413, naming that limit
    assert answer == {"status": 413, "limit": 4096, "deathsig": True}


def test_a_worker_whose_main_process_is_already_gone_exits(ws_folder: Path) -> None:
    env = {**os.environ, run._ENV_FOLDER: str(ws_folder), run._ENV_PARENT: "1"}
    done = subprocess.run([sys.executable, "-c", WORKER], env=env, capture_output=True, timeout=120)
    assert done.returncode == 1 and not done.stdout
