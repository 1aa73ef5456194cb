"""Running the server with uvicorn."""

from __future__ import annotations

import ctypes
import dataclasses
import json
import os
import signal
import sys
from pathlib import Path

import uvicorn

from journeylens.server.config import ServerConfig

__all__ = ["default_workers", "serve"]

_ENV_FOLDER = "JOURNEYLENS_SERVE_WORKSPACE"
_ENV_CONFIG = "JOURNEYLENS_SERVE_CONFIG"
_ENV_PARENT = "JOURNEYLENS_SERVE_PARENT"
_PR_SET_PDEATHSIG = 1


def default_workers() -> int:
    """Server processes when none are asked for: 2 on a machine with 2 or more cores (measured
    on 2 cores: about 1.4 times the events/s of one process, benchmarks/RESULTS.md), else 1."""
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def serve(
    workspace: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8710,
    workers: int | None = None,
    config: ServerConfig | None = None,
    log_level: str = "warning",
) -> None:
    """Serve the workspace until interrupted.

    ``workers`` processes share the port (:func:`default_workers` when ``None``), each with its
    own journal segment and loader (the workspace lock keeps the store consistent). When the
    main process dies, even by SIGKILL, its workers die with it (Linux), so that a restart finds
    the port free.
    """
    workers = workers or default_workers()
    if workers > 1:
        os.environ[_ENV_FOLDER] = str(Path(workspace).resolve())
        os.environ[_ENV_CONFIG] = json.dumps(dataclasses.asdict(config or ServerConfig()))
        os.environ[_ENV_PARENT] = str(os.getpid())
        uvicorn.run(
            "journeylens.server.run:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            timeout_graceful_shutdown=10,
        )
        return
    from journeylens.server.app import create_app

    uvicorn.run(
        create_app(workspace, config),
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=10,
    )


def app_from_environment() -> object:
    """The app of the workspace named by ``JOURNEYLENS_SERVE_WORKSPACE`` (worker processes)."""
    from journeylens.server.app import create_app

    _die_with_parent()
    raw = os.environ.get(_ENV_CONFIG)
    config = ServerConfig(**json.loads(raw)) if raw else None
    return create_app(os.environ[_ENV_FOLDER], config)


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when the process that started it dies (a worker left
    behind would keep the port). Every acknowledged event is in the journal already."""
    if not sys.platform.startswith("linux"):
        return  # pragma: no cover
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no prctl: nothing to ask
        return
    parent = os.environ.get(_ENV_PARENT)
    if parent and os.getppid() != int(parent):
        os._exit(1)  # the parent died before the request took effect
