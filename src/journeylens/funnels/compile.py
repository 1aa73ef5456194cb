"""A funnel compiled to one SQL query over ``customer_events`` (pure: no connection, no dialect).

The query returns one row per unit (customer or account; customers as their integer
``customer_key``, see :func:`journeylens.funnels.parts.unit_names`) that started at least one
valid attempt: its **best attempt** (docs/funnels.md) as ``reached`` (steps reached) and
``u_1 … u_n`` (epoch microseconds of the events that matched each step; NULL past ``reached``), plus
``last_start_us`` (the latest valid attempt start, to tell open windows from drop-offs) and
``breakdown`` when asked.

Only filters, hash aggregates, hash joins and ASOF joins (the next matching event after a given
one) are used: no window over all events, and the same SQL runs on DuckDB and ClickHouse.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlglot import exp

from journeylens.funnels.chain import chain_best, rank_key
from journeylens.funnels.ordered import ordered_attempts
from journeylens.funnels.parts import (
    events_of,
    flag,
    qualify,
    step_filters,
    step_match,
    sub,
    unit_events,
    unit_names,
)
from journeylens.funnels.spec import FunnelSpec
from journeylens.funnels.unordered import unordered_attempts
from journeylens.sql import col, lit
from journeylens.stages.sqlparts import json_text

__all__ = ["compile_funnel"]


def compile_funnel(
    spec: FunnelSpec,
    codes: Mapping[str, int] | None = None,
    as_of: datetime | None = None,
    *,
    chains: bool = True,
    profiles: bool = False,
) -> exp.Select:
    """The best attempt of every unit, one row per unit (see the module docstring). Ordered
    funnels without exclusions use latest-start chains (:mod:`journeylens.funnels.chain`)
    unless ``chains`` is false (the general compiler, same results: tests compare them).
    ``profiles``: customers are named from ``customer_profiles`` (see
    :func:`journeylens.funnels.parts.unit_names`)."""
    n = len(spec.steps)
    window_us = None if spec.window_seconds is None else round(spec.window_seconds * 1_000_000)
    extra: tuple[str, ...] = ()
    if spec.breakdown in ("channel", "source"):
        extra = (spec.breakdown,)
    gap_us = round(spec.session_gap_seconds * 1_000_000)
    raw = unit_events(spec.count_by, as_of, extra, gap_us)
    filters, flags = step_filters(spec.steps, codes)
    names = [col("event_code") if codes is not None else col("event")]
    flags += [
        exp.alias_(flag(step_match(x.step, codes)), f"x_{k}")
        for k, x in enumerate(spec.exclusions, 1)
    ]
    any_match = exp.or_(
        *[step_match(s, codes) for s in spec.steps],
        *[step_match(x.step, codes) for x in spec.exclusions],
    )
    ev = (
        exp.select(
            col("unit_id"),
            col("seq"),
            exp.alias_(exp.UnixMicros(this=col("ts")), "us"),
            *names,
            *flags,
        )
        .from_(sub(raw, "r"))
        .where(any_match)
    )
    # every step event is read in one scan and kept (a CTE): cheaper than one filtered scan of
    # the store per step (measured at 1M, 10M and 100M events)
    ctes: list[tuple[str, exp.Expression]] = [("ev", ev)]
    if chains and spec.order == "ordered" and not spec.exclusions:
        steps = [events_of(f) for f in filters]
        ctes.append(("chains", chain_best(spec, window_us, ctes, steps)))
        query = exp.select(*_outputs(n, "o")).from_(exp.to_table("chains").as_("o"))
    else:
        query = _best_attempts(spec, window_us, ctes, filters)
    if spec.breakdown is not None:
        step = "start_seq" if spec.order == "unordered" else f"q_{spec.breakdown_step}"
        query = query.select(exp.alias_(col(step, "o"), "break_seq"))
        query = _with_breakdown(spec, query, raw)
    # customers in customer_key order: the order of their ids, and cheaper to sort
    if spec.count_by == "customer":
        query = _named(query, profiles)
    else:
        query = query.order_by(col("unit_id"))
    for name, cte in ctes:
        query = query.with_(name, as_=cte)
    return query


def _named(query: exp.Select, profiles: bool) -> exp.Select:
    """Customers' ``unit_id`` as their customer id (the joins above use ``customer_key``),
    in ``customer_key`` order."""
    names = [e.alias_or_name for e in query.expressions]
    return (
        exp.select(
            *[
                exp.alias_(col("unit_name", "n") if c == "unit_id" else col(c, "f"), c)
                for c in names
            ]
        )
        .from_(sub(query, "f"))
        .join(
            sub(unit_names("customer", profiles=profiles), "n"),
            on=exp.EQ(this=col("unit_id", "n"), expression=col("unit_id", "f")),
        )
        .order_by(col("unit_id", "f"))
    )


def _outputs(n: int, last_from: str) -> list[exp.Expression]:
    return [
        exp.alias_(col("unit_id", "o"), "unit_id"),
        exp.alias_(col("reached", "o"), "reached"),
        exp.alias_(col("start_us", "o"), "start_us"),
        *[exp.alias_(col(f"u_{i}", "o"), f"u_{i}") for i in range(1, n + 1)],
        exp.alias_(col("last_start_us", last_from), "last_start_us"),
    ]


def _best_attempts(
    spec: FunnelSpec,
    window_us: int | None,
    ctes: list[tuple[str, exp.Expression]],
    filters: list[exp.Expression],
) -> exp.Select:
    """Every attempt (from every step-1 event, or every event for unordered funnels), then the
    best one of each unit: the general way, for strict and unordered funnels and exclusions.
    ``filters``: each step's condition on ``ev`` rows (:func:`parts.step_filters`)."""
    if spec.order == "unordered":
        attempts, keep = unordered_attempts(spec, window_us, ctes, filters)
    else:
        attempts, keep = ordered_attempts(spec, window_us, ctes, filters)
    ctes.append(("att", attempts))
    valid = exp.select("*").from_("att")
    if keep is not None:
        valid = valid.where(keep)
    ctes.append(("ok", valid))
    # the rank of an attempt: furthest step, then earliest completion, then latest start
    rank = rank_key(col("reached"), col("done_seq"), col("start_seq"))
    ctes.append(
        (
            "best",
            exp.select(
                col("unit_id"),
                exp.alias_(exp.Max(this=rank), "best_key"),
                exp.alias_(exp.Max(this=col("start_us")), "last_start_us"),
            )
            .from_("ok")
            .group_by(col("unit_id")),
        )
    )
    return (
        exp.select(*_outputs(len(spec.steps), "k"))
        .from_(exp.to_table("ok").as_("o"))
        .join(
            exp.to_table("best").as_("k"),
            on=exp.and_(
                exp.EQ(this=col("unit_id", "o"), expression=col("unit_id", "k")),
                exp.EQ(this=rank.transform(qualify("o")), expression=col("best_key", "k")),
            ),
        )
    )


