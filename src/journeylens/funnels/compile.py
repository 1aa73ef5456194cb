"""A funnel compiled to one SQL query over ``customer_events`` (pure: no connection, no dialect).

The query returns one row per unit (customer or account) that started at least one valid
attempt: its **best attempt** (docs/funnels.md) as ``reached`` (steps reached) and ``u_1 … u_n``
(epoch microseconds of the events that matched each step; NULL past ``reached``), plus
``last_start_us`` (the latest valid attempt start, to tell open windows from drop-offs) and
``breakdown`` when asked.

Only filters, hash aggregates, hash joins and ASOF joins (the next matching event after a given
one) are used: no window over all events, and the same SQL runs on DuckDB and ClickHouse.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlglot import exp

from journeylens.funnels.spec import FunnelSpec, Step
from journeylens.sql import col, lit
from journeylens.stages.sqlparts import condition, epoch_us, json_text, true_or_false

__all__ = ["compile_funnel", "step_match", "unit_events"]

_KEY_STEP = 2**56
_KEY_DONE = 2**28
"""Attempts are ranked by one integer: steps reached, then how early the furthest step was
reached (its ``seq``), then how late the attempt started (its ``seq``); seq < 2**28."""


def step_match(step: Step, codes: Mapping[str, int] | None) -> exp.Expression:
    """Does an event match the step? Names compare as ``event_code`` when ``codes`` is given."""
    kind: exp.Expression
    if step.event is None:
        kind = exp.true()
    elif codes is None:
        kind = exp.EQ(this=col("event"), expression=lit(step.event))
    elif step.event in codes:
        kind = exp.EQ(this=col("event_code"), expression=lit(codes[step.event]))
    else:
        kind = exp.false()
    conditions = [true_or_false(condition("properties", c)) for c in step.where]
    return exp.and_(kind, *conditions) if conditions else kind


def unit_events(count_by: str, as_of: datetime | None, extra: tuple[str, ...] = ()) -> exp.Select:
    """``unit_id, seq, ts, event, event_code, properties, …extra`` of every event up to
    ``as_of``: customers read ``customer_events`` as stored; accounts read their members'
    events, numbered again per account in (ts, event_id) order."""
    names = ("ts", "event", "event_code", "properties", *extra)
    fields = [exp.alias_(col(n, "e"), n) for n in names]
    if count_by == "customer":
        query = exp.select(
            exp.alias_(col("customer_id", "e"), "unit_id"),
            exp.alias_(col("seq", "e"), "seq"),
            *fields,
        ).from_(exp.to_table("customer_events").as_("e"))
    else:
        seq = exp.Window(
            this=exp.RowNumber(),
            partition_by=[col("account_id", "m")],
            order=exp.Order(
                expressions=[
                    exp.Ordered(this=col("ts", "e"), nulls_first=False),
                    exp.Ordered(this=col("event_id", "e"), nulls_first=False),
                ]
            ),
        )
        query = (
            exp.select(
                exp.alias_(col("account_id", "m"), "unit_id"), exp.alias_(seq, "seq"), *fields
            )
            .from_(exp.to_table("customer_events").as_("e"))
            .join(
                exp.to_table("account_members").as_("m"),
                on=exp.EQ(this=col("customer_id", "m"), expression=col("customer_id", "e")),
            )
        )
    if as_of is not None:
        query = query.where(exp.LTE(this=col("ts", "e"), expression=_ts_literal(as_of)))
    return query


def _ts_literal(moment: datetime) -> exp.Expression:
    micros = lit(epoch_us(moment))
    return exp.UnixToTime(this=micros, scale=exp.UnixToTime.MICROS)


def _sub(query: exp.Expression, alias: str) -> exp.Subquery:
    return exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _is_one(name: str) -> exp.Expression:
    return exp.EQ(this=col(name), expression=lit(1))


def _flag(cond: exp.Expression) -> exp.Expression:
    return exp.Case(ifs=[exp.If(this=cond, true=lit(1))], default=lit(0))


def _events_of(flag: str) -> exp.Select:
    return exp.select("unit_id", "seq", "us").from_("ev").where(_is_one(flag))


def _within(us: exp.Expression, start: exp.Expression, window_us: int | None) -> exp.Expression:
    if window_us is None:
        return exp.Not(this=exp.Is(this=us, expression=exp.null()))
    return exp.LTE(this=exp.Sub(this=us, expression=start), expression=lit(window_us))


def _asof_next(right: exp.Expression, after: str, *, inclusive: bool = False) -> exp.Join:
    """``left ASOF LEFT JOIN right``: for each left row, the first right event of the same unit
    whose seq is after ``left.after`` (or at it, when ``inclusive``)."""
    compare = exp.LTE if inclusive else exp.LT
    return exp.Join(
        this=right,
        method="ASOF",
        side="LEFT",
        on=exp.and_(
            exp.EQ(this=col("unit_id", "a"), expression=col("unit_id", "b")),
            compare(this=col(after, "a"), expression=col("seq", "b")),
        ),
    )


def compile_funnel(
    spec: FunnelSpec, codes: Mapping[str, int] | None = None, as_of: datetime | None = None
) -> exp.Select:
    """The best attempt of every unit, one row per unit (see the module docstring)."""
    n = len(spec.steps)
    window_us = None if spec.window_seconds is None else round(spec.window_seconds * 1_000_000)
    extra: tuple[str, ...] = ()
    if spec.breakdown in ("channel", "source"):
        extra = (spec.breakdown,)
    raw = unit_events(spec.count_by, as_of, extra)
    flags = [exp.alias_(_flag(step_match(s, codes)), f"m_{i}") for i, s in enumerate(spec.steps, 1)]
    flags += [
        exp.alias_(_flag(step_match(x.step, codes)), f"x_{k}")
        for k, x in enumerate(spec.exclusions, 1)
    ]
    any_match = exp.or_(
        *[step_match(s, codes) for s in spec.steps],
        *[step_match(x.step, codes) for x in spec.exclusions],
    )
    ev = (
        exp.select(
            col("unit_id"), col("seq"), exp.alias_(exp.UnixMicros(this=col("ts")), "us"), *flags
        )
        .from_(_sub(raw, "r"))
        .where(any_match)
    )
    ctes: list[tuple[str, exp.Expression]] = [("ev", ev)]
    if spec.order == "unordered":
        attempts, keep = _unordered(spec, window_us, ctes)
    else:
        attempts, keep = _ordered(spec, window_us, ctes)
    ctes.append(("att", attempts))
    valid = exp.select("*").from_("att")
    if keep is not None:
        valid = valid.where(keep)
    ctes.append(("ok", valid))
    # the rank of an attempt: furthest step, then earliest completion, then latest start
    rank = exp.Add(
        this=exp.Add(
            this=exp.Mul(this=col("reached"), expression=lit(_KEY_STEP)),
            expression=exp.Mul(
                this=exp.paren(exp.Sub(this=lit(_KEY_DONE - 1), expression=col("done_seq"))),
                expression=lit(_KEY_DONE),
            ),
        ),
        expression=col("start_seq"),
    )
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
    outputs: list[exp.Expression] = [
        exp.alias_(col("unit_id", "o"), "unit_id"),
        exp.alias_(col("reached", "o"), "reached"),
        exp.alias_(col("start_us", "o"), "start_us"),
        *[exp.alias_(col(f"u_{i}", "o"), f"u_{i}") for i in range(1, n + 1)],
        exp.alias_(col("last_start_us", "k"), "last_start_us"),
    ]
    query = (
        exp.select(*outputs)
        .from_(exp.to_table("ok").as_("o"))
        .join(
            exp.to_table("best").as_("k"),
            on=exp.and_(
                exp.EQ(this=col("unit_id", "o"), expression=col("unit_id", "k")),
                exp.EQ(this=rank.transform(_qualify("o")), expression=col("best_key", "k")),
            ),
        )
    )
    if spec.breakdown is not None:
        step = "start_seq" if spec.order == "unordered" else f"q_{spec.breakdown_step}"
        query = query.select(exp.alias_(col(step, "o"), "break_seq"))
        query = _with_breakdown(spec, query, raw)
    for name, cte in ctes:
        query = query.with_(name, as_=cte)
    return query.order_by(col("unit_id"))


def _qualify(alias: str) -> exp.Expression:
    def fn(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table:
            return col(node.name, alias)
        return node

    return fn  # type: ignore[return-value]


def _next_by_join(carried: list[exp.Expression], i: int, window_us: int | None) -> exp.Select:
    """Step i of every attempt: the first step-i event after step i-1 and inside the window, as
    a minimum over the unit's step-i events (a hash join on the unit and an aggregate)."""
    after = exp.and_(
        exp.GT(this=col("seq", "b"), expression=col(f"q_{i - 1}", "a")),
        _within(col("us", "b"), col("u_1", "a"), window_us),
    )
    first = [
        exp.alias_(exp.Min(this=exp.Case(ifs=[exp.If(this=after.copy(), true=col(c, "b"))])), n)
        for c, n in (("seq", f"q_{i}"), ("us", f"u_{i}"))
    ]
    return (
        exp.select(*carried, *first)
        .from_(exp.to_table(f"a_{i - 1}").as_("a"))
        .join(
            exp.to_table(f"s_{i}").as_("b"),
            join_type="LEFT",
            on=exp.EQ(this=col("unit_id", "a"), expression=col("unit_id", "b")),
        )
        .group_by(*[c.this for c in carried])
    )


