"""Attribution paths compiled to SQL over ``customer_events`` (pure: no connection, no dialect).

A customer's events are followed in ``seq`` order (timestamp, then event id), as funnels and
paths do. Each conversion ends a **journey**: the touchpoints after the previous conversion
(of the same customer) and up to it; touchpoints after the last conversion form an open
journey that did not convert. Touchpoints older than the lookback window (counted back from
the journey's end: the conversion, or the last touchpoint of an open journey) are dropped;
with ``repeats="collapse"`` a touchpoint with the same value as the touchpoint just before it
in the journey is dropped too. The journeys are then grouped by path.

One pass of window functions over the selected events (all with the same partition and
order), two hash aggregates and a hash join; the path is an ordered list aggregate (ClickHouse
spells it with ``arraySort`` over ``(seq, value)`` tuples, see :mod:`journeylens.sql.dialects`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import cast

from sqlglot import exp

from journeylens.attribution.spec import AttributionSpec
from journeylens.funnels.parts import flag, step_match, sub, ts_literal
from journeylens.funnels.spec import Step
from journeylens.sql import col, lit
from journeylens.stages.sqlparts import epoch_us, json_text, shift

__all__ = [
    "compile_conversions",
    "compile_costs",
    "compile_events",
    "compile_paths",
    "compile_time_decay",
    "level_value",
]


def _bigint(value: exp.Expression) -> exp.Expression:
    return exp.Cast(this=value, to=exp.DataType.build("BIGINT"))


def level_value(level: str, table: str | None = None) -> exp.Expression:
    """What a touchpoint is credited as: its channel, source, campaign (the ``campaign``
    property; ``(Channel)`` when missing) or event name."""
    if level == "campaign":
        channel = col("channel", table)
        fallback = exp.Concat(expressions=[lit("("), channel, lit(")")], safe=False)
        campaign = json_text("properties", "campaign")
        if table is not None:
            campaign.this.set("table", exp.to_identifier(table))
        return exp.Coalesce(this=campaign, expressions=[fallback])
    return col({"touchpoint": "event"}.get(level, level), table)


def _in(column: exp.Expression, values: tuple[str, ...]) -> exp.Expression:
    return exp.In(this=column, expressions=[lit(v) for v in values])


def _touch(spec: AttributionSpec) -> exp.Expression:
    conditions: list[exp.Expression] = [_in(col("type", "e"), spec.touch_types)]
    if spec.exclude_channels:
        conditions.append(exp.Not(this=_in(col("channel", "e"), spec.exclude_channels)))
    if spec.channels is not None:
        conditions.append(_in(col("channel", "e"), spec.channels))
    if spec.events is not None:
        conditions.append(_in(col("event", "e"), spec.events))
    if spec.exclude_events:
        conditions.append(exp.Not(this=_in(col("event", "e"), spec.exclude_events)))
    return cast(exp.Expression, exp.and_(*conditions))


def _conversion(spec: AttributionSpec, codes: Mapping[str, int] | None) -> exp.Expression:
    conversion = step_match(spec.step, codes)
    for column in conversion.find_all(exp.Column):
        if not column.table:
            column.set("table", exp.to_identifier("e"))
    return conversion


def _stored(as_of: datetime) -> exp.Expression:
    return exp.LTE(this=col("ts", "e"), expression=ts_literal(as_of))


def compile_events(
    spec: AttributionSpec,
    codes: Mapping[str, int] | None,
    as_of: datetime,
    *,
    revenue: bool = True,
) -> exp.Select:
    """``unit_id, seq, us, is_conv, [revenue,] v`` of every conversion and touchpoint, in the
    store's order (the input of :class:`journeylens.attribution.journeys.Journeys`, without
    ``revenue``, and of the SQL below)."""
    conversion = _conversion(spec, codes)
    # an event named like the conversion is never a touchpoint, even when its conditions fail
    same_event = step_match(Step(spec.step.event), codes)
    for column in same_event.find_all(exp.Column):
        column.set("table", exp.to_identifier("e"))
    value = exp.Coalesce(this=col("revenue", "e"), expressions=[lit(0)])
    columns = [
        exp.alias_(col("customer_key", "e"), "unit_id"),
        exp.alias_(col("seq", "e"), "seq"),
        exp.alias_(exp.UnixMicros(this=col("ts", "e")), "us"),
        exp.alias_(flag(conversion.copy()), "is_conv"),
    ]
    if revenue:
        case = exp.Case(ifs=[exp.If(this=conversion.copy(), true=value)])
        columns.append(exp.alias_(case, "revenue"))
    columns.append(exp.alias_(level_value(spec.level, "e"), "v"))
    return (
        exp.select(*columns)
        .from_(exp.to_table("customer_events").as_("e"))
        .where(
            exp.and_(
                _stored(as_of),
                exp.or_(conversion.copy(), exp.and_(exp.Not(this=same_event), _touch(spec))),
            )
        )
    )


def compile_conversions(
    spec: AttributionSpec, codes: Mapping[str, int] | None, as_of: datetime
) -> exp.Select:
    """``unit_id, seq, revenue`` of every conversion, in the store's order (revenue read for
    these rows only, rather than carried through every touchpoint)."""
    value = exp.Coalesce(this=col("revenue", "e"), expressions=[lit(0)])
    return (
        exp.select(
            exp.alias_(col("customer_key", "e"), "unit_id"),
            exp.alias_(col("seq", "e"), "seq"),
            exp.alias_(exp.Cast(this=value, to=exp.DataType.build("DOUBLE")), "revenue"),
        )
        .from_(exp.to_table("customer_events").as_("e"))
        .where(exp.and_(_stored(as_of), _conversion(spec, codes)))
    )


def _windowed() -> exp.Select:
    """Each event with the previous touchpoint's value ``pv`` (NULL after a conversion), the
    previous event's time ``pus``, and its journey ``j`` (conversions strictly before it)."""
    touch_value = exp.Case(
        ifs=[exp.If(this=exp.EQ(this=col("is_conv"), expression=lit(0)), true=col("v"))]
    )
    previous_value = shift(exp.Lag, "v", ("seq",), "VARCHAR")
    previous_value.this.this.set("this", touch_value)
    running = exp.Window(
        this=exp.Sum(this=col("is_conv")),
        partition_by=[col("unit_id")],
        order=exp.Order(expressions=[exp.Ordered(this=col("seq"), nulls_first=False)]),
        spec=exp.WindowSpec(
            kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW"
        ),
    )
    return exp.select(
        col("unit_id"),
        col("seq"),
        col("us"),
        col("is_conv"),
        col("revenue"),
        col("v"),
        exp.alias_(previous_value, "pv"),
        exp.alias_(shift(exp.Lag, "us", ("seq",), "BIGINT"), "pus"),
        exp.alias_(_bigint(exp.Sub(this=running, expression=col("is_conv"))), "j"),
    ).from_("ev")


