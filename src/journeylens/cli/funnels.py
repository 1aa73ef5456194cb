"""``journeylens funnel …`` and ``journeylens paths …``: funnels and paths (docs/funnels.md,
docs/paths.md)."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from journeylens.cli.main import handled, state
from journeylens.cli.output import (
    FigureOption,
    Format,
    FormatOption,
    emit,
    emit_record,
    parse_moment,
    write_figure,
)
from journeylens.errors import ConfigError
from journeylens.funnels import Exclusion, FunnelSpec, Step
from journeylens.paths.api import DEFAULT_SESSION_GAP

AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="Read events up to the end of this date or this date-time; default now."
    ),
]
StepsArgument = Annotated[
    list[str],
    typer.Argument(help="2-20 steps: an event name, 'any', or 'EVENT where NAME OP VALUE'."),
]
WindowOption = Annotated[
    str, typer.Option("--window", help="Conversion window: 3600, 30m, 12h, 7d, 2w or none.")
]
OrderOption = Annotated[str, typer.Option("--order", help="ordered, strict or unordered.")]
ExcludeOption = Annotated[
    list[str] | None,
    typer.Option("--exclude", help="EVENT:FROM:TO — drop attempts with EVENT between steps."),
]
BreakdownOption = Annotated[
    str | None,
    typer.Option("--breakdown", help="channel, source, property:NAME, trait:NAME or stage:MODEL."),
]
BreakdownStepOption = Annotated[
    int, typer.Option("--breakdown-step", help="Take the breakdown value from this step.")
]
CountByOption = Annotated[str, typer.Option("--count-by", help="customer, account or session.")]
SessionsOption = Annotated[
    bool, typer.Option("--sessions", help="Split journeys into sessions at inactivity gaps.")
]
GapOption = Annotated[
    float, typer.Option("--session-gap", help="Seconds of inactivity that end a session.")
]

funnel_app = typer.Typer(help="Funnels: steps, conversion and drop-off.", no_args_is_help=True)
paths_app = typer.Typer(
    help="Paths: transitions, top paths, step matrix, sessions.", no_args_is_help=True
)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


def parse_window(text: str) -> float | None:
    """``none`` → no limit; ``7d`` → 604800 seconds; a plain number is seconds."""
    value = text.strip().lower()
    if value in ("none", "unlimited"):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw]?)", value)
    if not match:
        raise ConfigError(
            f"cannot read window {text!r}; write seconds or a number with s, m, h, d or w "
            "(e.g. 7d), or none",
            field="window",
        )
    return float(match[1]) * _UNITS[match[2] or "s"]


def parse_step(text: str) -> Step:
    """``purchase``, ``any`` or ``purchase where total >= 50 and currency = EUR``."""
    name, _, where = text.partition(" where ")
    event = name.strip()
    conditions = tuple(c.strip() for c in where.split(" and ") if c.strip()) if where else ()
    return Step(None if event == "any" else event, conditions)


def parse_exclusion(text: str) -> Exclusion:
    parts = text.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise ConfigError(
            f"cannot read exclusion {text!r}; write EVENT:FROM:TO (e.g. checkout_error:2:3)",
            field="exclusions",
        )
    return Exclusion(parse_step(parts[0]), int(parts[1]), int(parts[2]))


def _spec(
    steps: list[str],
    window: str,
    order: str,
    exclude: list[str] | None,
    breakdown: str | None,
    breakdown_step: int,
    count_by: str,
    session_gap: float = DEFAULT_SESSION_GAP,
) -> FunnelSpec:
    return FunnelSpec(
        steps=tuple(parse_step(s) for s in steps),
        window_seconds=parse_window(window),
        order=order,  # type: ignore[arg-type]
        exclusions=tuple(parse_exclusion(e) for e in exclude or ()),
        breakdown=breakdown,
        breakdown_step=breakdown_step,
        count_by=count_by,  # type: ignore[arg-type]
        session_gap_seconds=session_gap,
    )


def _readable(rows: list[dict[str, Any]], fmt: Format) -> list[dict[str, Any]]:
    """Ratios to 4 decimals and seconds to 1 in a table; JSON and CSV keep full precision."""
    if fmt is not Format.table:
        return rows
    return [
        {
            k: round(v, 1 if "seconds" in k else 4) if isinstance(v, float) else v
            for k, v in r.items()
        }
        for r in rows
    ]


def _run(ctx: typer.Context, spec: FunnelSpec, as_of: str | None) -> Any:
    with state(ctx).open(read_only=True) as ws:
        moment = parse_moment(as_of, ws.config.timezone, end_of_day=True)
        return ws.funnels.run(spec, as_of=moment), ws.config.timezone


@funnel_app.command("run")
@handled
def run_(
    ctx: typer.Context,
    steps: StepsArgument,
    window: WindowOption = "14d",
    order: OrderOption = "ordered",
    exclude: ExcludeOption = None,
    breakdown: BreakdownOption = None,
    breakdown_step: BreakdownStepOption = 1,
    count_by: CountByOption = "customer",
    session_gap: GapOption = DEFAULT_SESSION_GAP,
    as_of: AsOfOption = None,
    fmt: FormatOption = Format.table,
    figure: FigureOption = None,
) -> None:
    """Customers per step, conversion, drop-off, open windows and time to convert."""
    spec = _spec(steps, window, order, exclude, breakdown, breakdown_step, count_by, session_gap)
    result, _ = _run(ctx, spec, as_of)
    rows = [
        {"breakdown": value, **row} if spec.breakdown else row
        for value, table in result.by_breakdown().items()
        for row in table
    ]
    title = f"funnel ({spec.order}) as of {result.as_of:%Y-%m-%d %H:%M} UTC"
    emit(_readable(rows, fmt), fmt, title=title)
    write_figure(result.figure(), figure)


@funnel_app.command("units")
@handled
def units_(
    ctx: typer.Context,
    steps: StepsArgument,
    step: Annotated[int, typer.Option("--step", help="Step number (from 1).")] = 1,
    status: Annotated[
        str, typer.Option("--status", help="reached, converted, dropped or open.")
    ] = "dropped",
    window: WindowOption = "14d",
    order: OrderOption = "ordered",
    exclude: ExcludeOption = None,
    count_by: CountByOption = "customer",
    session_gap: GapOption = DEFAULT_SESSION_GAP,
    as_of: AsOfOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """The customers (or accounts) behind a step's number, to act on them."""
    spec = _spec(steps, window, order, exclude, None, 1, count_by, session_gap)
    result, _ = _run(ctx, spec, as_of)
    ids = result.units_at(step, status)
    emit([{"unit_id": i} for i in ids], fmt, title=f"step {step}: {status}")


