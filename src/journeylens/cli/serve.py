"""``journeylens serve``: the ingestion server, query API and privacy endpoints."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from journeylens.cli.main import handled, state
from journeylens.errors import NotFoundError

err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    @app.command()
    @handled
    def serve(
        ctx: typer.Context,
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = 8710,
        workers: Annotated[
            int | None,
            typer.Option(min=1, help="Server processes sharing the port [default: 2 on 2+ cores]."),
        ] = None,
        log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
    ) -> None:
        """Serve the workspace: Segment, RudderStack and PostHog ingestion, query API,
        privacy requests (docs/server.md)."""
        from journeylens.server import KeyStore, serve

        folder = state(ctx).workspace
        if not (folder / "journeylens.yaml").exists() and not (folder / "events.duckdb").exists():
            raise NotFoundError(
                f"no workspace at {folder}: create one with `journeylens init {folder}`",
                kind="workspace",
                key=str(folder),
            )
        if not KeyStore(folder).has("write"):
            err.print(
                "no write key yet: every batch will get 401. Create one with "
                "`journeylens keys create --source website`"
            )
        err.print(f"serving {folder} on http://{host}:{port}")
        serve(folder, host=host, port=port, workers=workers, log_level=log_level)
