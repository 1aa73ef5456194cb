"""The best attempt of an ordered funnel without exclusions, by latest-start chains.

For a step-k event e, let ``L(e)`` be the latest start (step-1 event) of any chain of step
events 1 … k, in order, that ends at e. L of a step-1 event is the event itself; for k > 1,
L(e) is the L of the latest step-(k-1) event before e, because L never decreases along the
events of one step (it is a running maximum). So each step is one ASOF join of its events
against the previous step's, whatever the number of attempts. A chain ending at e fits the
window exactly when ``us(e) - us(L(e)) <= window`` (its later steps are its latest events),
and an event outside it can end no longer chain, so it is dropped at once.

The best attempt (docs/funnels.md) is then: the furthest step k with a chain inside the window,
its earliest such event e (earliest completion) and S = L(e) (latest start). Following the
attempt from S step by step (the first step-j event after step j-1) ends at e: an earlier
step-k end would be a chain inside the window ending before e. And its step j is the earliest
step-j event whose L is S: a step-1 event between S and the attempt's step j would start a
later chain to e, so L of that event is S, and an earlier step-j event with L = S would be
one the attempt takes first. So every number comes from the chains with hash aggregates.

Same results as :func:`journeylens.funnels.ordered.ordered_attempts` (tests check it); far
fewer rows: no join of every attempt with every later event.
"""

from __future__ import annotations

from sqlglot import exp

from journeylens.funnels.parts import sub, within
from journeylens.funnels.spec import FunnelSpec
from journeylens.sql import col, lit

__all__ = ["KEY_DONE", "KEY_STEP", "chain_best", "rank_key"]

KEY_STEP = 2**56
KEY_DONE = 2**28
"""Attempts are ranked by one integer: steps reached, then how early the furthest step was
reached (its ``seq``), then how late the attempt started (its ``seq``); seq < 2**28."""


def _eq(a: exp.Expression, b: exp.Expression) -> exp.Expression:
    return exp.EQ(this=a, expression=b)


def _chains(i: int, events: exp.Select, window_us: int | None) -> exp.Select:
    """Step-i ``events`` with the start of the latest chain ending at each (``b_seq``,
    ``b_us``), only those inside the window."""
    if i == 1:
        return exp.select(
            col("unit_id"),
            col("seq"),
            col("us"),
            exp.alias_(col("seq"), "b_seq"),
            exp.alias_(col("us"), "b_us"),
        ).from_(events.subquery("s"))
    if window_us is not None:
        return _chains_in_window(i, events, window_us)
    query = exp.select(
        exp.alias_(col("unit_id", "e"), "unit_id"),
        exp.alias_(col("seq", "e"), "seq"),
        exp.alias_(col("us", "e"), "us"),
        exp.alias_(col("b_seq", "p"), "b_seq"),
        exp.alias_(col("b_us", "p"), "b_us"),
    ).from_(events.subquery("e"))
    query.append(
        "joins",
        exp.Join(
            this=exp.to_table(f"c_{i - 1}").as_("p"),
            method="ASOF",
            on=exp.and_(
                _eq(col("unit_id", "e"), col("unit_id", "p")),
                exp.GT(this=col("seq", "e"), expression=col("seq", "p")),
            ),
        ),
    )
    if window_us is not None:
        query = query.where(within(col("us", "e"), col("b_us", "p"), window_us))
    return query


def _chains_in_window(i: int, events: exp.Select, window_us: int) -> exp.Select:
    """:func:`_chains` with a window, as a hash join: each step-i event with the previous
    step's chains that end before it and start inside the window, keeping the latest start.
    Since L never decreases, that is L of the latest previous-step event before it when that
    chain fits the window, and nothing otherwise, as in the ASOF form; but only pairs inside
    the window are formed, and the step-i events (the smaller side) are the hash table."""
    keys = [col("unit_id", "e"), col("seq", "e"), col("us", "e")]
    return (
        exp.select(
            exp.alias_(col("unit_id", "e"), "unit_id"),
            exp.alias_(col("seq", "e"), "seq"),
            exp.alias_(col("us", "e"), "us"),
            exp.alias_(exp.Max(this=col("b_seq", "p")), "b_seq"),
            exp.alias_(exp.Max(this=col("b_us", "p")), "b_us"),
        )
        .from_(exp.to_table(f"c_{i - 1}").as_("p"))
        .join(events.subquery("e"), on=_eq(col("unit_id", "e"), col("unit_id", "p")))
        .where(
            exp.and_(
                exp.GT(this=col("seq", "e"), expression=col("seq", "p")),
                within(col("us", "e"), col("b_us", "p"), window_us),
            )
        )
        .group_by(*keys)
    )