@funnel_app.command("trend")
@handled
def trend_(
    ctx: typer.Context,
    steps: StepsArgument,
    freq: Annotated[str, typer.Option("--freq", help="day, week or month.")] = "week",
    window: WindowOption = "14d",
    order: OrderOption = "ordered",
    count_by: CountByOption = "customer",
    session_gap: GapOption = DEFAULT_SESSION_GAP,
    as_of: AsOfOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Conversion per period of the attempt's start, in the reporting time zone."""
    if freq not in ("day", "week", "month"):
        raise ConfigError(
            f"unknown frequency {freq!r}", field="freq", allowed=["day", "week", "month"]
        )
    spec = _spec(steps, window, order, None, None, 1, count_by, session_gap)
    result, zone = _run(ctx, spec, as_of)
    emit(result.over_time(freq, zone), fmt, title=f"conversion per {freq}")


@paths_app.command("transitions")
@handled
def transitions_(
    ctx: typer.Context,
    sessions: SessionsOption = False,
    session_gap: GapOption = DEFAULT_SESSION_GAP,
    as_of: AsOfOption = None,
    fmt: FormatOption = Format.table,
    figure: FigureOption = None,
    chart: Annotated[
        str, typer.Option("--chart", help="graph (touchpoints and arrows) or sankey.")
    ] = "graph",
) -> None:
    """The transition graph: every (touchpoint, next touchpoint) pair."""
    with state(ctx).open(read_only=True) as ws:
        moment = parse_moment(as_of, ws.config.timezone, end_of_day=True)
        graph = ws.funnels.paths.transitions(
            sessions=sessions, session_gap=session_gap, as_of=moment
        )
    emit(_readable(graph.rows, fmt), fmt, title="transitions")
    write_figure(graph.figure(kind=chart), figure)


@paths_app.command("top")
@handled
def top_(
    ctx: typer.Context,
    start: Annotated[
        str | None, typer.Option("--start", help="Paths from this touchpoint.")
    ] = None,
    end: Annotated[str | None, typer.Option("--end", help="Paths to this touchpoint.")] = None,
    steps: Annotated[int, typer.Option("--steps", help="Touchpoints per path.")] = 4,
    limit: Annotated[int, typer.Option("--limit", help="How many paths.")] = 20,
    sessions: SessionsOption = False,
    session_gap: GapOption = DEFAULT_SESSION_GAP,
    as_of: AsOfOption = None,
    fmt: FormatOption = Format.table,
    figure: FigureOption = None,
) -> None:
    """The most frequent paths from a start or to an end touchpoint."""
    with state(ctx).open(read_only=True) as ws:
        moment = parse_moment(as_of, ws.config.timezone, end_of_day=True)
        top = ws.funnels.paths.top(
            start=start,
            end=end,
            steps=steps,
            limit=limit,
            sessions=sessions,
            session_gap=session_gap,
            as_of=moment,
        )
    rows = [{**r, "path": " > ".join(r["path"])} for r in top.rows]
    emit(rows, fmt, title="top paths")
    write_figure(top.figure(), figure)


@paths_app.command("matrix")
@handled
def matrix_(
    ctx: typer.Context,
    start: Annotated[
        str | None, typer.Option("--start", help="Count from this touchpoint.")
    ] = None,
    steps: Annotated[int, typer.Option("--steps", help="Number of steps.")] = 5,
    sessions: SessionsOption = False,
    session_gap: GapOption = DEFAULT_SESSION_GAP,
    as_of: AsOfOption = None,
    fmt: FormatOption = Format.table,
    figure: FigureOption = None,
) -> None:
    """Share of customers (or sessions) at each touchpoint at each step."""
    with state(ctx).open(read_only=True) as ws:
        moment = parse_moment(as_of, ws.config.timezone, end_of_day=True)
        matrix = ws.funnels.paths.step_matrix(
            start=start, steps=steps, sessions=sessions, session_gap=session_gap, as_of=moment
        )
    emit(_readable(matrix.rows, fmt), fmt, title=f"step matrix ({matrix.anchors:,} anchors)")
    write_figure(matrix.figure(), figure)


@paths_app.command("between")
@handled
def between_(
    ctx: typer.Context,
    start: Annotated[str, typer.Argument(help="Start touchpoint.")],
    end: Annotated[str, typer.Argument(help="End touchpoint.")],
    as_of: AsOfOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Customers who did END after their first START, with median steps and time."""
    with state(ctx).open(read_only=True) as ws:
        moment = parse_moment(as_of, ws.config.timezone, end_of_day=True)
        between = ws.funnels.paths.between(start, end, as_of=moment)
    emit_record(between.to_dict(), fmt, title=f"{start} → {end}")


def register(root: typer.Typer) -> None:
    root.add_typer(funnel_app, name="funnel")
    root.add_typer(paths_app, name="paths")
