"""``journeylens privacy …``: delete, suppress, suppress-delete, unsuppress, export, requests,
compact (docs/privacy.md)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from journeylens.cli.main import handled, state
from journeylens.cli.output import Format, FormatOption, emit, emit_record
from journeylens.privacy import PrivacyRequest
from journeylens.privacy.compact import compact_store
from journeylens.workspace import Workspace

KeyArgument = Annotated[
    str,
    typer.Argument(help="Customer id, user id, anonymous id, email or phone of the person."),
]
ByOption = Annotated[
    str, typer.Option("--by", help="Who asked (kept in the audit log).", show_default=True)
]
err = Console(stderr=True)
app = typer.Typer(
    help="Privacy requests (GDPR): delete, suppress, export, audit log.", no_args_is_help=True
)


def _request(
    ctx: typer.Context,
    run: Callable[[Workspace], PrivacyRequest],
    fmt: Format,
) -> None:
    with state(ctx).open() as ws:
        result = run(ws)
    record = result.to_dict()
    emit_record(record, fmt, title=f"privacy request {result.request_id} ({result.action})")


@app.command()
@handled
def delete(
    ctx: typer.Context, key: KeyArgument, by: ByOption = "cli", fmt: FormatOption = Format.table
) -> None:
    """Delete everything about a person: events, profile, links, derived rows."""
    _request(ctx, lambda ws: ws.privacy.delete(key, by), fmt)


@app.command()
@handled
def suppress(
    ctx: typer.Context, key: KeyArgument, by: ByOption = "cli", fmt: FormatOption = Format.table
) -> None:
    """Stop storing a person's events (every identifier linked to them); keep what is stored."""
    _request(ctx, lambda ws: ws.privacy.suppress(key, by), fmt)


@app.command("suppress-delete")
@handled
def suppress_delete(
    ctx: typer.Context, key: KeyArgument, by: ByOption = "cli", fmt: FormatOption = Format.table
) -> None:
    """Suppress a person, then delete everything about them."""
    _request(ctx, lambda ws: ws.privacy.suppress_and_delete(key, by), fmt)


@app.command()
@handled
def unsuppress(
    ctx: typer.Context, key: KeyArgument, by: ByOption = "cli", fmt: FormatOption = Format.table
) -> None:
    """Lift a suppression (every identifier suppressed together with this one)."""
    _request(ctx, lambda ws: ws.privacy.unsuppress(key, by), fmt)


@app.command()
@handled
def export(
    ctx: typer.Context,
    key: KeyArgument,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the JSON to this file.")
    ] = None,
) -> None:
    """Everything held about a person, as JSON (right of access)."""
    with state(ctx).open() as ws:
        data: dict[str, Any] = ws.privacy.export(key)
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    err.print(f"wrote {len(data['events'])} events about {data['customer_id']} to {output}")


@app.command()
@handled
def requests(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """The audit log of privacy requests (identifiers appear only as keyed hashes)."""
    with state(ctx).open(read_only=True) as ws:
        rows = [r.to_dict() for r in ws.privacy.requests()]
    if fmt is not Format.json:
        for row in rows:
            row["identifier_token"] = row["identifier_token"][:12] + "…"
    emit(rows, fmt, title="privacy requests")


@app.command()
@handled
def compact(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """Rewrite the store file so deleted rows leave the disk (the workspace must be closed)."""
    result = compact_store(state(ctx).workspace)
    emit_record(result.to_dict(), fmt, title="store compacted")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="privacy")
