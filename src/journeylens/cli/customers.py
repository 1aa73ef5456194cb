"""Customer commands: resolve identities, show a profile, show a timeline."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from journeylens.cli.main import handled, state
from journeylens.cli.output import Format, FormatOption, emit, emit_record, jsonable

out = Console()


def register(app: typer.Typer) -> None:
    @app.command()
    @handled
    def resolve(
        ctx: typer.Context,
        full: Annotated[bool, typer.Option(help="Rebuild every profile from all events.")] = False,
        fmt: FormatOption = Format.table,
    ) -> None:
        """Link identifiers into customers; build profiles and accounts (incremental)."""
        with state(ctx).open() as ws:
            report = ws.resolve_identities(full=full)
        emit_record(jsonable(report), fmt, title="identity resolution")

    @app.command()
    @handled
    def profile(
        ctx: typer.Context,
        key: Annotated[
            str, typer.Argument(help="Customer id, user id, anonymous id, email or phone.")
        ],
        fmt: FormatOption = Format.table,
    ) -> None:
        """Show one customer's profile: identifiers, merged traits, accounts, counts."""
        with state(ctx).open(read_only=True) as ws:
            result: dict[str, Any] = jsonable(ws.profile(key))
        if fmt is Format.json:
            emit_record(result, fmt)
            return
        links = result.pop("links", [])
        emit_record(result, fmt, title=f"customer {result['customer_id']}")
        if fmt is Format.table and links:
            shown = ("identifier_kind", "identifier", "linked_to", "reason", "source", "first_ts")
            emit(
                [{k: link.get(k) for k in shown} for link in links],
                fmt,
                title="why these identifiers are one customer",
            )

    @app.command()
    @handled
    def timeline(
        ctx: typer.Context,
        key: Annotated[str, typer.Argument(help="Customer id or any identifier.")],
        limit: Annotated[int | None, typer.Option(help="Show at most this many.")] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """Every touchpoint of one customer in time order, with channel and source."""
        with state(ctx).open(read_only=True) as ws:
            result = ws.timeline(key, limit=limit)
        data: dict[str, Any] = jsonable(result)
        if fmt is Format.json:
            emit_record(data, fmt)
            return
        rows = data["events"]
        if fmt is Format.table:
            shown = (
                "seq",
                "ts",
                "event",
                "channel",
                "source",
                "data_party",
                "revenue",
                "currency",
                "details",
            )
            rows = [{k: r.get(k) for k in shown} for r in rows]
        emit(
            rows,
            fmt,
            title=f"timeline of {data['customer_id']} ({len(data['events'])} of "
            f"{data['total']} events)",
        )
