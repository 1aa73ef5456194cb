"""The fast stage compiler for linear models: filters, aggregates and joins, no window over all
events.

In a linear model the stage within a segment (between lapses) is the furthest stage that has
fired so far, so a stage ``r`` is entered in a segment exactly when its first firing there comes
before the first firing of every further stage. The query therefore needs, per unit and segment,
only the first time each stage fires:

1. ``jl_base``: the events up to ``as_of`` with a 0/1 flag per touchpoint pattern (inlined, not
   stored);
2. thresholds per unit: the time of the first (or N-th) match of each counted pattern — "at
   least N × X" holds at an event exactly when the N-th X is at or before it;
3. sliding counts ("within the last D days"): a window over the events concerned only;
4. lapse points from the gaps between activity touchpoints, and from them each unit's segments
   (time intervals between lapses);
5. one aggregate per dependency layer: per unit and segment, the first event at which each stage
   fires (``after X`` reads the first firing of X from the layer before);
6. the firsts that no further stage beats, and the lapse entries, numbered by a join of each
   unit's few entries with each other.
"""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from journeylens.sql import col, lit
from journeylens.stages.model import JourneyModel
from journeylens.stages.rules import (
    AfterStage,
    AllOf,
    AnyOf,
    Not,
    Rule,
    TouchpointAtom,
    TraitAtom,
    touchpoint_atoms,
)
from journeylens.stages.sqlparts import (
    SECONDS_PER_DAY,
    RuleCompiler,
    StageInput,
    atom_match,
    condition,
    epoch_us,
    flag,
    from_seconds,
    lapse_ctes,
    qualified,
    refs,
    relation,
    seconds,
    true_or_false,
    uses_traits,
    window,
)

__all__ = ["compile_linear"]

_INF = 2**62
"""Stands for +infinity among epoch seconds."""


def _not_null(a: exp.Expression) -> exp.Not:
    return exp.Not(this=exp.Is(this=a, expression=exp.null()))


def _eq(a: exp.Expression, b: exp.Expression) -> exp.EQ:
    return exp.EQ(this=a, expression=b)


def _is_null(a: exp.Expression) -> exp.Is:
    return exp.Is(this=a, expression=exp.null())