def _starts(spec: FunnelSpec) -> exp.Select:
    """The attempt starts worth following: every step-1 event; or, in an ordered funnel without
    exclusions, only those that can be best — for each step-2 event the latest step-1 event
    before it (earlier ones share its chain with a shorter window), and each unit's first and
    last step-1 event (the best of units that never reach step 2, and the latest start)."""
    every = exp.select(
        col("unit_id"), exp.alias_(col("seq"), "q_1"), exp.alias_(col("us"), "u_1")
    ).from_("s_1")
    if spec.order != "ordered" or spec.exclusions:
        return every
    latest = exp.select(
        exp.alias_(col("unit_id", "b"), "unit_id"),
        exp.alias_(col("seq", "b"), "q_1"),
        exp.alias_(col("us", "b"), "u_1"),
    ).from_(exp.to_table("s_2").as_("a"))
    latest.append(
        "joins",
        exp.Join(
            this=exp.to_table("s_1").as_("b"),
            method="ASOF",
            on=exp.and_(
                exp.EQ(this=col("unit_id", "a"), expression=col("unit_id", "b")),
                exp.GT(this=col("seq", "a"), expression=col("seq", "b")),
            ),
        ),
    )
    ends = [
        exp.select(
            col("unit_id"),
            exp.alias_(agg(this=col("seq")), "q_1"),
            exp.alias_(agg(this=col("us")), "u_1"),
        )
        .from_("s_1")
        .group_by(col("unit_id"))
        for agg in (exp.Min, exp.Max)
    ]
    union = exp.union(exp.union(latest, ends[0], distinct=True), ends[1], distinct=True)
    return exp.select("*").from_(_sub(union, "starts"))


