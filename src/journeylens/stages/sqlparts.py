"""SQL pieces shared by the stage compilers: inputs, atom matching, conditions, windows.

Pure expression builders: no connection, no dialect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlglot import exp

from journeylens.sql import col, lit
from journeylens.stages.model import JourneyModel
from journeylens.stages.rules import (
    AfterStage,
    AllOf,
    AnyOf,
    Condition,
    Not,
    Rule,
    TouchpointAtom,
    TraitAtom,
    stage_references,
    touchpoint_atoms,
)

SECONDS_PER_DAY = 86_400
RANK_BASE = 64
TOUCHPOINT_TYPES = ("track", "page", "screen")


@dataclass(frozen=True)
class StageInput:
    """Where the events and traits of the units (customers or accounts) are.

    ``events``: a table or query with ``unit_id``, ``ts``, ``seq``, ``event_id``, ``type``,
    ``event``, ``properties`` (JSON text), optionally ``event_code``; ``seq`` numbers a
    unit's events in (ts, event_id)
    order. ``traits``: a table or query with ``unit_id`` and ``traits`` (JSON text), needed when
    a rule reads traits.
    """

    events: exp.Expression = field(default_factory=lambda: exp.to_table("unit_events"))
    traits: exp.Expression | None = None
    event_codes: Mapping[str, int] | None = None
    """The dictionary of ``event_code`` (when ``events`` has that column): patterns then
    compare small integers instead of names."""


def relation(source: exp.Expression, alias: str) -> exp.Expression:
    """A table or a subquery, aliased, for FROM and JOIN."""
    if isinstance(source, exp.Select | exp.Union):
        return exp.Subquery(this=source.copy(), alias=exp.TableAlias(this=exp.to_identifier(alias)))
    table = source.copy()
    table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    return table


def qualified(name: str, table: str) -> exp.Expression:
    """``table.name AS name`` (ClickHouse would otherwise name the column ``table.name``)."""
    return exp.alias_(col(name, table), name)


def select_star(source: str, extra: Sequence[exp.Expression]) -> exp.Select:
    return exp.select(exp.Star(), *extra).from_(source)


def epoch_us(ts: datetime) -> int:
    """Microseconds since 1970-01-01 UTC of a naive-UTC or aware datetime."""
    aware = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    delta = aware - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def window(
    func: exp.Expression,
    *,
    order: Sequence[str] = ("t",),
    partition: Sequence[str] = ("unit_id",),
    kind: str | None = "RANGE",
    preceding: exp.Expression | str = "UNBOUNDED",
) -> exp.Window:
    spec = None
    if kind:
        spec = exp.WindowSpec(kind=kind, start=preceding, start_side="PRECEDING", end="CURRENT ROW")
    return exp.Window(
        this=func,
        partition_by=[col(p) for p in partition],
        order=exp.Order(expressions=[exp.Ordered(this=col(o), nulls_first=False) for o in order]),
        spec=spec,
    )


def shift(
    kind: type[exp.Lag] | type[exp.Lead], column: str, order: Sequence[str], cast: str | None
) -> exp.Window:
    """lag/lead; NULL past the ends on every engine (ClickHouse gives the type's default unless
    the value is Nullable, which the cast makes it)."""
    value = col(column) if cast is None else exp.Cast(this=col(column), to=exp.DataType.build(cast))
    return exp.Window(
        this=kind(this=value),
        partition_by=[col("unit_id")],
        order=exp.Order(expressions=[exp.Ordered(this=col(o), nulls_first=False) for o in order]),
    )


def json_text(column: str, name: str) -> exp.Expression:
    path = "$." + ".".join(
        f'"{part}"' if not part.isidentifier() else part for part in name.split(".")
    )
    return exp.JSONExtractScalar(this=col(column), expression=lit(path))


def condition(column: str, cond: Condition) -> exp.Expression:
    text = json_text(column, cond.name)
    number = exp.TryCast(this=text, to=exp.DataType.build("DOUBLE"))

    def side(value: float | str) -> tuple[exp.Expression, exp.Expression]:
        return (number, lit(value)) if isinstance(value, float) else (text, lit(value))

    if cond.op in ("in", "not_in"):
        values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
        numeric = all(isinstance(v, float) for v in values)
        target = number if numeric else text
        test: exp.Expression = exp.In(this=target, expressions=[lit(v) for v in values])
        if not numeric:
            test = exp.In(
                this=text,
                expressions=[
                    lit(str(v) if not isinstance(v, float) else number_text(v)) for v in values
                ],
            )
        return exp.Not(this=test) if cond.op == "not_in" else test
    if cond.op == "contains":
        return exp.GT(
            this=exp.StrPosition(this=exp.Lower(this=text), substr=lit(str(cond.value).lower())),
            expression=lit(0),
        )
    assert not isinstance(cond.value, tuple)
    left, right = side(cond.value)
    ops: dict[str, type[exp.Binary]] = {
        "=": exp.EQ,
        "!=": exp.NEQ,
        ">": exp.GT,
        ">=": exp.GTE,
        "<": exp.LT,
        "<=": exp.LTE,
    }
    return ops[cond.op](this=left, expression=right)


def number_text(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def true_or_false(condition: exp.Expression) -> exp.Expression:
    """NULL (a missing property) counts as false."""
    return exp.Coalesce(this=exp.paren(condition, copy=False), expressions=[exp.false()])


def atom_match(atom: TouchpointAtom, codes: Mapping[str, int] | None = None) -> exp.Expression:
    """Does an event match the pattern? With ``codes`` (event name → ``event_code``), names
    are compared as their integer codes; a name the data never had matches nothing."""
    kind: exp.Expression
    if atom.events is None:
        kind = exp.In(this=col("type"), expressions=[lit(t) for t in TOUCHPOINT_TYPES])
    elif codes is None:
        kind = exp.In(this=col("event"), expressions=[lit(e) for e in atom.events])
    else:
        known = sorted({codes[e] for e in atom.events if e in codes})
        kind = (
            exp.In(this=col("event_code"), expressions=[lit(c) for c in known])
            if known
            else exp.false()
        )
    conditions = [true_or_false(condition("properties", c)) for c in atom.where]
    return exp.and_(kind, *conditions) if conditions else kind


def flag(condition: exp.Expression) -> exp.Expression:
    return exp.Case(ifs=[exp.If(this=condition, true=lit(1))], default=lit(0))


MatchKey = tuple[tuple[str, ...] | None, tuple[Condition, ...]]
CountKey = tuple[tuple[str, ...] | None, tuple[Condition, ...], float | None]


class RuleCompiler:
    def __init__(self, model: JourneyModel) -> None:
        self.model = model
        self.matches: dict[MatchKey, TouchpointAtom] = {}
        self.counts: dict[CountKey, TouchpointAtom] = {}
        for stage in model.entry_stages:
            assert stage.entry is not None
            for atom, _ in touchpoint_atoms(stage.entry):
                self.matches.setdefault((atom.events, atom.where), atom)
                self.counts.setdefault((atom.events, atom.where, atom.within_days), atom)

    def match_name(self, atom: TouchpointAtom) -> str:
        return f"m_{list(self.matches).index((atom.events, atom.where))}"

    def count_name(self, atom: TouchpointAtom) -> str:
        return f"c_{list(self.counts).index((atom.events, atom.where, atom.within_days))}"

    def holds(self, rule: Rule) -> exp.Expression:
        if isinstance(rule, TouchpointAtom):
            return exp.GTE(this=col(self.count_name(rule)), expression=lit(rule.count))
        if isinstance(rule, TraitAtom):
            return exp.and_(*[true_or_false(condition("traits", c)) for c in rule.conditions])
        if isinstance(rule, AfterStage):
            return exp.EQ(this=col(f"a_{rule.stage}"), expression=lit(1))
        if isinstance(rule, AllOf):
            return exp.and_(*[exp.paren(self.holds(r), copy=False) for r in rule.rules])
        if isinstance(rule, AnyOf):
            return exp.or_(*[exp.paren(self.holds(r), copy=False) for r in rule.rules])
        assert isinstance(rule, Not)
        return exp.Not(this=exp.paren(self.holds(rule.rule), copy=False))

    def trigger(self, rule: Rule) -> exp.Expression:
        positive = {self.match_name(a) for a, negated in touchpoint_atoms(rule) if not negated}
        if not positive:
            return exp.true()
        return exp.or_(*[exp.EQ(this=col(m), expression=lit(1)) for m in sorted(positive)])

    def depth_layers(self) -> list[list[str]]:
        """Stage ids grouped so that a stage only refers (``after``) to earlier layers."""
        refs = {s.id: stage_references(s.entry) for s in self.model.entry_stages if s.entry}
        depth: dict[str, int] = {}

        def of(stage_id: str) -> int:
            if stage_id not in depth:
                depth[stage_id] = 1 + max((of(r) for r in refs[stage_id]), default=-1)
            return depth[stage_id]

        layers: list[list[str]] = []
        for stage_id in refs:
            d = of(stage_id)
            while len(layers) <= d:
                layers.append([])
            layers[d].append(stage_id)
        return layers


def seconds(ts: exp.Expression) -> exp.Expression:
    """Whole seconds since the epoch (floor): the resolution of stage rules."""
    return exp.IntDiv(this=exp.UnixMicros(this=ts), expression=lit(1_000_000))


def from_seconds(seconds: exp.Expression) -> exp.Expression:
    micros = exp.Mul(this=exp.paren(seconds, copy=False), expression=lit(1_000_000))
    return exp.UnixToTime(this=micros, scale=exp.UnixToTime.MICROS)


def refs(rule: Rule | None) -> set[str]:
    return stage_references(rule) if rule is not None else set()


def uses_traits(rule: Rule | None) -> bool:
    if isinstance(rule, TraitAtom):
        return True
    if isinstance(rule, AllOf | AnyOf):
        return any(uses_traits(r) for r in rule.rules)
    if isinstance(rule, Not):
        return uses_traits(rule.rule)
    return False


def lapse_ctes(model: JourneyModel, as_of_s: int) -> list[tuple[str, exp.Expression]]:
    """``jl_act`` (activity instants), ``jl_gap`` (each with the next) and ``jl_lapse``
    (``unit_id, lapse_t, lapse_rank``): a lapse point ``after_days`` after an activity that no
    other activity follows within that time, up to ``as_of_s``. Reads ``jl_base.activity``."""
    ranks = {s.id: model.rank(s.id) for s in model.stages}
    ctes: list[tuple[str, exp.Expression]] = [
        (
            "jl_act",
            exp.select(col("unit_id"), col("t"))
            .from_("jl_base")
            .where(exp.EQ(this=col("activity"), expression=lit(1)))
            .group_by(col("unit_id"), col("t")),
        ),
        (
            "jl_gap",
            exp.select(
                col("unit_id"),
                col("t"),
                exp.alias_(shift(exp.Lead, "t", ("t",), "BIGINT"), "next_t"),
            ).from_("jl_act"),
        ),
    ]
    points: exp.Expression | None = None
    for stage in model.lapse_stages:
        assert stage.lapse is not None
        point = exp.Add(
            this=col("t"), expression=lit(round(stage.lapse.after_days * SECONDS_PER_DAY))
        )
        lapsed = exp.or_(
            exp.and_(
                exp.Is(this=col("next_t"), expression=exp.null()),
                exp.LTE(this=point, expression=lit(as_of_s)),
            ),
            exp.GT(this=col("next_t"), expression=point.copy()),
        )
        # (ClickHouse lets a SELECT alias shadow a column of the same SELECT: the point gets
        # its own name, lapse_t)
        one = (
            exp.select(
                col("unit_id"),
                exp.alias_(point.copy(), "lapse_t"),
                exp.alias_(lit(ranks[stage.id]), "lapse_rank"),
            )
            .from_("jl_gap")
            .where(lapsed)
        )
        points = one if points is None else exp.union(points, one, distinct=False)
    assert points is not None, "the model has no lapse stage"
    ctes.append(("jl_lapse", points))
    return ctes
