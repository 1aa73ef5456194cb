"""``journeylens stages …``: journey models, stage assignment and stage analytics."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.console import Console

from journeylens.cli.main import handled, state
from journeylens.cli.output import (
    FigureOption,
    Format,
    FormatOption,
    emit,
    parse_moment,
    write_figure,
)
from journeylens.errors import ConfigError
from journeylens.stages.api import DEFAULT_MODEL, Stages
from journeylens.stages.describe import describe_model

ModelOption = Annotated[
    str, typer.Option("--model", "-m", help="Built-in model id or a model YAML file.")
]
ByOption = Annotated[
    str | None, typer.Option(help="Break down by channel, source, segment or trait:NAME.")
]
out = Console()
app = typer.Typer(
    help="Journey stages: models, assignment, occupancy, funnel, flows.", no_args_is_help=True
)


@app.command()
@handled
def models(fmt: FormatOption = Format.table) -> None:
    """List the built-in journey models."""
    emit(
        [
            {
                "model": m.id,
                "label": m.label("en"),
                "etichetta": m.label("it"),
                "level": m.level,
                "circular": m.circular,
                "stages": ", ".join(s.id for s in m.stages),
            }
            for m in Stages.builtin()
        ],
        fmt,
        title="built-in journey models",
    )


@app.command()
@handled
def show(
    model: Annotated[str, typer.Argument(help="Built-in model id or a model YAML file.")],
    lang: Annotated[str, typer.Option(help="Labels in en or it.")] = "en",
    fmt: FormatOption = Format.table,
) -> None:
    """Validate a model and show its stages with their rules in plain words."""
    journey = Stages.model(model)
    emit(
        describe_model(journey, lang),
        fmt,
        title=f"{journey.label(lang)} ({journey.level}{', circular' if journey.circular else ''})",
    )


@app.command("assign")
@handled
def assign_(
    ctx: typer.Context,
    model: ModelOption = DEFAULT_MODEL,
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Up to this date (end of day, reporting time zone) or date-time; default now."
        ),
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Assign every customer (or account) a stage history, and show where they stand."""
    with state(ctx).open() as ws:
        history = ws.stages.assign(
            model, as_of=parse_moment(as_of, ws.config.timezone, end_of_day=True)
        )
        counts = ws.stages.occupancy(model)
    emit(
        [{"stage": r["stage"], "units": r["units"]} for r in counts.rows],
        fmt,
        title=f"{history.model.id}: {history.units:,} {history.model.level}s, "
        f"{history.entries:,} stage entries, as of {history.as_of:%Y-%m-%d %H:%M} UTC",
    )


@app.command()
@handled
def occupancy(
    ctx: typer.Context,
    model: ModelOption = DEFAULT_MODEL,
    at: Annotated[
        str | None,
        typer.Option(
            help="At the end of this date (reporting time zone) or at a date-time; default as_of."
        ),
    ] = None,
    by: ByOption = None,
    figure: FigureOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """How many customers are in each stage now, or at a past date."""
    with state(ctx).open(read_only=True) as ws:
        result = ws.stages.occupancy(
            model, at=parse_moment(at, ws.config.timezone, end_of_day=True), by=by
        )
        language = ws.config.locale
    emit(
        result.rows
        if by
        else [{k: r[k] for k in ("stage", "stage_rank", "units")} for r in result.rows],
        fmt,
        title=f"{result.model.id} at {result.at:%Y-%m-%d %H:%M} UTC",
    )
    write_figure(result.figure(language), figure)


@app.command()
@handled
def series(
    ctx: typer.Context,
    start: Annotated[str, typer.Option(help="First period (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option(help="Last period (YYYY-MM-DD).")],
    model: ModelOption = DEFAULT_MODEL,
    freq: Annotated[str, typer.Option(help="day, week or month.")] = "month",
    by: ByOption = None,
    figure: FigureOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Stage occupancy at the end of every day, week or month (reporting time zone)."""
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise ConfigError("--start/--end: give dates as YYYY-MM-DD") from None
    with state(ctx).open(read_only=True) as ws:
        result = ws.stages.series(model, start=first, end=last, freq=freq, by=by)  # type: ignore[arg-type]
        language = ws.config.locale
    emit(result.rows, fmt, title=f"{result.model.id} by {freq} ({result.timezone})")
    write_figure(result.figure(language), figure)


@app.command()
@handled
def funnel(
    ctx: typer.Context,
    model: ModelOption = DEFAULT_MODEL,
    by: ByOption = None,
    figure: FigureOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Per stage: entered, reached, conversion to the next stage, time to move on."""
    with state(ctx).open(read_only=True) as ws:
        result = ws.stages.funnel(model, by=by)
        language = ws.config.locale
    rows = (
        [
            {
                **({"segment": r["segment_value"]} if by else {}),
                "stage": r["stage"],
                "entered": r["entered"],
                "reached": r["reached"],
                "conversion_to_next": None
                if r["conversion_to_next"] is None
                else round(r["conversion_to_next"], 4),
                "moved_on": r["moved_on"],
                "median_days": None
                if r["median_seconds"] is None
                else round(r["median_seconds"] / 86400, 1),
                "p90_days": None
                if r["p90_seconds"] is None
                else round(r["p90_seconds"] / 86400, 1),
            }
            for r in result.rows
        ]
        if fmt is Format.table
        else result.rows
    )
    emit(rows, fmt, title=f"{result.model.id}: stage funnel")
    write_figure(result.figure(language), figure)


@app.command()
@handled
def flows(
    ctx: typer.Context,
    start: Annotated[str, typer.Option(help="From this date (reporting time zone).")],
    end: Annotated[str, typer.Option(help="Until this date, inclusive.")],
    model: ModelOption = DEFAULT_MODEL,
    figure: FigureOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Moves between stages in a period, backwards moves and lapses included."""
    with state(ctx).open(read_only=True) as ws:
        zone = ws.config.timezone
        first = parse_moment(start, zone, end_of_day=False)
        last = parse_moment(end, zone, end_of_day=True)
        assert first is not None and last is not None
        result = ws.stages.flows(model, start=first, end=last)
        language = ws.config.locale
    emit(result.rows, fmt, title=f"{result.model.id}: flows {start} → {end}")
    write_figure(result.figure(language), figure)


@app.command()
@handled
def customer(
    ctx: typer.Context,
    key: Annotated[
        str, typer.Argument(help="Customer id or any identifier (account id for account models).")
    ],
    model: ModelOption = DEFAULT_MODEL,
    fmt: FormatOption = Format.table,
) -> None:
    """One customer's (or account's) stage history."""
    with state(ctx).open(read_only=True) as ws:
        journey = ws.stages.model(model)
        unit = key if journey.level == "account" else ws.profile(key).customer_id
        rows = ws.stages.history_of(unit, journey)
    emit(rows, fmt, title=f"{journey.id}: stages of {unit}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="stages")