def _ordered(
    spec: FunnelSpec, window_us: int | None, ctes: list[tuple[str, exp.Expression]]
) -> tuple[exp.Select, exp.Expression | None]:
    """Attempts of an ordered or strict funnel: from every step-1 event, step k is the first
    step-k event after step k-1's (ordered) or the very next event if it matches (strict)."""
    n = len(spec.steps)
    for i in range(1, n + 1):
        ctes.append((f"s_{i}", _events_of(f"m_{i}")))
    ctes.append(("a_1", _starts(spec)))
    for i in range(2, n + 1):
        carried = [exp.alias_(col("unit_id", "a"), "unit_id")]
        for j in range(1, i):
            carried += [
                exp.alias_(col(f"q_{j}", "a"), f"q_{j}"),
                exp.alias_(col(f"u_{j}", "a"), f"u_{j}"),
            ]
        inside = _within(col("us", "b"), col("u_1", "a"), window_us)
        step = [
            exp.alias_(exp.Case(ifs=[exp.If(this=inside, true=col("seq", "b"))]), f"q_{i}"),
            exp.alias_(exp.Case(ifs=[exp.If(this=inside, true=col("us", "b"))]), f"u_{i}"),
        ]
        query = exp.select(*carried, *step).from_(exp.to_table(f"a_{i - 1}").as_("a"))
        if spec.order == "strict":
            query = query.join(
                exp.to_table(f"s_{i}").as_("b"),
                join_type="LEFT",
                on=exp.and_(
                    exp.EQ(this=col("unit_id", "a"), expression=col("unit_id", "b")),
                    exp.EQ(
                        this=col("seq", "b"),
                        expression=exp.Add(this=col(f"q_{i - 1}", "a"), expression=lit(1)),
                    ),
                ),
            )
        else:
            query = _next_by_join(carried, i, window_us)
        ctes.append((f"a_{i}", query))
    # exclusions: the next excluded event after the from-step event
    last = f"a_{n}"
    keep: list[exp.Expression] = []
    for k, exclusion in enumerate(spec.exclusions, 1):
        ctes.append((f"xs_{k}", _events_of(f"x_{k}")))
        carried = [exp.alias_(col("unit_id", "a"), "unit_id")]
        for j in range(1, n + 1):
            carried += [
                exp.alias_(col(f"q_{j}", "a"), f"q_{j}"),
                exp.alias_(col(f"u_{j}", "a"), f"u_{j}"),
            ]
        carried += [exp.alias_(col(f"bad_{m}", "a"), f"bad_{m}") for m in range(1, k)]
        i, j = exclusion.from_step, exclusion.to_step
        hit = exp.and_(
            exp.Not(this=exp.Is(this=col("seq", "b"), expression=exp.null())),
            exp.Not(this=exp.Is(this=col(f"q_{i}", "a"), expression=exp.null())),
            exp.or_(
                exp.and_(
                    exp.Not(this=exp.Is(this=col(f"q_{j}", "a"), expression=exp.null())),
                    exp.LT(this=col("seq", "b"), expression=col(f"q_{j}", "a")),
                ),
                exp.and_(
                    exp.Is(this=col(f"q_{j}", "a"), expression=exp.null()),
                    _within(col("us", "b"), col("u_1", "a"), window_us),
                ),
            ),
        )
        query = exp.select(*carried, exp.alias_(_flag(hit), f"bad_{k}")).from_(
            exp.to_table(last).as_("a")
        )
        query.append("joins", _asof_next(exp.to_table(f"xs_{k}").as_("b"), f"q_{i}"))
        last = f"ax_{k}"
        ctes.append((last, query))
        keep.append(exp.EQ(this=col(f"bad_{k}"), expression=lit(0)))
    reached = exp.Add(
        this=lit(1),
        expression=exp.paren(
            exp.Add(
                this=lit(0),
                expression=_sum_not_null([f"q_{j}" for j in range(2, n + 1)]),
            )
        ),
    )
    done = exp.Coalesce(
        this=col(f"q_{n}"), expressions=[col(f"q_{j}") for j in range(n - 1, 0, -1)]
    )
    attempts = exp.select(
        col("unit_id"),
        exp.alias_(reached, "reached"),
        exp.alias_(done, "done_seq"),
        exp.alias_(col("q_1"), "start_seq"),
        exp.alias_(col("u_1"), "start_us"),
        *[col(f"u_{j}") for j in range(1, n + 1)],
        *[col(f"bad_{k}") for k in range(1, len(spec.exclusions) + 1)],
        *[col(f"q_{j}") for j in range(1, n + 1)],
    ).from_(last)
    return attempts, exp.and_(*keep) if keep else None


