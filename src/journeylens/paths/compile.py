"""Path queries over ``customer_events`` (pure: no connection, no dialect).

Every query follows a customer's events by ``seq`` (timestamp, then event id) with hash joins
on ``seq ± i`` — no window function over the events — and compares event codes (the
``event_names`` dictionary). With a session gap, two consecutive events more than the gap
apart belong to different sessions, and a path or transition never crosses that boundary.
"""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from journeylens.funnels.parts import sub, unit_names
from journeylens.sql import col, lit
from journeylens.stages.sqlparts import epoch_us

__all__ = ["compile_between", "compile_chains", "compile_transitions", "events"]


def events(as_of: datetime | None) -> exp.Select:
    """``unit_id, seq, us, code`` of every event (``us``: epoch microseconds); customers are
    identified by their integer ``customer_key`` (faster to join and count than the id)."""
    query = exp.select(
        exp.alias_(col("customer_key", "e"), "unit_id"),
        exp.alias_(col("seq", "e"), "seq"),
        exp.alias_(exp.UnixMicros(this=col("ts", "e")), "us"),
        exp.alias_(col("event_code", "e"), "code"),
    ).from_(exp.to_table("customer_events").as_("e"))
    if as_of is not None:
        moment = exp.UnixToTime(this=lit(epoch_us(as_of)), scale=exp.UnixToTime.MICROS)
        query = query.where(exp.LTE(this=col("ts", "e"), expression=moment))
    return query


def _event_columns(alias: str) -> list[exp.Expression]:
    """The columns of :func:`events`, read from the table ``alias``."""
    return [exp.alias_(col(n, alias), n) for n in ("unit_id", "seq", "us", "code")]


def _next(a: str, b: str, step: int) -> exp.Expression:
    """``b`` is the event ``step`` places after (or, negative, before) ``a`` for the unit."""
    return exp.and_(
        exp.EQ(this=col("unit_id", b), expression=col("unit_id", a)),
        exp.EQ(this=col("seq", b), expression=exp.Add(this=col("seq", a), expression=lit(step))),
    )


def _gap_ok(earlier: str, later: str, gap_us: int | None) -> exp.Expression:
    if gap_us is None:
        return exp.true()
    return exp.LTE(
        this=exp.Sub(this=col("us", later), expression=col("us", earlier)), expression=lit(gap_us)
    )


def compile_transitions(as_of: datetime | None, gap_us: int | None) -> exp.Select:
    """``from_code, to_code, transitions, units, median_us``: every directly-follows pair."""
    pairs = exp.select(
        exp.alias_(col("code", "a"), "from_code"),
        exp.alias_(col("code", "b"), "to_code"),
        exp.alias_(col("unit_id", "a"), "unit_id"),
        exp.alias_(exp.Sub(this=col("us", "b"), expression=col("us", "a")), "gap_us"),
    ).from_(exp.to_table("ev").as_("a"))
    pairs = pairs.join(exp.to_table("ev").as_("b"), on=_next("a", "b", 1))
    if gap_us is not None:
        pairs = pairs.where(_gap_ok("a", "b", gap_us))
    return (
        exp.select(
            col("from_code"),
            col("to_code"),
            exp.alias_(exp.Count(this=exp.Star()), "transitions"),
            exp.alias_(exp.Count(this=exp.Distinct(expressions=[col("unit_id")])), "units"),
            exp.alias_(exp.Median(this=col("gap_us")), "median_us"),
        )
        .from_(sub(pairs, "p"))
        .group_by(col("from_code"), col("to_code"))
        .order_by(col("from_code"), col("to_code"))
        .with_("ev", as_=events(as_of))
    )