class _Linear:
    def __init__(self, model: JourneyModel, source: StageInput, as_of: datetime) -> None:
        self.model = model
        self.source = source
        self.as_of_s = epoch_us(as_of) // 1_000_000
        self.rules = RuleCompiler(model)
        self.ctes: list[tuple[str, exp.Expression]] = []
        self.ranks = {s.id: model.rank(s.id) for s in model.stages}
        # counted atoms without a window: (match name, N) -> column of the per-unit threshold
        self.thresholds: dict[tuple[str, int], str] = {}
        # sliding atoms: (match name, N, seconds) -> CTE of (unit_id, seq, c)
        self.sliding: dict[tuple[str, int, int], str] = {}

    # -- 1. base -------------------------------------------------------------------------
    def base(self) -> None:
        columns: list[exp.Expression] = [
            col("unit_id"),
            exp.alias_(seconds(col("ts")), "t"),
            col("seq"),
            col("ts"),
            col("event_id"),
        ]
        for atom in self.rules.matches.values():
            columns.append(
                exp.alias_(
                    flag(atom_match(atom, self.source.event_codes)), self.rules.match_name(atom)
                )
            )
        lapse = self.model.lapse_stages
        if lapse and lapse[0].lapse is not None:
            columns.append(
                exp.alias_(
                    flag(atom_match(lapse[0].lapse.activity, self.source.event_codes)), "activity"
                )
            )
        query = (
            exp.select(*columns)
            .from_(relation(self.source.events, "src"))
            .where(exp.LTE(this=seconds(col("ts")), expression=lit(self.as_of_s)))
        )
        self.ctes.append(("jl_base", query))

    # -- 2/3. counts (created for the atoms the layers need) -----------------------------
    def counts(self) -> list[tuple[str, exp.Expression]]:
        ctes: list[tuple[str, exp.Expression]] = []
        firsts = [
            exp.alias_(
                exp.Min(this=exp.Case(ifs=[exp.If(this=_eq(col(match), lit(1)), true=col("t"))])),
                name,
            )
            for (match, n), name in self.thresholds.items()
            if n == 1
        ]
        if firsts:
            ctes.append(
                (
                    "jl_first",
                    exp.select(col("unit_id"), *firsts).from_("jl_base").group_by(col("unit_id")),
                )
            )
        for (match, n), name in self.thresholds.items():
            if n > 1:
                ctes.append(self._nth(match, n, name))
        for (match, _, span), name in self.sliding.items():
            ctes.append(self._sliding(match, span, name))
        return ctes

    def _nth(self, match: str, n: int, name: str) -> tuple[str, exp.Expression]:
        numbered = (
            exp.select(
                col("unit_id"),
                col("t"),
                exp.alias_(window(exp.RowNumber(), order=("t", "seq"), kind=None), "rn"),
            )
            .from_("jl_base")
            .where(_eq(col(match), lit(1)))
        )
        return (
            f"jl_{name}",
            exp.select(col("unit_id"), exp.alias_(col("t"), name))
            .from_(exp.Subquery(this=numbered, alias="n"))
            .where(_eq(col("rn"), lit(n))),
        )

    def _sliding(self, match: str, span: int, name: str) -> tuple[str, exp.Expression]:
        # counted over the events of the pattern and the events where it is evaluated: the
        # triggers of the stages whose rules use it
        where = [_eq(col(match), lit(1))]
        for stage in self.model.entry_stages:
            assert stage.entry is not None
            if any(
                self.rules.match_name(a) == match and a.within_days is not None
                for a, _ in touchpoint_atoms(stage.entry)
            ):
                where.append(self.rules.trigger(stage.entry))
        query = (
            exp.select(
                col("unit_id"),
                col("seq"),
                exp.alias_(window(exp.Sum(this=col(match)), preceding=lit(span)), "c"),
            )
            .from_("jl_base")
            .where(exp.or_(*where))
        )
        return (name, query)

    # -- 4. lapses and segments ---------------------------------------------------------
    def segments(self) -> bool:
        stages = self.model.lapse_stages
        if not stages:
            return False
        self.ctes += lapse_ctes(self.model, self.as_of_s)
        order = exp.Order(expressions=[exp.Ordered(this=col("lapse_t"), nulls_first=False)])

        def over(func: exp.Expression) -> exp.Window:
            return exp.Window(this=func, partition_by=[col("unit_id")], order=order.copy())

        self.ctes.append(
            (
                "jl_lapse_n",
                exp.select(
                    col("unit_id"),
                    col("lapse_t"),
                    col("lapse_rank"),
                    exp.alias_(over(exp.RowNumber()), "seg"),
                    exp.alias_(
                        over(
                            exp.Lead(
                                this=exp.Cast(this=col("lapse_t"), to=exp.DataType.build("BIGINT"))
                            )
                        ),
                        "next_lapse_t",
                    ),
                    exp.alias_(
                        over(
                            exp.Lag(
                                this=exp.Cast(this=col("lapse_rank"), to=exp.DataType.build("INT"))
                            )
                        ),
                        "prev_lapse_rank",
                    ),
                ).from_("jl_lapse"),
            )
        )
        # the segments of units that lapsed: before the first lapse, then from each lapse to
        # the next (units that never lapsed have one segment, 0, and no rows here)
        self.ctes.append(
            (
                "jl_segments",
                exp.union(
                    # (qualified: in ClickHouse the alias `seg` would shadow the column in WHERE)
                    exp.select(
                        qualified("unit_id", "l"),
                        exp.alias_(lit(0), "seg"),
                        exp.alias_(lit(-_INF), "start_t"),
                        exp.alias_(col("lapse_t", "l"), "end_t"),
                    )
                    .from_(exp.to_table("jl_lapse_n").as_("l"))
                    .where(_eq(col("seg", "l"), lit(1))),
                    exp.select(
                        col("unit_id"),
                        col("seg"),
                        exp.alias_(col("lapse_t"), "start_t"),
                        exp.alias_(
                            exp.Coalesce(this=col("next_lapse_t"), expressions=[lit(_INF)]), "end_t"
                        ),
                    ).from_("jl_lapse_n"),
                    distinct=False,
                ),
            )
        )
        return True

    # -- 5. first firing per unit, segment and stage --------------------------------------
    def holds(self, rule: Rule, joins: dict[str, exp.Expression]) -> exp.Expression:
        if isinstance(rule, TouchpointAtom):
            match = self.rules.match_name(rule)
            if rule.within_days is not None:
                span = round(rule.within_days * SECONDS_PER_DAY)
                key = (match, rule.count, span)
                self.sliding.setdefault(key, f"jl_slide_{len(self.sliding)}")
                alias = f"s{list(self.sliding).index(key)}"
                joins[alias] = exp.and_(
                    _eq(col("unit_id", alias), col("unit_id", "b")),
                    _eq(col("seq", alias), col("seq", "b")),
                )
                return exp.GTE(this=col("c", alias), expression=lit(rule.count))
            name = self.thresholds.setdefault((match, rule.count), f"thr_{match}_{rule.count}")
            alias = "f" if rule.count == 1 else name
            joins[alias] = _eq(col("unit_id", alias), col("unit_id", "b"))
            return exp.LTE(this=col(name, alias), expression=col("t", "b"))
        if isinstance(rule, TraitAtom):
            joins["tr"] = _eq(col("unit_id", "tr"), col("unit_id", "b"))
            return exp.and_(
                *[
                    true_or_false(
                        condition("traits", c).transform(
                            lambda n: (
                                col("traits", "tr")
                                if isinstance(n, exp.Column) and n.name == "traits"
                                else n
                            )
                        )
                    )
                    for c in rule.conditions
                ]
            )
        if isinstance(rule, AfterStage):
            alias = f"ff_{rule.stage}"
            joins[alias] = _eq(col("unit_id", alias), col("unit_id", "b"))
            return exp.LTE(this=col("ff", alias), expression=col("t", "b"))
        if isinstance(rule, AllOf):
            return exp.and_(*[exp.paren(self.holds(r, joins), copy=False) for r in rule.rules])
        if isinstance(rule, AnyOf):
            return exp.or_(*[exp.paren(self.holds(r, joins), copy=False) for r in rule.rules])
        assert isinstance(rule, Not)
        return exp.Not(this=exp.paren(true_or_false(self.holds(rule.rule, joins)), copy=False))

    def holds_at_trigger(
        self, rule: Rule, joins: dict[str, exp.Expression]
    ) -> exp.Expression | None:
        """The rule's condition at an event that triggers it; None when the trigger is enough.

        A plain pattern ("X", no count or window) holds wherever X happens, so at a triggering
        event it needs no look-up; likewise the one part of an ``all`` that holds the
        triggers, when it is such a pattern (``after: buy`` + ``review``)."""
        if _plain(rule):
            return None
        if isinstance(rule, AllOf):
            triggering = [
                r for r in rule.rules if any(not negated for _, negated in touchpoint_atoms(r))
            ]
            if len(triggering) == 1 and _plain(triggering[0]):
                rest = [r for r in rule.rules if r is not triggering[0]]
                if not rest:
                    return None
                return exp.and_(*[exp.paren(self.holds(r, joins), copy=False) for r in rest])
        return self.holds(rule, joins)

    def _table_of(self, alias: str) -> exp.Expression:
        if alias == "f":
            return exp.to_table("jl_first")
        if alias.startswith("s") and alias[1:].isdigit():
            return exp.to_table(f"jl_slide_{alias[1:]}")
        if alias == "tr":
            assert self.source.traits is not None, "the model reads traits"
            return self.source.traits
        return exp.to_table(f"jl_{alias}")

    def layers(self, with_segments: bool) -> list[str]:
        """One aggregate per dependency layer; returns the names of their CTEs."""
        referenced = {r for s in self.model.entry_stages for r in refs(s.entry)}
        names = []
        for depth, layer in enumerate(self.rules.depth_layers()):
            joins: dict[str, exp.Expression] = {}
            triggers, columns = [], []
            for stage_id in layer:
                rule = self.model.stage(stage_id).entry
                assert rule is not None
                trigger = self.rules.trigger(rule).transform(
                    lambda n: col(n.name, "b") if isinstance(n, exp.Column) else n
                )
                triggers.append(exp.paren(trigger.copy(), copy=False))
                condition_ = self.holds_at_trigger(rule, joins)
                fires = (
                    trigger
                    if condition_ is None
                    else exp.and_(
                        exp.paren(trigger, copy=False),
                        exp.paren(true_or_false(condition_), copy=False),
                    )
                )

                def when(value: exp.Expression, fires: exp.Expression = fires) -> exp.Expression:
                    return exp.Case(ifs=[exp.If(this=fires.copy(), true=value)])

                columns += [
                    exp.alias_(exp.Min(this=when(col("t", "b"))), f"ft_{stage_id}"),
                    exp.alias_(exp.Min(this=when(col("ts", "b"))), f"fts_{stage_id}"),
                    exp.alias_(
                        exp.ArgMin(
                            this=when(col("event_id", "b")), expression=when(col("seq", "b"))
                        ),
                        f"fe_{stage_id}",
                    ),
                ]
            seg = (
                exp.Coalesce(this=col("seg", "g"), expressions=[lit(0)])
                if with_segments
                else lit(0)
            )
            query = exp.select(qualified("unit_id", "b"), exp.alias_(seg, "seg"), *columns).from_(
                exp.to_table("jl_base").as_("b")
            )
            where: list[exp.Expression] = [exp.or_(*triggers)]
            if with_segments:
                query = query.join(
                    exp.to_table("jl_segments").as_("g"),
                    join_type="left",
                    on=_eq(col("unit_id", "g"), col("unit_id", "b")),
                )
                where = [
                    exp.or_(
                        _is_null(col("unit_id", "g")),
                        exp.and_(
                            exp.GTE(this=col("t", "b"), expression=col("start_t", "g")),
                            exp.LT(this=col("t", "b"), expression=col("end_t", "g")),
                        ),
                    ),
                    *where,
                ]
            for alias, on in joins.items():
                query = query.join(relation(self._table_of(alias), alias), join_type="left", on=on)
            query = query.where(exp.and_(*where)).group_by(
                col("unit_id", "b"), *([seg.copy()] if with_segments else [])
            )
            name = f"jl_layer_{depth}"
            self.ctes.append((name, query))
            names.append(name)
            for stage_id in layer:
                if stage_id in referenced:
                    self.ctes.append(
                        (
                            f"jl_ff_{stage_id}",
                            exp.select(
                                col("unit_id"),
                                exp.alias_(exp.Min(this=col(f"ft_{stage_id}")), "ff"),
                            )
                            .from_(name)
                            .group_by(col("unit_id")),
                        )
                    )
        return names

    # -- 6. entries ---------------------------------------------------------------------
    def entries(self, layers: list[str], with_segments: bool) -> exp.Select:
        stages = [s.id for s in self.model.entry_stages]
        fields = ("ft", "fts", "fe")
        if len(layers) == 1:
            wide = layers[0]
        else:
            in_layer = {
                s: name
                for name, layer in zip(layers, self.rules.depth_layers(), strict=True)
                for s in layer
            }
            parts = []
            for name in layers:
                parts.append(
                    exp.select(
                        col("unit_id"),
                        col("seg"),
                        *[
                            exp.alias_(
                                col(f"{f}_{s}") if in_layer[s] == name else exp.null(), f"{f}_{s}"
                            )
                            for s in stages
                            for f in fields
                        ],
                    ).from_(name)
                )
            union: exp.Expression = parts[0]
            for part in parts[1:]:
                union = exp.union(union, part, distinct=False)
            self.ctes.append(
                (
                    "jl_wide",
                    exp.select(
                        col("unit_id"),
                        col("seg"),
                        *[
                            exp.alias_(exp.Min(this=col(f"{f}_{s}")), f"{f}_{s}")
                            for s in stages
                            for f in fields
                        ],
                    )
                    .from_(exp.Subquery(this=union, alias="w"))
                    .group_by(col("unit_id"), col("seg")),
                )
            )
            wide = "jl_wide"
        kept: list[exp.Select] = []
        for stage_id in stages:
            rank = self.ranks[stage_id]
            first = col(f"ft_{stage_id}")
            further = [
                exp.Coalesce(this=col(f"ft_{s}"), expressions=[lit(_INF)])
                for s in stages
                if self.ranks[s] > rank
            ]
            condition_ = _not_null(first)
            if further:
                beaten_by = (
                    further[0]
                    if len(further) == 1
                    else exp.Least(this=further[0], expressions=further[1:])
                )
                condition_ = exp.and_(condition_, exp.LT(this=first.copy(), expression=beaten_by))
            kept.append(
                exp.select(
                    col("unit_id"),
                    exp.alias_(first.copy(), "t"),
                    exp.alias_(lit(1), "ord"),
                    exp.alias_(col(f"fts_{stage_id}"), "ts"),
                    exp.alias_(col(f"fe_{stage_id}"), "event_id"),
                    exp.alias_(lit(rank), "stage_rank"),
                )
                .from_(wide)
                .where(condition_)
            )
        entries: exp.Expression = kept[0]
        for part in kept[1:]:
            entries = exp.union(entries, part, distinct=False)
        if with_segments:
            # a lapse right after a lapse into the same stage (nothing fired between) is no
            # change of stage
            fired = exp.or_(*[_not_null(col(f"ft_{s}", "w")) for s in stages])
            repeated = exp.and_(
                exp.GT(this=col("seg", "l"), expression=lit(1)),
                exp.Not(this=exp.paren(true_or_false(fired), copy=False)),
                _eq(col("prev_lapse_rank", "l"), col("lapse_rank", "l")),
            )
            entries = exp.union(
                entries,
                exp.select(
                    qualified("unit_id", "l"),
                    exp.alias_(col("lapse_t", "l"), "t"),
                    exp.alias_(lit(0), "ord"),
                    exp.alias_(from_seconds(col("lapse_t", "l")), "ts"),
                    exp.alias_(
                        exp.Cast(this=exp.null(), to=exp.DataType.build("VARCHAR")), "event_id"
                    ),
                    exp.alias_(col("lapse_rank", "l"), "stage_rank"),
                )
                .from_(exp.to_table("jl_lapse_n").as_("l"))
                .join(
                    exp.to_table(wide).as_("w"),
                    join_type="left",
                    on=exp.and_(
                        _eq(col("unit_id", "w"), col("unit_id", "l")),
                        _eq(col("seg", "w"), exp.Sub(this=col("seg", "l"), expression=lit(1))),
                    ),
                )
                .where(exp.Not(this=exp.paren(true_or_false(repeated), copy=False))),
                distinct=False,
            )
        self.ctes.append(
            (
                "jl_entries",
                exp.select(
                    exp.Star(),
                    exp.alias_(
                        exp.Add(
                            this=exp.Mul(this=col("t"), expression=lit(2)), expression=col("ord")
                        ),
                        "k",
                    ),
                ).from_(exp.Subquery(this=entries, alias="e")),
            )
        )
        # each unit has few entries: number them by comparing them with each other
        later = exp.GT(this=col("k", "b"), expression=col("k", "a"))
        stage_name = exp.Case(
            ifs=[
                exp.If(this=_eq(col("stage_rank", "a"), lit(r)), true=lit(s))
                for s, r in self.ranks.items()
            ]
        )
        query = (
            exp.select(
                qualified("unit_id", "a"),
                exp.alias_(stage_name, "stage"),
                qualified("stage_rank", "a"),
                exp.alias_(col("ts", "a"), "entered_at"),
                qualified("event_id", "a"),
                exp.alias_(
                    exp.ArgMin(
                        this=exp.Case(ifs=[exp.If(this=later, true=col("ts", "b"))]),
                        expression=exp.Case(ifs=[exp.If(this=later.copy(), true=col("k", "b"))]),
                    ),
                    "exited_at",
                ),
                exp.alias_(
                    exp.Count(
                        this=exp.Case(
                            ifs=[
                                exp.If(
                                    this=exp.LTE(this=col("k", "b"), expression=col("k", "a")),
                                    true=lit(1),
                                )
                            ]
                        )
                    ),
                    "entry_number",
                ),
            )
            .from_(exp.to_table("jl_entries").as_("a"))
            .join(
                exp.to_table("jl_entries").as_("b"),
                on=_eq(col("unit_id", "b"), col("unit_id", "a")),
            )
            .group_by(*[col(n, "a") for n in ("unit_id", "k", "stage_rank", "ts", "event_id")])
        )
        for name, cte in self.ctes:
            query = query.with_(name, as_=cte, materialized=False if name == "jl_base" else None)
        return query.order_by(col("unit_id"), col("entry_number"))


def _plain(rule: Rule) -> bool:
    """A pattern that holds wherever it matches: X (count 1, no window), or any of such."""
    if isinstance(rule, TouchpointAtom):
        return rule.count == 1 and rule.within_days is None
    return isinstance(rule, AnyOf) and all(_plain(r) for r in rule.rules)


def compile_linear(model: JourneyModel, source: StageInput, as_of: datetime) -> exp.Select:
    """Stage history of a linear model (see the module docstring)."""
    assert not model.circular
    if any(uses_traits(s.entry) for s in model.entry_stages):
        assert source.traits is not None, "the model reads traits: StageInput.traits is needed"
    plan = _Linear(model, source, as_of)
    plan.base()
    with_segments = plan.segments()
    layer_start = len(plan.ctes)
    layers = plan.layers(with_segments)
    # the per-unit counts the layers asked for go before the layers
    plan.ctes[layer_start:layer_start] = plan.counts()
    return plan.entries(layers, with_segments)