def _sum_not_null(names: list[str]) -> exp.Expression:
    terms: exp.Expression = lit(0)
    for name in names:
        terms = exp.Add(
            this=terms,
            expression=_flag(exp.Not(this=exp.Is(this=col(name), expression=exp.null()))),
        )
    return terms


def _unordered(
    spec: FunnelSpec, window_us: int | None, ctes: list[tuple[str, exp.Expression]]
) -> tuple[exp.Select, exp.Expression | None]:
    """Attempts of an unordered funnel: from every event that matches some step, the first
    event of each step at or after it within the window (an event may serve several steps)."""
    n = len(spec.steps)
    for i in range(1, n + 1):
        ctes.append((f"s_{i}", _events_of(f"m_{i}")))
    starts = exp.or_(*[_is_one(f"m_{i}") for i in range(1, n + 1)])
    ctes.append(
        (
            "a_0",
            exp.select(col("unit_id"), exp.alias_(col("seq"), "q_0"), exp.alias_(col("us"), "u_0"))
            .from_("ev")
            .where(starts),
        )
    )
    for i in range(1, n + 1):
        carried = [
            exp.alias_(col("unit_id", "a"), "unit_id"),
            exp.alias_(col("q_0", "a"), "q_0"),
            exp.alias_(col("u_0", "a"), "u_0"),
        ]
        for j in range(1, i):
            carried += [
                exp.alias_(col(f"q_{j}", "a"), f"q_{j}"),
                exp.alias_(col(f"u_{j}", "a"), f"u_{j}"),
            ]
        inside = _within(col("us", "b"), col("u_0", "a"), window_us)
        step = [
            exp.alias_(exp.Case(ifs=[exp.If(this=inside, true=col("seq", "b"))]), f"q_{i}"),
            exp.alias_(exp.Case(ifs=[exp.If(this=inside, true=col("us", "b"))]), f"u_{i}"),
        ]
        query = exp.select(*carried, *step).from_(exp.to_table(f"a_{i - 1}").as_("a"))
        query.append("joins", _asof_next(exp.to_table(f"s_{i}").as_("b"), "q_0", inclusive=True))
        ctes.append((f"a_{i}", query))
    done = exp.Greatest(
        this=exp.Coalesce(this=col("q_1"), expressions=[lit(0)]),
        expressions=[
            exp.Coalesce(this=col(f"q_{j}"), expressions=[lit(0)]) for j in range(2, n + 1)
        ],
    )
    attempts = exp.select(
        col("unit_id"),
        exp.alias_(_sum_not_null([f"q_{j}" for j in range(1, n + 1)]), "reached"),
        exp.alias_(done, "done_seq"),
        exp.alias_(col("q_0"), "start_seq"),
        exp.alias_(col("u_0"), "start_us"),
        *[col(f"u_{j}") for j in range(1, n + 1)],
        *[col(f"q_{j}") for j in range(1, n + 1)],
    ).from_(f"a_{n}")
    return attempts, None


