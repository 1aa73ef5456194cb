"""``journeylens demo``: build the demo workspace and show what is in it."""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timedelta
from datetime import time as clock
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from journeylens.cli.main import handled, state
from journeylens.cli.output import Format, emit
from journeylens.demo import DEFAULT_CUSTOMERS, DEMO_END, build_demo, example_customer
from journeylens.errors import ConfigError
from journeylens.workspace import STORE_FILE

out = Console()


def register(app: typer.Typer) -> None:
    @app.command()
    @handled
    def demo(
        ctx: typer.Context,
        customers: Annotated[int, typer.Option(help="How many customers to generate.")] = (
            DEFAULT_CUSTOMERS
        ),
        seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 7,
        force: Annotated[bool, typer.Option(help="Replace an existing workspace.")] = False,
    ) -> None:
        """Build a demo workspace (a hotel and an e-commerce shop) and summarise it."""
        folder = state(ctx).workspace
        if (folder / STORE_FILE).exists():
            if not force:
                raise ConfigError(
                    f"{folder} already holds a workspace; pass --force to replace it, or "
                    "-w OTHER_FOLDER",
                    file=str(folder),
                )
            shutil.rmtree(folder)
        started = time.perf_counter()
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as bar:
            task = bar.add_task("generating customers", total=customers)

            def progress(done: int, total: int | None) -> None:
                bar.update(task, completed=done, total=total)

            ws = build_demo(folder, customers=customers, seed=seed, progress=progress)
        with ws:
            status = Console(stderr=True)
            status.print("resolving identities…")
            ws.resolve_identities(full=True)
            status.print("assigning journey stages…")
            as_of = datetime.combine(DEMO_END + timedelta(days=1), clock(0))
            ws.stages.assign("five_phases", as_of=as_of)
            stages = ws.stages.occupancy("five_phases")
            summary = ws.summary()
            sources = ws.sources()
            someone = example_customer(ws) or "<email or id>"
        took = time.perf_counter() - started
        emit(
            [
                {
                    "stage": ws.stages.model("five_phases").stage(r["stage"]).label("en"),
                    "customers": r["units"],
                }
                for r in stages.rows
            ],
            Format.table,
            title=f"where customers stand on {DEMO_END:%d/%m/%Y} (five phases)",
        )
        out.print(
            f"[bold]demo workspace ready[/bold] in {took:.1f} s: {folder}  "
            f"({summary.events:,} events from {summary.sources} sources)"
        )
        emit(
            [{k: s[k] for k in ("source", "kind", "data_party", "events")} for s in sources],
            Format.table,
            title="sources",
        )
        emit(
            [{"channel": k, "events": v} for k, v in summary.by_channel.items()],
            Format.table,
            title="events by channel",
        )
        out.print(
            f"Next: [cyan]journeylens -w {folder} summary[/cyan], "
            f"[cyan]journeylens -w {folder} profile {someone}[/cyan], "
            f"[cyan]journeylens -w {folder} timeline {someone}[/cyan], "
            f"[cyan]journeylens -w {folder} stages funnel[/cyan]. "
            "docs/demo.md says what is planted in the data."
        )
