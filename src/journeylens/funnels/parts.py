"""SQL pieces shared by the funnel compilers: the unit's events, step matching, ASOF joins."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlglot import exp

from journeylens.funnels.spec import Step
from journeylens.sql import col, lit
from journeylens.stages.sqlparts import condition, epoch_us, true_or_false

__all__ = [
    "asof_next",
    "events_of",
    "flag",
    "is_one",
    "qualify",
    "session_starts",
    "step_filters",
    "step_match",
    "sub",
    "sum_not_null",
    "ts_literal",
    "unit_events",
    "unit_names",
    "within",
]


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


def unit_events(
    count_by: str,
    as_of: datetime | None,
    extra: tuple[str, ...] = (),
    session_gap_us: int = 1_800_000_000,
) -> exp.Select:
    """``unit_id, seq, ts, event, event_code, properties, …extra`` of every event up to
    ``as_of``: customers read ``customer_events`` as stored, identified by the integer
    ``customer_key`` (cheaper to join, sort and group by than the customer id: see
    :func:`unit_names`); accounts read their members' events, numbered again per account in
    (ts, event_id) order, identified by the account id; sessions are identified as
    ``<customer id>#<seq of the session's first event>``."""
    names = ("ts", "event", "event_code", "properties", *extra)
    fields = [exp.alias_(col(n, "e"), n) for n in names]
    if count_by == "session":
        starts = session_starts(session_gap_us)
        name = exp.DPipe(
            this=exp.DPipe(this=col("customer_id", "e"), expression=lit("#")),
            expression=exp.cast(col("seq", "s"), "VARCHAR"),
            safe=True,
        )
        query = exp.select(
            exp.alias_(name, "unit_id"), exp.alias_(col("seq", "e"), "seq"), *fields
        ).from_(exp.to_table("customer_events").as_("e"))
        query.append(
            "joins",
            exp.Join(
                this=starts.subquery("s"),
                method="ASOF",
                on=exp.and_(
                    exp.EQ(this=col("customer_key", "s"), expression=col("customer_key", "e")),
                    exp.GTE(this=col("seq", "e"), expression=col("seq", "s")),
                ),
            ),
        )
    elif count_by == "customer":
        query = exp.select(
            exp.alias_(col("customer_key", "e"), "unit_id"),
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
                exp.alias_(col("account_id", "m"), "unit_id"),
                exp.alias_(seq, "seq"),
                *fields,
            )
            .from_(exp.to_table("customer_events").as_("e"))
            .join(
                exp.to_table("account_members").as_("m"),
                on=exp.EQ(this=col("customer_id", "m"), expression=col("customer_id", "e")),
            )
        )
    if as_of is not None:
        query = query.where(exp.LTE(this=col("ts", "e"), expression=ts_literal(as_of)))
    return query


def session_starts(gap_us: int) -> exp.Select:
    """``customer_key, seq`` of every event that starts a session: a customer's first event, or
    one more than ``gap_us`` after the customer's previous event."""
    previous = exp.and_(
        exp.EQ(this=col("customer_key", "p"), expression=col("customer_key", "e")),
        exp.EQ(this=col("seq", "p"), expression=exp.Sub(this=col("seq", "e"), expression=lit(1))),
    )
    gap = exp.Sub(
        this=exp.UnixMicros(this=col("ts", "e")), expression=exp.UnixMicros(this=col("ts", "p"))
    )
    return (
        exp.select(
            exp.alias_(col("customer_key", "e"), "customer_key"),
            exp.alias_(col("seq", "e"), "seq"),
        )
        .from_(exp.to_table("customer_events").as_("e"))
        .join(exp.to_table("customer_events").as_("p"), join_type="LEFT", on=previous)
        .where(
            exp.or_(
                exp.Is(this=col("seq", "p"), expression=exp.null()),
                exp.GT(this=gap, expression=lit(gap_us)),
            )
        )
    )


def unit_names(count_by: str, *, profiles: bool = False) -> exp.Select:
    """``unit_id, unit_name``: the customer id of each ``customer_key``, read from each
    customer's first event (``seq`` 1) so that only one row per customer leaves the scan, or
    with ``profiles`` from ``customer_profiles`` (one row per customer: cheaper; identity
    resolution writes its ``customer_key``); accounts are their own names."""
    if count_by == "customer":
        source = exp.select(
            exp.alias_(col("customer_key"), "unit_id"),
            exp.alias_(col("customer_id"), "unit_name"),
        )
        if profiles:
            return source.from_("customer_profiles")
        return source.from_("customer_events").where(exp.EQ(this=col("seq"), expression=lit(1)))
    return exp.select(
        exp.alias_(col("account_id"), "unit_id"), exp.alias_(col("account_id"), "unit_name")
    ).from_("accounts")


def ts_literal(moment: datetime) -> exp.Expression:
    micros = lit(epoch_us(moment))
    return exp.UnixToTime(this=micros, scale=exp.UnixToTime.MICROS)


def sub(query: exp.Expression, alias: str) -> exp.Subquery:
    return exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def is_one(name: str) -> exp.Expression:
    return exp.EQ(this=col(name), expression=lit(1))


def flag(cond: exp.Expression) -> exp.Expression:
    return exp.Case(ifs=[exp.If(this=cond, true=lit(1))], default=lit(0))


def events_of(match: str | exp.Expression, *extra: str) -> exp.Select:
    """``unit_id, seq, us`` of the ``ev`` rows that match: a flag column's name, or a
    condition (see :func:`step_filters`)."""
    condition = is_one(match) if isinstance(match, str) else match
    return exp.select("unit_id", "seq", "us", *extra).from_("ev").where(condition)


def step_filters(
    steps: Sequence[Step], codes: Mapping[str, int] | None
) -> tuple[list[exp.Expression], list[exp.Expression]]:
    """For each step, the condition that picks its rows out of ``ev``, and the flag columns
    ``ev`` must carry for it. A step on the event name alone is matched on the ``event_code``
    (or ``event``) that ``ev`` carries; a step with property conditions gets a precomputed flag
    ``m_<i>`` (the properties are not kept). Fewer columns in ``ev``: less to materialise."""
    filters: list[exp.Expression] = []
    flags: list[exp.Expression] = []
    for i, step in enumerate(steps, 1):
        if step.where:
            flags.append(exp.alias_(flag(step_match(step, codes)), f"m_{i}"))
            filters.append(is_one(f"m_{i}"))
        else:
            filters.append(step_match(step, codes))
    return filters, flags


def within(us: exp.Expression, start: exp.Expression, window_us: int | None) -> exp.Expression:
    if window_us is None:
        return exp.Not(this=exp.Is(this=us, expression=exp.null()))
    return exp.LTE(this=exp.Sub(this=us, expression=start), expression=lit(window_us))


def asof_next(right: exp.Expression, after: str, *, inclusive: bool = False) -> exp.Join:
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


def qualify(alias: str) -> exp.Expression:
    def fn(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table:
            return col(node.name, alias)
        return node

    return fn  # type: ignore[return-value]


def sum_not_null(names: list[str]) -> exp.Expression:
    terms: exp.Expression = lit(0)
    for name in names:
        terms = exp.Add(
            this=terms,
            expression=flag(exp.Not(this=exp.Is(this=col(name), expression=exp.null()))),
        )
    return terms