def _breakdown_values(spec: FunnelSpec, raw: exp.Select) -> exp.Select:
    """``unit_id, seq, breakdown`` of every event, or ``unit_id, breakdown`` of every unit."""
    assert spec.breakdown is not None
    kind, _, name = spec.breakdown.partition(":")
    if kind == "trait":
        if spec.count_by == "customer":
            key, table = "customer_id", "customer_profiles"
        else:
            key, table = "account_id", "accounts"
        return exp.select(
            exp.alias_(col(key, "p"), "unit_id"),
            exp.alias_(json_text("traits", name), "breakdown"),
        ).from_(exp.to_table(table).as_("p"))
    value = json_text("properties", name) if kind == "property" else col(spec.breakdown)
    return exp.select(col("unit_id"), col("seq"), exp.alias_(value, "breakdown")).from_(
        _sub(raw, "r")
    )


def _with_breakdown(spec: FunnelSpec, query: exp.Select, raw: exp.Select) -> exp.Select:
    """The breakdown value of each unit: of its best attempt's step ``breakdown_step`` event (or
    of the unit, for a trait); NULL when that step was not reached or the value is missing."""
    values = _breakdown_values(spec, raw)
    names = [e.alias_or_name for e in query.expressions]
    outer = exp.select(
        *[exp.alias_(col(n, "f"), n) for n in names if n != "break_seq"],
        exp.alias_(col("breakdown", "d"), "breakdown"),
    ).from_(_sub(query, "f"))
    on = exp.EQ(this=col("unit_id", "f"), expression=col("unit_id", "d"))
    if spec.breakdown is not None and not spec.breakdown.startswith("trait:"):
        on = exp.and_(on, exp.EQ(this=col("break_seq", "f"), expression=col("seq", "d")))
    return outer.join(_sub(values, "d"), join_type="LEFT", on=on)