def rank_key(
    reached: exp.Expression, done_seq: exp.Expression, start_seq: exp.Expression
) -> exp.Expression:
    """The rank of an attempt as one integer (see ``KEY_STEP``): steps reached, then earliest
    completion, then latest start."""
    done = exp.Mul(
        this=exp.paren(exp.Sub(this=lit(KEY_DONE - 1), expression=done_seq)),
        expression=lit(KEY_DONE),
    )
    step = exp.Add(this=exp.Mul(this=reached, expression=lit(KEY_STEP)), expression=done)
    return exp.Add(this=step, expression=start_seq)


def chain_best(
    spec: FunnelSpec,
    window_us: int | None,
    ctes: list[tuple[str, exp.Expression]],
    step_events: list[exp.Select],
) -> exp.Select:
    """One row per unit: ``unit_id, reached, start_us, u_1 … u_n, last_start_us, q_1 … q_n``.
    ``step_events[i]``: ``unit_id, seq, us`` of the events that match step i + 1. Adds its
    CTEs to ``ctes``."""
    n = len(spec.steps)
    # the step events are subqueries (of the caller's step-event CTE), each read where needed
    for i in range(1, n + 1):
        ctes.append((f"c_{i}", _chains(i, step_events[i - 1].copy(), window_us)))
    # attempts that reach step 1 only: the unit's first step-1 event is the best of them
    firsts = (
        exp.select(
            col("unit_id"),
            exp.alias_(exp.Min(this=col("seq")), "first_seq"),
            exp.alias_(exp.Min(this=col("us")), "first_us"),
            exp.alias_(exp.Max(this=col("us")), "latest_us"),
        )
        .from_(step_events[0].subquery("s"))
        .group_by(col("unit_id"))
    )
    ranks = [
        exp.select(
            col("unit_id"),
            exp.alias_(rank_key(lit(1), col("first_seq"), col("first_seq")), "rank_key"),
            exp.alias_(col("first_us"), "b_us"),
            exp.alias_(col("latest_us"), "last_us"),
        ).from_(firsts.subquery("f"))
    ]
    ranks += [
        exp.select(
            col("unit_id"),
            exp.alias_(rank_key(lit(i), col("seq"), col("b_seq")), "rank_key"),
            col("b_us"),
            exp.alias_(exp.cast(exp.null(), "BIGINT"), "last_us"),
        ).from_(f"c_{i}")
        for i in range(2, n + 1)
    ]
    union: exp.Expression = ranks[0]
    for other in ranks[1:]:
        union = exp.union(union, other, distinct=False)
    key = col("rank_key")
    best = (
        exp.select(
            col("unit_id"),
            exp.alias_(exp.IntDiv(this=exp.Max(this=key), expression=lit(KEY_STEP)), "reached"),
            exp.alias_(exp.Mod(this=exp.Max(this=key), expression=lit(KEY_DONE)), "q_1"),
            exp.alias_(exp.ArgMax(this=col("b_us"), expression=key), "u_1"),
            exp.alias_(exp.Max(this=col("last_us")), "last_start_us"),
        )
        .from_(sub(union, "r"))
        .group_by(col("unit_id"))
    )
    ctes.append(("best", best))
    query = exp.select(
        exp.alias_(col("unit_id", "a"), "unit_id"),
        exp.alias_(col("reached", "a"), "reached"),
        exp.alias_(col("u_1", "a"), "start_us"),
        exp.alias_(col("u_1", "a"), "u_1"),
        *[exp.alias_(col("u", f"g_{j}"), f"u_{j}") for j in range(2, n + 1)],
        exp.alias_(col("last_start_us", "a"), "last_start_us"),
        exp.alias_(col("q_1", "a"), "q_1"),
        *[exp.alias_(col("q", f"g_{j}"), f"q_{j}") for j in range(2, n + 1)],
    ).from_(exp.to_table("best").as_("a"))
    for j in range(2, n + 1):
        # the attempt's step j: the earliest step-j event whose latest chain starts at q_1
        steps = (
            exp.select(
                col("unit_id"),
                col("b_seq"),
                exp.alias_(exp.Min(this=col("seq")), "q"),
                exp.alias_(exp.Min(this=col("us")), "u"),
            )
            .from_(f"c_{j}")
            .group_by(col("unit_id"), col("b_seq"))
        )
        query = query.join(
            steps.subquery(f"g_{j}"),
            join_type="LEFT",
            on=exp.and_(
                _eq(col("unit_id", f"g_{j}"), col("unit_id", "a")),
                _eq(col("b_seq", f"g_{j}"), col("q_1", "a")),
            ),
        )
    return query
