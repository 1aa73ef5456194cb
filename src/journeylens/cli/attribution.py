"""``journeylens attribution …``: conversion paths, model comparison and ROI
(docs/attribution.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from journeylens.attribution import DEFAULT_MODELS, AttributionSpec
from journeylens.cli.funnels import AsOfOption, parse_step
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

attribution_app = typer.Typer(
    help="Attribution: what each channel and touchpoint is worth.", no_args_is_help=True
)

ConversionOption = Annotated[
    str,
    typer.Option("--conversion", help="Conversion event, optionally 'EVENT where NAME OP VALUE'."),
]
ValueOption = Annotated[str, typer.Option("--value", help="revenue or count.")]
LookbackOption = Annotated[
    str, typer.Option("--lookback", help="Lookback window in days (e.g. 30), or none.")
]
LevelOption = Annotated[
    str, typer.Option("--level", help="channel, source, campaign or touchpoint.")
]
RepeatsOption = Annotated[str, typer.Option("--repeats", help="collapse or keep.")]
SinceOption = Annotated[
    str | None, typer.Option("--since", help="Only conversions from this date (YYYY-MM-DD).")
]
ChannelsOption = Annotated[
    list[str] | None, typer.Option("--channel", help="Only touchpoints of this channel.")
]
ModelsOption = Annotated[
    list[str] | None,
    typer.Option("--model", "-m", help="A model (repeat the option); default: the main ones."),
]


def _lookback(text: str) -> float | None:
    if text.strip().lower() in ("none", "all"):
        return None
    try:
        return float(text.strip().removesuffix("d"))
    except ValueError:
        raise ConfigError(
            f"cannot read lookback {text!r}; write a number of days (30) or none",
            field="lookback_days",
        ) from None


def _spec(
    zone: str,
    conversion: str,
    value: str,
    lookback: str,
    level: str,
    repeats: str,
    since: str | None,
    channels: list[str] | None,
) -> AttributionSpec:
    return AttributionSpec(
        conversion=parse_step(conversion),
        value=value,  # type: ignore[arg-type]
        lookback_days=_lookback(lookback),
        level=level,  # type: ignore[arg-type]
        repeats=repeats,  # type: ignore[arg-type]
        since=parse_moment(since, zone, end_of_day=False),
        channels=tuple(channels) if channels else None,
    )


def _rounded(rows: list[dict[str, Any]], fmt: Format) -> list[dict[str, Any]]:
    if fmt is not Format.table:
        return rows
    return [{k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()} for r in rows]


@attribution_app.command("paths")
@handled
def paths_(
    ctx: typer.Context,
    conversion: ConversionOption = "purchase",
    value: ValueOption = "revenue",
    lookback: LookbackOption = "30",
    level: LevelOption = "channel",
    repeats: RepeatsOption = "collapse",
    since: SinceOption = None,
    channel: ChannelsOption = None,
    limit: Annotated[int, typer.Option("--limit", help="How many paths.")] = 20,
    as_of: AsOfOption = None,
    fmt: FormatOption = Format.table,
    figure: FigureOption = None,
) -> None:
    """Conversion paths: conversions, value and non-conversions per distinct path."""
    with state(ctx).open(read_only=True) as ws:
        zone = ws.config.timezone
        spec = _spec(zone, conversion, value, lookback, level, repeats, since, channel)
        moment = parse_moment(as_of, zone, end_of_day=True)
        result = ws.attribution.paths(spec, as_of=moment)
    emit(_rounded(result.table()[:limit], fmt), fmt, title=f"conversion paths ({level})")
    write_figure(result.figure(), figure)


@attribution_app.command("run")
@handled
def run_(
    ctx: typer.Context,
    model: ModelsOption = None,
    conversion: ConversionOption = "purchase",
    value: ValueOption = "revenue",
    lookback: LookbackOption = "30",
    level: LevelOption = "channel",
    repeats: RepeatsOption = "collapse",
    since: SinceOption = None,
    channel: ChannelsOption = None,
    markov_order: Annotated[int, typer.Option("--markov-order", help="1, 2 or 3.")] = 1,
    half_life: Annotated[
        float, typer.Option("--half-life", help="Time-decay half-life in days.")
    ] = 7.0,
    weights: Annotated[
        str | None, typer.Option("--weights", help="Custom model: FIRST,MIDDLE,LAST.")
    ] = None,
    show: Annotated[str, typer.Option("--show", help="conversions or value.")] = "conversions",
    as_of: AsOfOption = None,
    fmt: FormatOption = Format.table,
    figure: FigureOption = None,
) -> None:
    """Model comparison: credited conversions (or value) per channel, one column per model."""
    if show not in ("conversions", "value"):
        raise ConfigError(f"cannot show {show!r}", field="show", allowed=["conversions", "value"])
    custom = None
    if weights is not None:
        parts = weights.split(",")
        try:
            custom = tuple(float(p) for p in parts)
        except ValueError:
            custom = ()
        if len(custom) != 3:
            raise ConfigError(
                f"--weights takes FIRST,MIDDLE,LAST, got {weights!r}", field="weights"
            )
    with state(ctx).open(read_only=True) as ws:
        zone = ws.config.timezone
        spec = _spec(zone, conversion, value, lookback, level, repeats, since, channel)
        result = ws.attribution.run(
            spec,
            models=model or DEFAULT_MODELS,
            markov_order=markov_order,
            half_life_days=half_life,
            weights=custom,  # type: ignore[arg-type]
            as_of=parse_moment(as_of, zone, end_of_day=True),
        )
    title = (
        f"attributed {show} ({result.total_conversions:,.0f} conversions, "
        f"value {result.total_value:,.2f})"
    )
    emit(_rounded(result.table(show), fmt), fmt, title=title)
    write_figure(result.figure(show), figure)


@attribution_app.command("roi")
@handled
def roi_(
    ctx: typer.Context,
    model: ModelsOption = None,
    conversion: ConversionOption = "purchase",
    lookback: LookbackOption = "30",
    level: LevelOption = "channel",
    since: SinceOption = None,
    as_of: AsOfOption = None,
    fmt: FormatOption = Format.table,
    figure: FigureOption = None,
) -> None:
    """Cost per acquisition and ROI per channel from imported costs, for each model."""
    with state(ctx).open(read_only=True) as ws:
        zone = ws.config.timezone
        spec = _spec(zone, conversion, "revenue", lookback, level, "collapse", since, None)
        result = ws.attribution.roi(
            spec,
            models=model or ("last_touch", "linear", "markov"),
            as_of=parse_moment(as_of, zone, end_of_day=True),
        )
    emit(_rounded(result.rows, fmt), fmt, title="cost per acquisition and ROI")
    write_figure(result.figure(), figure)


def register(root: typer.Typer) -> None:
    root.add_typer(attribution_app, name="attribution")
