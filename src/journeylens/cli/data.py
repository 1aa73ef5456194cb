"""Workspace and data commands: init, import, sources, summary, mappings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from journeylens.cli.main import handled, state
from journeylens.cli.output import Format, FormatOption, emit, emit_record
from journeylens.errors import NotFoundError
from journeylens.events.mapping import shipped_mappings
from journeylens.events.report import OnError
from journeylens.workspace import create_workspace

out = Console()


def register(app: typer.Typer) -> None:
    @app.command()
    @handled
    def init(
        ctx: typer.Context,
        path: Annotated[Path | None, typer.Argument(help="Folder (default: --workspace).")] = None,
        timezone: Annotated[str, typer.Option(help="Reporting time zone (IANA).")] = "UTC",
        currency: Annotated[str, typer.Option(help="Reporting currency (ISO 4217).")] = "EUR",
        name: Annotated[str | None, typer.Option(help="Workspace name.")] = None,
    ) -> None:
        """Create an empty workspace."""
        folder = path or state(ctx).workspace
        with create_workspace(
            folder, name=name, timezone=timezone, currency=currency, settings=state(ctx).settings
        ):
            pass
        out.print(f"created workspace {folder}")

    @app.command("import")
    @handled
    def import_(
        ctx: typer.Context,
        file: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON-lines file.")],
        mapping: Annotated[
            str | None,
            typer.Option(
                "--mapping",
                "-m",
                help="Mapping YAML file, or a shipped example's name such as "
                "shop_orders (see `journeylens mappings`).",
            ),
        ] = None,
        on_error: Annotated[
            str,
            typer.Option(
                help="Bad rows: stop (store nothing), skip, or rejects (write them to a file)."
            ),
        ] = "stop",
        rejects: Annotated[
            Path | None, typer.Option(help="Rejects file (with --on-error rejects).")
        ] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """Import a file of events, contacts, orders, receipts, surveys, reviews or ad stats."""
        if on_error not in ("stop", "skip", "rejects"):
            raise typer.BadParameter("must be stop, skip or rejects", param_hint="--on-error")
        policy: OnError = on_error  # type: ignore[assignment]
        with (
            state(ctx).open() as ws,
            Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
                disable=fmt is not Format.table,
            ) as bar,
        ):
            task = bar.add_task(f"importing {file.name}", total=None)

            def progress(done: int, total: int | None) -> None:
                bar.update(task, completed=done, total=total)

            report = ws.import_file(
                file, mapping, on_error=policy, rejects_path=rejects, progress=progress
            )
        summary = {k: v for k, v in report.to_dict().items() if k not in ("errors",)}
        emit_record(summary, fmt, title=f"import of {file.name}")
        if report.errors and fmt is Format.table:
            shown = report.errors[:20]
            emit(
                [{"row": e.row, "field": e.field, "error": e.message} for e in shown],
                Format.table,
                title=f"rejected rows (first {len(shown)} of {report.rejected})",
            )

    @app.command()
    @handled
    def sources(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
        """List the sources that delivered events, with data party and counts."""
        with state(ctx).open() as ws:
            emit(ws.sources(), fmt, title="sources")

    @app.command()
    @handled
    def summary(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
        """Counts of events, identifiers and sources; events by type, channel, source, party."""
        with state(ctx).open() as ws:
            result = ws.summary().to_dict()
        if fmt is Format.json:
            emit_record(result, fmt)
            return
        scalars = {k: v for k, v in result.items() if not isinstance(v, dict)}
        emit_record(scalars, fmt, title="workspace")
        if fmt is Format.table:
            for key in ("by_type", "by_channel", "by_source", "by_data_party"):
                emit(
                    [{key[3:]: k, "events": v} for k, v in result[key].items()],
                    fmt,
                    title=f"events {key.replace('_', ' ')}",
                )

    @app.command()
    @handled
    def mappings(
        name: Annotated[str | None, typer.Argument(help="Print this example mapping.")] = None,
    ) -> None:
        """List the example mapping files shipped with journeylens, or print one."""
        shipped = shipped_mappings()
        if name is None:
            emit(
                [{"name": k, "file": str(v)} for k, v in sorted(shipped.items())],
                Format.table,
                title="example mappings (use with `import --mapping NAME`)",
            )
            return
        if name not in shipped:
            raise NotFoundError(
                f"no shipped mapping {name!r}; one of: {', '.join(sorted(shipped))}",
                kind="mapping",
                key=name,
            )
        typer.echo(shipped[name].read_text(encoding="utf-8"))