def _journeys(since: datetime | None) -> exp.Select:
    """One row per journey: its end, whether it converted, its revenue and the conversion
    event's own value (for the same-touch model)."""
    converted = exp.EQ(this=col("is_conv"), expression=lit(1))
    query = (
        exp.select(
            col("unit_id"),
            col("j"),
            exp.alias_(exp.Max(this=col("us")), "end_us"),
            exp.alias_(exp.Max(this=col("is_conv")), "converted"),
            exp.alias_(
                exp.Max(this=exp.Case(ifs=[exp.If(this=converted, true=col("revenue"))])),
                "revenue",
            ),
            exp.alias_(
                exp.Max(this=exp.Case(ifs=[exp.If(this=converted.copy(), true=col("v"))])),
                "same_touch",
            ),
        )
        .from_("w")
        .group_by(col("unit_id"), col("j"))
    )
    if since is not None:
        query = query.having(exp.GTE(this=exp.Max(this=col("us")), expression=lit(epoch_us(since))))
    return query


def _kept(spec: AttributionSpec) -> exp.Select:
    """The touchpoints that make the paths: inside the lookback window, repeats collapsed."""
    lookback = spec.lookback_us
    start = (
        exp.Sub(this=col("end_us", "jr"), expression=lit(lookback))
        if lookback is not None
        else None
    )
    conditions: list[exp.Expression] = [exp.EQ(this=col("is_conv", "w"), expression=lit(0))]
    if start is not None:
        conditions.append(exp.GTE(this=col("us", "w"), expression=start))
    if spec.repeats == "collapse":
        fresh: list[exp.Expression] = [
            exp.Is(this=col("pv", "w"), expression=exp.null()),
            exp.NEQ(this=col("pv", "w"), expression=col("v", "w")),
        ]
        if start is not None:
            fresh.append(exp.LT(this=col("pus", "w"), expression=start.copy()))
        conditions.append(cast(exp.Expression, exp.or_(*fresh)))
    return (
        exp.select(
            *[exp.alias_(col(n, "w"), n) for n in ("unit_id", "j", "seq", "us", "v")],
            *[exp.alias_(col(n, "jr"), n) for n in ("end_us", "converted", "revenue")],
        )
        .from_(exp.to_table("w").as_("w"))
        .join(
            exp.to_table("journeys").as_("jr"),
            on=exp.and_(
                exp.EQ(this=col("unit_id", "w"), expression=col("unit_id", "jr")),
                exp.EQ(this=col("j", "w"), expression=col("j", "jr")),
            ),
        )
        .where(exp.and_(*conditions))
    )


def _with_ctes(
    query: exp.Select, spec: AttributionSpec, codes: Mapping[str, int] | None, as_of: datetime
) -> exp.Select:
    return (
        query.with_("ev", as_=compile_events(spec, codes, as_of))
        .with_("w", as_=_windowed())
        .with_("journeys", as_=_journeys(spec.since))
        .with_("kept", as_=_kept(spec))
    )


