"""``journeylens``: every command is a thin layer over a library call.

Library errors become one line on stderr (``error: …``) and exit code 2 for bad input or
settings, 1 otherwise; ``--verbose`` shows the traceback too.
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from journeylens.config import Settings
from journeylens.errors import JourneyLensError, StorageError
from journeylens.workspace import Workspace, open_workspace

__all__ = ["app", "main"]

app = typer.Typer(
    name="journeylens",
    help="Customer-journey analytics: import touchpoints, resolve customers, analyse journeys.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class State:
    workspace: Path
    verbose: bool
    settings: Settings

    def open(self, *, read_only: bool = False) -> Workspace:
        return open_workspace(self.workspace, settings=self.settings, read_only=read_only)


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


def handled(fn: F) -> F:
    """Turn library errors into one clean line and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except JourneyLensError as error:
            verbose = any(isinstance(a, typer.Context) and state(a).verbose for a in args) or any(
                isinstance(v, typer.Context) and state(v).verbose for v in kwargs.values()
            )
            if verbose:
                traceback.print_exc()
            err.print(f"[bold red]error:[/bold red] {error.message}", highlight=False)
            code = 1 if isinstance(error, StorageError) else 2
            raise typer.Exit(code) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def root(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Workspace folder [env JOURNEYLENS_WORKSPACE; default ./journeylens-workspace]",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks.")] = False,
) -> None:
    settings = Settings()
    ctx.obj = State(workspace=workspace or settings.workspace, verbose=verbose, settings=settings)


def _register() -> None:
    from journeylens.cli import customers, data, demo, funnels, keys, privacy, serve, stages

    data.register(app)
    customers.register(app)
    demo.register(app)
    stages.register(app)
    funnels.register(app)
    __import__("journeylens.cli.attribution", fromlist=["register"]).register(app)
    serve.register(app)
    keys.register(app)
    privacy.register(app)


_register()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
