"""Running the server with uvicorn."""

from __future__ import annotations

import os
from pathlib import Path

import uvicorn

from journeylens.server.config import ServerConfig

__all__ = ["serve"]

_ENV_FOLDER = "JOURNEYLENS_SERVE_WORKSPACE"


def serve(
    workspace: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8710,
    workers: int = 1,
    config: ServerConfig | None = None,
    log_level: str = "warning",
) -> None:
    """Serve the workspace until interrupted. With ``workers`` > 1, that many processes share
    the port, each with its own journal segment (the loader lock keeps the store consistent);
    they use the default :class:`ServerConfig`."""
    if workers > 1:
        os.environ[_ENV_FOLDER] = str(Path(workspace).resolve())
        uvicorn.run(
            "journeylens.server.run:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
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

    return create_app(os.environ[_ENV_FOLDER])
