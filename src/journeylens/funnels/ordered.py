"""Attempts of ordered and strict funnels, one per step-1 event (the general compiler: any
exclusions, strict order); ordered funnels without exclusions use :mod:`chain` instead."""

from __future__ import annotations

from sqlglot import exp

from journeylens.funnels.parts import asof_next, events_of, flag, sub, sum_not_null, within
from journeylens.funnels.spec import FunnelSpec
from journeylens.sql import col, lit

__all__ = ["ordered_attempts"]


def _next_by_join(carried: list[exp.Expression], i: int, window_us: int | None) -> exp.Select:
    """Step i of every attempt: the first step-i event after step i-1 and inside the window, as
    a minimum over the unit's step-i events (a hash join on the unit and an aggregate)."""
    after = exp.and_(
        exp.GT(this=col("seq", "b"), expression=col(f"q_{i - 1}", "a")),
        within(col("us", "b"), col("u_1", "a"), window_us),
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
    return exp.select("*").from_(sub(union, "starts"))


def ordered_attempts(
    spec: FunnelSpec,
    window_us: int | None,
    ctes: list[tuple[str, exp.Expression]],
    filters: list[exp.Expression],
) -> tuple[exp.Select, exp.Expression | None]:
    """Attempts of an ordered or strict funnel: from every step-1 event, step k is the first
    step-k event after step k-1's (ordered) or the very next event if it matches (strict)."""
    n = len(spec.steps)
    for i, match in enumerate(filters, 1):
        ctes.append((f"s_{i}", events_of(match)))
    ctes.append(("a_1", _starts(spec)))
    for i in range(2, n + 1):
        carried = [exp.alias_(col("unit_id", "a"), "unit_id")]
        for j in range(1, i):
            carried += [
                exp.alias_(col(f"q_{j}", "a"), f"q_{j}"),
                exp.alias_(col(f"u_{j}", "a"), f"u_{j}"),
            ]
        inside = within(col("us", "b"), col("u_1", "a"), window_us)
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
        ctes.append((f"xs_{k}", events_of(f"x_{k}")))
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
                    within(col("us", "b"), col("u_1", "a"), window_us),
                ),
            ),
        )
        query = exp.select(*carried, exp.alias_(flag(hit), f"bad_{k}")).from_(
            exp.to_table(last).as_("a")
        )
        query.append("joins", asof_next(exp.to_table(f"xs_{k}").as_("b"), f"q_{i}"))
        last = f"ax_{k}"
        ctes.append((last, query))
        keep.append(exp.EQ(this=col(f"bad_{k}"), expression=lit(0)))
    reached = exp.Add(
        this=lit(1),
        expression=exp.paren(
            exp.Add(
                this=lit(0),
                expression=sum_not_null([f"q_{j}" for j in range(2, n + 1)]),
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
