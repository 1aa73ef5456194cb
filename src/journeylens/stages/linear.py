"""The fast stage compiler for linear models: filters, aggregates and joins, no window over all
events.

In a linear model the stage within a segment (between lapses) is the furthest stage that has
fired so far, so a stage ``r`` is entered in a segment exactly when its first firing there comes
before the first firing of every further stage. The query therefore needs, per unit and segment,
only the first time each stage fires:

1. ``jl_base``: the events up to ``as_of`` with a 0/1 flag per touchpoint pattern;
2. thresholds per unit: the time of the first (or N-th) match of each counted pattern — a rule
   "at least N × X" holds at an event exactly when the N-th X is at or before it;
3. sliding counts ("within the last D days"): a window over the matching events only;
4. per stage, the events that trigger it and where its rule holds (``after`` via the per-unit
   first firing of the stage it names);
5. lapse points from the gaps between activity touchpoints; each firing event's segment is the
   number of lapse points at or before it;
6. per unit, segment and stage the first firing; keep those that no further stage beats; add the
   lapse entries; number the entries.
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
    refs,
    relation,
    seconds,
    shift,
    true_or_false,
    uses_traits,
    window,
)

__all__ = ["compile_linear"]

_ORDER = ("t", "ord", "seq")


def _q(name: str, table: str) -> exp.Expression:
    """``table.name AS name`` (ClickHouse would otherwise name the column ``table.name``)."""
    return exp.alias_(col(name, table), name)


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
            col("unit_id"), exp.alias_(seconds(col("ts")), "t"), col("seq"), col("ts"),
            col("event_id"),
        ]
        for atom in self.rules.matches.values():
            columns.append(exp.alias_(flag(atom_match(atom)), self.rules.match_name(atom)))
        lapse = self.model.lapse_stages
        if lapse and lapse[0].lapse is not None:
            columns.append(exp.alias_(flag(atom_match(lapse[0].lapse.activity)), "activity"))
        query = exp.select(*columns).from_(relation(self.source.events, "src")).where(
            exp.LTE(this=seconds(col("ts")), expression=lit(self.as_of_s)))
        self.ctes.append(("jl_base", query))

    # -- 2/3. counts ---------------------------------------------------------------------
    def counts(self) -> None:
        firsts: list[exp.Expression] = []
        for stage in self.model.entry_stages:
            assert stage.entry is not None
            for atom, _ in touchpoint_atoms(stage.entry):
                match = self.rules.match_name(atom)
                if atom.within_days is not None:
                    self._sliding(atom, match)
                elif (match, atom.count) not in self.thresholds:
                    name = f"thr_{match}_{atom.count}"
                    self.thresholds[(match, atom.count)] = name
                    if atom.count == 1:
                        firsts.append(exp.alias_(exp.Min(this=exp.Case(
                            ifs=[exp.If(this=_eq(col(match), lit(1)), true=col("t"))])), name))
                    else:
                        self._nth(match, atom.count, name)
        if firsts:
            self.ctes.append(("jl_first", exp.select(col("unit_id"), *firsts)
                              .from_("jl_base").group_by(col("unit_id"))))

    def _nth(self, match: str, n: int, name: str) -> None:
        numbered = exp.select(col("unit_id"), col("t"), exp.alias_(
            window(exp.RowNumber(), order=("t", "seq"), kind=None), "rn")).from_(
            "jl_base").where(_eq(col(match), lit(1)))
        self.ctes.append((f"jl_{name}", exp.select(col("unit_id"), exp.alias_(col("t"), name))
                          .from_(exp.Subquery(this=numbered, alias="n"))
                          .where(_eq(col("rn"), lit(n)))))

    def _sliding(self, atom: TouchpointAtom, match: str) -> None:
        span = round((atom.within_days or 0) * SECONDS_PER_DAY)
        key = (match, atom.count, span)
        if key in self.sliding:
            return
        name = f"jl_slide_{len(self.sliding)}"
        self.sliding[key] = name
        # counted over the events of the pattern and the events where it is evaluated: the
        # triggers of the stages whose rules use it
        where = [_eq(col(match), lit(1))]
        for stage in self.model.entry_stages:
            assert stage.entry is not None
            if any(self.rules.match_name(a) == match and a.within_days is not None
                   for a, _ in touchpoint_atoms(stage.entry)):
                where.append(self.rules.trigger(stage.entry))
        query = exp.select(col("unit_id"), col("seq"), exp.alias_(window(
            exp.Sum(this=col(match)), preceding=lit(span)), "c")).from_("jl_base").where(
            exp.or_(*where))
        self.ctes.append((name, query))

    # -- 4. firing events per stage ------------------------------------------------------
    def holds(self, rule: Rule, joins: dict[str, exp.Expression]) -> exp.Expression:
        if isinstance(rule, TouchpointAtom):
            match = self.rules.match_name(rule)
            if rule.within_days is not None:
                span = round(rule.within_days * SECONDS_PER_DAY)
                alias = f"s{list(self.sliding).index((match, rule.count, span))}"
                joins[alias] = exp.and_(_eq(col("unit_id", alias), col("unit_id", "b")),
                                        _eq(col("seq", alias), col("seq", "b")))
                return exp.GTE(this=col("c", alias), expression=lit(rule.count))
            name = self.thresholds[(match, rule.count)]
            alias = "f" if rule.count == 1 else name
            joins[alias] = _eq(col("unit_id", alias), col("unit_id", "b"))
            return exp.LTE(this=col(name, alias), expression=col("t", "b"))
        if isinstance(rule, TraitAtom):
            joins["tr"] = _eq(col("unit_id", "tr"), col("unit_id", "b"))
            return exp.and_(*[true_or_false(condition("traits", c).transform(
                lambda n: col("traits", "tr") if isinstance(n, exp.Column)
                and n.name == "traits" else n)) for c in rule.conditions])
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

    def _table_of(self, alias: str) -> exp.Expression:
        if alias == "f":
            return exp.to_table("jl_first")
        if alias.startswith("s") and alias[1:].isdigit():
            return exp.to_table(f"jl_slide_{alias[1:]}")
        if alias.startswith("ff_"):
            return exp.to_table(f"jl_{alias}")
        if alias == "tr":
            assert self.source.traits is not None, "the model reads traits"
            return self.source.traits
        return exp.to_table(f"jl_{alias}")

    def fires(self) -> None:
        referenced = {r for s in self.model.entry_stages for r in refs(s.entry)}
        for layer in self.rules.depth_layers():
            for stage_id in layer:
                rule = self.model.stage(stage_id).entry
                assert rule is not None
                joins: dict[str, exp.Expression] = {}
                holds = true_or_false(self.holds(rule, joins))
                trigger = self.rules.trigger(rule).transform(
                    lambda n: col(n.name, "b") if isinstance(n, exp.Column) else n)
                query = exp.select(_q("unit_id", "b"), _q("t", "b"), _q("seq", "b"),
                                   _q("ts", "b"), _q("event_id", "b")).from_(
                    exp.to_table("jl_base").as_("b"))
                for alias, on in joins.items():
                    query = query.join(relation(self._table_of(alias), alias),
                                       join_type="left", on=on)
                query = query.where(exp.and_(exp.paren(trigger, copy=False),
                                             exp.paren(holds, copy=False)))
                self.ctes.append((f"jl_fire_{stage_id}", query))
                if stage_id in referenced:
                    self.ctes.append((f"jl_ff_{stage_id}", exp.select(
                        col("unit_id"), exp.alias_(exp.Min(this=col("t")), "ff")).from_(
                        f"jl_fire_{stage_id}").group_by(col("unit_id"))))

    # -- 5. lapses -----------------------------------------------------------------------
    def lapses(self) -> bool:
        stages = self.model.lapse_stages
        if not stages:
            return False
        self.ctes.append(("jl_act", exp.select(col("unit_id"), col("t")).from_("jl_base")
                          .where(_eq(col("activity"), lit(1))).group_by(col("unit_id"),
                                                                       col("t"))))
        self.ctes.append(("jl_gap", exp.select(
            col("unit_id"), col("t"), exp.alias_(shift(exp.Lead, "t", ("t",), "BIGINT"),
                                                 "next_t")).from_("jl_act")))
        points: exp.Expression | None = None
        for stage in stages:
            assert stage.lapse is not None
            point = exp.Add(this=col("t"),
                            expression=lit(round(stage.lapse.after_days * SECONDS_PER_DAY)))
            lapsed = exp.or_(
                exp.and_(_is_null(col("next_t")),
                         exp.LTE(this=point, expression=lit(self.as_of_s))),
                exp.GT(this=col("next_t"), expression=point.copy()))
            one = exp.select(col("unit_id"), exp.alias_(point.copy(), "lapse_t"),
                             exp.alias_(lit(self.ranks[stage.id]), "lapse_rank")).from_(
                "jl_gap").where(lapsed)
            points = one if points is None else exp.union(points, one, distinct=False)
        assert points is not None
        self.ctes.append(("jl_lapse", points))
        return True

    # -- 6. first firing per segment, entries --------------------------------------------
    def firsts(self, with_lapses: bool) -> None:
        parts: list[exp.Select] = []
        if with_lapses:
            order = exp.Order(expressions=[exp.Ordered(this=col("lapse_t"), nulls_first=False)])
            self.ctes.append(("jl_lapse_n", exp.select(
                col("unit_id"), col("lapse_t"), col("lapse_rank"),
                exp.alias_(exp.Window(this=exp.RowNumber(), partition_by=[col("unit_id")],
                                      order=order), "seg"),
                exp.alias_(exp.Window(this=exp.Lead(this=exp.Cast(
                    this=col("lapse_t"), to=exp.DataType.build("BIGINT"))),
                    partition_by=[col("unit_id")], order=order.copy()), "next_lapse_t"),
            ).from_("jl_lapse")))
        for stage in self.model.entry_stages:
            fire = exp.to_table(f"jl_fire_{stage.id}").as_("x")
            rank = exp.alias_(lit(self.ranks[stage.id]), "stage_rank")
            aggregates = [
                exp.alias_(exp.Min(this=col("t", "x")), "first_t"),
                exp.alias_(exp.Min(this=col("seq", "x")), "first_seq"),
                exp.alias_(exp.Min(this=col("ts", "x")), "first_ts"),
                exp.alias_(exp.ArgMin(this=col("event_id", "x"), expression=col("seq", "x")),
                           "first_event"),
            ]
            first_segment = exp.select(_q("unit_id", "x"), exp.alias_(lit(0), "seg"), rank,
                                       *aggregates).from_(fire).group_by(col("unit_id", "x"))
            if with_lapses:
                # before the unit's first lapse point
                bound = exp.select(col("unit_id"), exp.alias_(col("lapse_t"), "bound")).from_(
                    "jl_lapse_n").where(_eq(col("seg"), lit(1)))
                first_segment = first_segment.join(
                    exp.Subquery(this=bound, alias="b"), join_type="left",
                    on=_eq(col("unit_id", "b"), col("unit_id", "x"))).where(exp.or_(
                        _is_null(col("bound", "b")),
                        exp.LT(this=col("t", "x"), expression=col("bound", "b"))))
                # from each lapse point to the next
                parts.append(exp.select(
                    _q("unit_id", "l"), _q("seg", "l"), rank.copy(),
                    *[a.copy() for a in aggregates]).from_(
                    exp.to_table("jl_lapse_n").as_("l")).join(
                    fire.copy(), on=_eq(col("unit_id", "x"), col("unit_id", "l"))).where(
                    exp.and_(
                        exp.GTE(this=col("t", "x"), expression=col("lapse_t", "l")),
                        exp.or_(_is_null(col("next_lapse_t", "l")),
                                exp.LT(this=col("t", "x"),
                                       expression=col("next_lapse_t", "l"))))).group_by(
                    col("unit_id", "l"), col("seg", "l")))
            parts.append(first_segment)
        union: exp.Expression = parts[0]
        for part in parts[1:]:
            union = exp.union(union, part, distinct=False)
        self.ctes.append(("jl_firsts", union))
        higher = exp.Window(
            this=exp.Min(this=col("first_t")),
            partition_by=[col("unit_id"), col("seg")],
            order=exp.Order(expressions=[exp.Ordered(this=col("stage_rank"), desc=True,
                                                     nulls_first=False)]),
            spec=exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING",
                                end=lit(1), end_side="PRECEDING"),
        )
        self.ctes.append(("jl_beaten", exp.select(
            exp.Star(), exp.alias_(higher, "higher_t")).from_("jl_firsts")))
        entries = exp.select(
            col("unit_id"), exp.alias_(col("first_t"), "t"), exp.alias_(lit(1), "ord"),
            exp.alias_(col("first_seq"), "seq"), exp.alias_(col("first_ts"), "ts"),
            exp.alias_(col("first_event"), "event_id"), col("stage_rank"),
        ).from_("jl_beaten").where(exp.or_(
            _is_null(col("higher_t")), exp.LT(this=col("first_t"), expression=col("higher_t"))))
        if with_lapses:
            entries = entries.union(exp.select(
                col("unit_id"), exp.alias_(col("lapse_t"), "t"), exp.alias_(lit(0), "ord"),
                exp.alias_(lit(0), "seq"), exp.alias_(from_seconds(col("lapse_t")), "ts"),
                exp.alias_(exp.Cast(this=exp.null(), to=exp.DataType.build("VARCHAR")),
                           "event_id"),
                exp.alias_(col("lapse_rank"), "stage_rank"),
            ).from_("jl_lapse"), distinct=False)
        self.ctes.append(("jl_candidates", entries))

    def final(self) -> exp.Select:
        self.ctes.append(("jl_change", exp.select(exp.Star(), exp.alias_(
            shift(exp.Lag, "stage_rank", _ORDER, "INT"), "prev_rank")).from_("jl_candidates")))
        self.ctes.append(("jl_entries", exp.select(
            col("unit_id"), col("t"), col("ts"), col("ord"), col("seq"), col("event_id"),
            col("stage_rank")).from_("jl_change").where(exp.or_(
                _is_null(col("prev_rank")),
                exp.NEQ(this=col("stage_rank"), expression=col("prev_rank"))))))
        stage_name = exp.Case(ifs=[exp.If(this=_eq(col("stage_rank"), lit(r)), true=lit(s))
                                   for s, r in self.ranks.items()])
        query = exp.select(
            col("unit_id"), exp.alias_(stage_name, "stage"), col("stage_rank"),
            exp.alias_(col("ts"), "entered_at"), col("event_id"),
            exp.alias_(shift(exp.Lead, "ts", _ORDER, None), "exited_at"),
            exp.alias_(window(exp.RowNumber(), order=_ORDER, kind=None), "entry_number"),
        ).from_("jl_entries")
        for name, cte in self.ctes:
            query = query.with_(name, as_=cte)
        return query.order_by(col("unit_id"), col("entry_number"))


def compile_linear(model: JourneyModel, source: StageInput, as_of: datetime) -> exp.Select:
    """Stage history of a linear model (see the module docstring)."""
    assert not model.circular
    if any(uses_traits(s.entry) for s in model.entry_stages):
        assert source.traits is not None, "the model reads traits: StageInput.traits is needed"
    plan = _Linear(model, source, as_of)
    plan.base()
    plan.counts()
    plan.fires()
    plan.firsts(plan.lapses())
    return plan.final()