def compile_paths(
    spec: AttributionSpec, codes: Mapping[str, int] | None, as_of: datetime
) -> exp.Select:
    """``path, same_touch, conversions, revenue, non_conversions``: journeys grouped by path
    (a list of touchpoint values, oldest first; empty for a conversion without touchpoints)
    and by the conversion event's own value."""
    ordered = exp.ArrayAgg(
        this=exp.Order(this=col("v"), expressions=[exp.Ordered(this=col("seq"), nulls_first=False)])
    )
    paths = (
        exp.select(col("unit_id"), col("j"), exp.alias_(ordered, "path"))
        .from_("kept")
        .group_by(col("unit_id"), col("j"))
    )
    path = exp.Coalesce(this=col("path", "p"), expressions=[exp.Array(expressions=[])])
    converted = col("converted", "jr")
    query = (
        exp.select(
            exp.alias_(path, "path"),
            exp.alias_(col("same_touch", "jr"), "same_touch"),
            exp.alias_(_bigint(exp.Sum(this=converted)), "conversions"),
            exp.alias_(exp.Sum(this=col("revenue", "jr")), "revenue"),
            exp.alias_(
                _bigint(exp.Sum(this=exp.Sub(this=lit(1), expression=converted.copy()))),
                "non_conversions",
            ),
        )
        .from_(exp.to_table("journeys").as_("jr"))
        .join(
            sub(paths, "p"),
            join_type="LEFT",
            on=exp.and_(
                exp.EQ(this=col("unit_id", "jr"), expression=col("unit_id", "p")),
                exp.EQ(this=col("j", "jr"), expression=col("j", "p")),
            ),
        )
        .group_by(path.copy(), col("same_touch", "jr"))
    )
    return _with_ctes(query, spec, codes, as_of)


def compile_time_decay(
    spec: AttributionSpec, codes: Mapping[str, int] | None, as_of: datetime, half_life_days: float
) -> exp.Select:
    """``v, conversions, revenue``: time-decay credit per touchpoint value. A touchpoint Δt
    before its conversion weighs 2^(−Δt / half-life); each conversion's weights sum to 1."""
    half_life_us = half_life_days * 86_400e6
    age = exp.Sub(this=col("end_us", "k"), expression=col("us", "k"))
    weight = exp.Pow(
        this=lit(2.0),
        expression=exp.Div(
            this=exp.Neg(this=exp.Cast(this=age, to=exp.DataType.build("DOUBLE"))),
            expression=lit(half_life_us),
        ),
    )
    weighted = (
        exp.select(
            *[exp.alias_(col(n, "k"), n) for n in ("unit_id", "j", "v")],
            exp.alias_(
                exp.Cast(this=col("revenue", "k"), to=exp.DataType.build("DOUBLE")), "revenue"
            ),
            exp.alias_(weight, "wt"),
        )
        .from_(exp.to_table("kept").as_("k"))
        .where(exp.EQ(this=col("converted", "k"), expression=lit(1)))
    )
    totals = (
        exp.select(col("unit_id"), col("j"), exp.alias_(exp.Sum(this=col("wt")), "total"))
        .from_("weighted")
        .group_by(col("unit_id"), col("j"))
    )
    share = exp.Div(this=col("wt", "a"), expression=col("total", "t"))
    query = (
        exp.select(
            exp.alias_(col("v", "a"), "v"),
            exp.alias_(exp.Sum(this=share), "conversions"),
            exp.alias_(
                exp.Sum(this=exp.Mul(this=share.copy(), expression=col("revenue", "a"))),
                "revenue",
            ),
        )
        .from_(exp.to_table("weighted").as_("a"))
        .join(
            exp.to_table("totals").as_("t"),
            on=exp.and_(
                exp.EQ(this=col("unit_id", "a"), expression=col("unit_id", "t")),
                exp.EQ(this=col("j", "a"), expression=col("j", "t")),
            ),
        )
        .group_by(col("v", "a"))
    )
    query = _with_ctes(query, spec, codes, as_of)
    return query.with_("weighted", as_=weighted).with_("totals", as_=totals)


def compile_costs(level: str, since: datetime | None, as_of: datetime) -> exp.Select:
    """``v, cost``: imported costs (``cost`` of ad events) per value of ``level``, over the
    events from ``since`` to ``as_of``."""
    conditions: list[exp.Expression] = [
        exp.Not(this=exp.Is(this=col("cost", "e"), expression=exp.null())),
        exp.LTE(this=col("ts", "e"), expression=ts_literal(as_of)),
    ]
    if since is not None:
        conditions.append(exp.GTE(this=col("ts", "e"), expression=ts_literal(since)))
    value = level_value(level, "e")
    return (
        exp.select(exp.alias_(value, "v"), exp.alias_(exp.Sum(this=col("cost", "e")), "cost"))
        .from_(exp.to_table("customer_events").as_("e"))
        .where(exp.and_(*conditions))
        .group_by(value.copy())
    )
