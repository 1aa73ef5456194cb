"""Attempts of unordered funnels: all steps within the window, in any order."""

from __future__ import annotations

from sqlglot import exp

from journeylens.funnels.parts import asof_next, events_of, sum_not_null, within
from journeylens.funnels.spec import FunnelSpec
from journeylens.sql import col, lit

__all__ = ["unordered_attempts"]


def unordered_attempts(
    spec: FunnelSpec,
    window_us: int | None,
    ctes: list[tuple[str, exp.Expression]],
    filters: list[exp.Expression],
) -> tuple[exp.Select, exp.Expression | None]:
    """Attempts of an unordered funnel: from every event that matches some step, the first
    event of each step at or after it within the window (an event may serve several steps)."""
    n = len(spec.steps)
    for i, match in enumerate(filters, 1):
        ctes.append((f"s_{i}", events_of(match)))
    starts = exp.or_(*[match.copy() for match in filters])
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
        inside = within(col("us", "b"), col("u_0", "a"), window_us)
        step = [
            exp.alias_(exp.Case(ifs=[exp.If(this=inside, true=col("seq", "b"))]), f"q_{i}"),
            exp.alias_(exp.Case(ifs=[exp.If(this=inside, true=col("us", "b"))]), f"u_{i}"),
        ]
        query = exp.select(*carried, *step).from_(exp.to_table(f"a_{i - 1}").as_("a"))
        query.append("joins", asof_next(exp.to_table(f"s_{i}").as_("b"), "q_0", inclusive=True))
        ctes.append((f"a_{i}", query))
    done = exp.Greatest(
        this=exp.Coalesce(this=col("q_1"), expressions=[lit(0)]),
        expressions=[
            exp.Coalesce(this=col(f"q_{j}"), expressions=[lit(0)]) for j in range(2, n + 1)
        ],
    )
    attempts = exp.select(
        col("unit_id"),
        exp.alias_(sum_not_null([f"q_{j}" for j in range(1, n + 1)]), "reached"),
        exp.alias_(done, "done_seq"),
        exp.alias_(col("q_0"), "start_seq"),
        exp.alias_(col("u_0"), "start_us"),
        *[col(f"u_{j}") for j in range(1, n + 1)],
        *[col(f"q_{j}") for j in range(1, n + 1)],
    ).from_(f"a_{n}")
    return attempts, None
