"""The app factory: :func:`create_app` builds the FastAPI application of one workspace.

Routers: :mod:`~journeylens.server.routes_ingest` (Segment, RudderStack, PostHog),
:mod:`~journeylens.server.routes_query` (query API, read tokens) and
:mod:`~journeylens.server.routes_privacy` (privacy requests, admin tokens). Every error answer
has the body ``{"code", "message", ...}`` of :meth:`journeylens.errors.JourneyLensError.to_dict`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from starlette.exceptions import HTTPException as StarletteHTTPException

from journeylens import __version__
from journeylens.config import Settings
from journeylens.errors import InputError, JourneyLensError, NotFoundError, StorageError
from journeylens.server.config import ServerConfig
from journeylens.server.ingest import Ingestor
from journeylens.server.keys import KeyStore
from journeylens.server.responses import JSONAnswer
from journeylens.server.store import Loader, StoreGate

__all__ = ["ServerState", "create_app", "error_response"]

log = logging.getLogger("journeylens.server")


class ServerState:
    """What the routes of one app share: keys, the ingestor, the store gate and loader."""

    def __init__(self, folder: Path, config: ServerConfig, settings: Settings) -> None:
        self.folder = folder
        self.config = config
        self.keys = KeyStore(folder)
        self.gate = StoreGate(folder, settings)
        self.ingestor = Ingestor(
            folder, max_event_bytes=config.max_event_bytes, suppression=_suppression(folder)
        )
        self.loader = Loader(
            folder,
            settings,
            lambda: self.ingestor.committer.written_bytes,
            interval=config.load_interval_seconds,
            process=config.loader_process,
        )

    def close(self) -> None:
        self.ingestor.close()
        self.loader.stop()


def _suppression(folder: Path) -> Any | None:
    try:
        from journeylens.privacy import SuppressionFilter
    except ImportError:  # pragma: no cover - privacy is part of the package
        return None
    return SuppressionFilter.for_workspace(folder)


def error_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONAnswer:
    return JSONAnswer(body, status_code=status, headers=headers)


_STATUS: list[tuple[type[JourneyLensError], int]] = [
    (InputError, 400),
    (NotFoundError, 404),
    (StorageError, 503),
]


def create_app(
    workspace: str | Path,
    config: ServerConfig | None = None,
    *,
    settings: Settings | None = None,
) -> FastAPI:
    """The server of the workspace folder ``workspace`` (which must exist)."""
    folder = Path(workspace)
    config = config or ServerConfig()
    settings = settings or Settings()
    # fail now, not at the first request, when the folder is no workspace
    StoreGate(folder, settings).run(lambda ws: None)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = ServerState(folder, config, settings)
        app.state.jl = state
        state.loader.start()
        try:
            yield
        finally:
            state.close()

    app = FastAPI(
        title="journeylens",
        version=__version__,
        summary="Event ingestion compatible with the Segment, RudderStack and PostHog SDKs; "
        "query API; privacy requests.",
        lifespan=lifespan,
        default_response_class=JSONAnswer,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["*"],
        max_age=86400,
    )

    @app.exception_handler(JourneyLensError)
    async def library_error(request: Request, error: JourneyLensError) -> JSONAnswer:
        status = next((s for kind, s in _STATUS if isinstance(error, kind)), 400)
        headers = {"Retry-After": str(config.retry_after_seconds)} if status == 503 else None
        return error_response(status, error.to_dict(), headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONAnswer:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error_response(
            400,
            {
                "code": "input_invalid",
                "message": f"{where}: {first.get('msg', 'invalid request')}",
                "field": where,
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONAnswer:
        codes = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}
        return error_response(
            error.status_code,
            {"code": codes.get(error.status_code, "http_error"), "message": str(error.detail)},
            dict(error.headers) if error.headers else None,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONAnswer:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            500,
            {"code": "internal_error", "message": f"{type(error).__name__}: {error}"},
        )

    from journeylens.server import routes_ingest, routes_privacy, routes_query

    app.include_router(routes_ingest.router)
    app.include_router(routes_query.router)
    app.include_router(routes_privacy.router)
    return app