def anchors(kind: str, code: int | None, gap_us: int | None) -> exp.Select:
    """Where paths start (or end): ``every`` event with the code, the ``first`` per unit, the
    first event of every unit (``code`` None), or every session's first event (``session``)."""
    if kind == "every":
        return (
            exp.select(col("unit_id"), col("seq"), col("us"), col("code"))
            .from_("ev")
            .where(exp.EQ(this=col("code"), expression=lit(code)))
        )
    if kind == "first":
        first = (
            exp.select(col("unit_id"), exp.alias_(exp.Min(this=col("seq")), "first_seq"))
            .from_("ev")
            .group_by(col("unit_id"))
        )
        if code is not None:
            first = first.where(exp.EQ(this=col("code"), expression=lit(code)))
        return (
            exp.select(*_event_columns("e"))
            .from_(exp.to_table("ev").as_("e"))
            .join(
                sub(first, "f"),
                on=exp.and_(
                    exp.EQ(this=col("unit_id", "e"), expression=col("unit_id", "f")),
                    exp.EQ(this=col("seq", "e"), expression=col("first_seq", "f")),
                ),
            )
        )
    assert kind == "session" and gap_us is not None
    starts = exp.or_(
        exp.Is(this=col("seq", "p"), expression=exp.null()),
        exp.GT(
            this=exp.Sub(this=col("us", "e"), expression=col("us", "p")), expression=lit(gap_us)
        ),
    )
    query = (
        exp.select(*_event_columns("e"))
        .from_(exp.to_table("ev").as_("e"))
        .join(exp.to_table("ev").as_("p"), join_type="LEFT", on=_next("e", "p", -1))
        .where(starts)
    )
    if code is not None:
        query = query.where(exp.EQ(this=col("code", "e"), expression=lit(code)))
    return query


def compile_chains(
    anchor: exp.Select, steps: int, *, backward: bool, gap_us: int | None, as_of: datetime | None
) -> exp.Select:
    """``c_0 … c_{steps-1}, occurrences, units``: the codes of the anchor and the events after
    it (before it, ``backward``), NULL past the unit's end (or the session's), grouped."""
    sign = -1 if backward else 1
    joined = exp.select(
        exp.alias_(col("unit_id", "a"), "unit_id"), exp.alias_(col("code", "a"), "k_0")
    ).from_(exp.to_table("anchor").as_("a"))
    alive: exp.Expression = exp.true()
    previous = "a"
    for i in range(1, steps):
        name = f"b{i}"
        joined = joined.join(
            exp.to_table("ev").as_(name), join_type="LEFT", on=_next("a", name, sign * i)
        )
        earlier, later = (name, previous) if backward else (previous, name)
        alive = exp.and_(
            alive,
            exp.Not(this=exp.Is(this=col("seq", name), expression=exp.null())),
            _gap_ok(earlier, later, gap_us),
        )
        joined = joined.select(
            exp.alias_(exp.Case(ifs=[exp.If(this=alive.copy(), true=col("code", name))]), f"k_{i}")
        )
        previous = name
    keys = [col(f"k_{i}") for i in range(steps)]
    return (
        exp.select(
            *keys,
            exp.alias_(exp.Count(this=exp.Star()), "occurrences"),
            exp.alias_(exp.Count(this=exp.Distinct(expressions=[col("unit_id")])), "units"),
        )
        .from_(sub(joined, "j"))
        .group_by(*keys)
        .with_("ev", as_=events(as_of))
        .with_("anchor", as_=anchor)
    )


def compile_between(start: int | None, end: int | None, as_of: datetime | None) -> exp.Select:
    """``unit_id, steps, seconds_us``: from each unit's first ``start`` event to the first
    ``end`` event after it (units without one: NULL)."""
    first = (
        exp.select(
            col("unit_id"),
            exp.alias_(exp.Min(this=col("seq")), "q0"),
            exp.alias_(exp.Min(this=col("us")), "u0"),
        )
        .from_("ev")
        .where(
            exp.EQ(this=col("code"), expression=lit(start)) if start is not None else exp.false()
        )
        .group_by(col("unit_id"))
    )
    ends = (
        exp.select(col("unit_id"), col("seq"), col("us"))
        .from_("ev")
        .where(exp.EQ(this=col("code"), expression=lit(end)) if end is not None else exp.false())
    )
    join = exp.Join(
        this=exp.to_table("ends").as_("b"),
        method="ASOF",
        side="LEFT",
        on=exp.and_(
            exp.EQ(this=col("unit_id", "a"), expression=col("unit_id", "b")),
            exp.LT(this=col("q0", "a"), expression=col("seq", "b")),
        ),
    )
    query = exp.select(
        exp.alias_(col("unit_name", "n"), "unit_id"),
        exp.alias_(exp.Sub(this=col("seq", "b"), expression=col("q0", "a")), "steps"),
        exp.alias_(exp.Sub(this=col("us", "b"), expression=col("u0", "a")), "seconds_us"),
    ).from_(exp.to_table("starts").as_("a"))
    query.append("joins", join)
    query = query.join(
        unit_names("customer").subquery("n"),
        on=exp.EQ(this=col("unit_id", "n"), expression=col("unit_id", "a")),
    )
    return (
        query.with_("ev", as_=events(as_of))
        .with_("starts", as_=first)
        .with_("ends", as_=ends)
        .order_by(col("unit_id"))
    )