def _breakdown_values(spec: FunnelSpec, raw: exp.Select) -> exp.Select:
    """``unit_id, seq, breakdown`` of every event, or ``unit_id, breakdown`` of every unit."""
    assert spec.breakdown is not None
    kind, _, name = spec.breakdown.partition(":")
    if kind == "trait":
        key, table = ("customer_id", "customer_profiles")
        if spec.count_by != "customer":
            key, table = ("account_id", "accounts")
        return (
            exp.select(
                exp.alias_(col("unit_id", "k"), "unit_id"),
                exp.alias_(json_text("traits", name), "breakdown"),
            )
            .from_(exp.to_table(table).as_("p"))
            .join(
                sub(unit_names(spec.count_by), "k"),
                on=exp.EQ(this=col("unit_name", "k"), expression=col(key, "p")),
            )
        )
    value = json_text("properties", name) if kind == "property" else col(spec.breakdown)
    return exp.select(col("unit_id"), col("seq"), exp.alias_(value, "breakdown")).from_(
        sub(raw, "r")
    )


def _stage_breakdown(spec: FunnelSpec, query: exp.Select, raw: exp.Select) -> exp.Select:
    """The stage of each unit at its best attempt's step ``breakdown_step`` event: its latest
    entry (of the model's stored history) at or before that event; NULL if none."""
    assert spec.breakdown is not None
    model = spec.breakdown.partition(":")[2]
    names = [e.alias_or_name for e in query.expressions]
    at = (
        exp.select(
            *[exp.alias_(col(n, "f"), n) for n in names if n != "break_seq"],
            exp.alias_(col("unit_name", "n"), "stage_unit"),
            exp.alias_(col("ts", "r"), "break_ts"),
        )
        .from_(sub(query, "f"))
        .join(
            sub(raw, "r"),
            join_type="LEFT",
            on=exp.and_(
                exp.EQ(this=col("unit_id", "r"), expression=col("unit_id", "f")),
                exp.EQ(this=col("seq", "r"), expression=col("break_seq", "f")),
            ),
        )
        .join(
            sub(unit_names(spec.count_by), "n"),
            join_type="LEFT",
            on=exp.EQ(this=col("unit_id", "n"), expression=col("unit_id", "f")),
        )
    )
    entries = (
        exp.select(col("unit_id"), col("stage"), col("entered_at"))
        .from_("stage_entries")
        .where(exp.EQ(this=col("model_id"), expression=lit(model)))
    )
    outer = exp.select(
        *[exp.alias_(col(n, "b"), n) for n in names if n != "break_seq"],
        exp.alias_(col("stage", "s"), "breakdown"),
    ).from_(sub(at, "b"))
    outer.append(
        "joins",
        exp.Join(
            this=sub(entries, "s"),
            method="ASOF",
            side="LEFT",
            on=exp.and_(
                exp.EQ(this=col("unit_id", "s"), expression=col("stage_unit", "b")),
                exp.GTE(this=col("break_ts", "b"), expression=col("entered_at", "s")),
            ),
        ),
    )
    return outer


def _with_breakdown(spec: FunnelSpec, query: exp.Select, raw: exp.Select) -> exp.Select:
    """The breakdown value of each unit: of its best attempt's step ``breakdown_step`` event (or
    of the unit, for a trait); NULL when that step was not reached or the value is missing."""
    if spec.breakdown is not None and spec.breakdown.startswith("stage:"):
        return _stage_breakdown(spec, query, raw)
    values = _breakdown_values(spec, raw)
    names = [e.alias_or_name for e in query.expressions]
    outer = exp.select(
        *[exp.alias_(col(n, "f"), n) for n in names if n != "break_seq"],
        exp.alias_(col("breakdown", "d"), "breakdown"),
    ).from_(sub(query, "f"))
    on = exp.EQ(this=col("unit_id", "f"), expression=col("unit_id", "d"))
    if spec.breakdown is not None and not spec.breakdown.startswith("trait:"):
        on = exp.and_(on, exp.EQ(this=col("break_seq", "f"), expression=col("seq", "d")))
    return outer.join(sub(values, "d"), join_type="LEFT", on=on)
