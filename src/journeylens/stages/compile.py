"""Stage assignment compiled to one SQL query (pure: no connection, no dialect).

The query reads a customer's (or an account's) events in time order and returns the **stage
entry history**: one row per entry, ``(unit_id, stage, stage_rank, entered_at, event_id,
exited_at, entry_number)``. In words (docs/stages.md has the full definition):

1. every event is tested against every stage's entry rule; a stage's rule *fires* at an event
   when it holds over the history up to that event and the event is one of the touchpoints the
   rule names (events with the same timestamp are simultaneous);
2. the *candidate* at an event is the furthest stage (in model order) that fires there;
3. a **linear** model never moves back: the stage is the furthest candidate so far; a
   **circular** model moves to the candidate of the latest event that has one (it may go back,
   e.g. a loyal customer who starts evaluating again);
4. a **lapse** stage is entered ``after_days`` after an *activity* touchpoint that no other
   activity follows within that time; the journey then restarts from the lapse stage: the
   next candidate decides the stage, and a linear model climbs again from there;
5. an entry is recorded whenever the stage changes; ``exited_at`` is the next entry's time.
"""

from __future__ import annotations

from collections.abc import Sequence
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

__all__ = ["StageInput", "compile_history", "epoch_us"]

_SECONDS_PER_DAY = 86_400
_RANK_BASE = 64
_TOUCHPOINT_TYPES = ("track", "page", "screen")


@dataclass(frozen=True)
class StageInput:
    """Where the events and traits of the units (customers or accounts) are.

    ``events`` is a table or a query with at least ``unit_id``, ``ts``, ``seq``, ``event_id``,
    ``type``, ``event``, ``properties`` (JSON text) and, when the model uses traits, ``traits``.
    """

    events: exp.Expression = field(default_factory=lambda: exp.to_table("unit_events"))


def epoch_us(ts: datetime) -> int:
    """Microseconds since 1970-01-01 UTC of a naive-UTC or aware datetime."""
    aware = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    delta = aware - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _window(
    func: exp.Expression,
    *,
    order: Sequence[str] = ("t",),
    partition: Sequence[str] = ("unit_id",),
    kind: str | None = "RANGE",
    preceding: exp.Expression | str = "UNBOUNDED",
) -> exp.Window:
    spec = None
    if kind:
        spec = exp.WindowSpec(kind=kind, start=preceding, start_side="PRECEDING",
                              end="CURRENT ROW")
    return exp.Window(
        this=func,
        partition_by=[col(p) for p in partition],
        order=exp.Order(expressions=[exp.Ordered(this=col(o), nulls_first=False) for o in order]),
        spec=spec,
    )


def _shift(kind: type[exp.Lag] | type[exp.Lead], column: str, order: Sequence[str],
           cast: str | None) -> exp.Window:
    """lag/lead; NULL past the ends on every engine (ClickHouse gives the type's default unless
    the value is Nullable, which the cast makes it)."""
    value = col(column) if cast is None else exp.Cast(this=col(column),
                                                      to=exp.DataType.build(cast))
    return exp.Window(
        this=kind(this=value),
        partition_by=[col("unit_id")],
        order=exp.Order(expressions=[exp.Ordered(this=col(o), nulls_first=False) for o in order]),
    )


def _json_text(column: str, name: str) -> exp.Expression:
    path = "$." + ".".join(f'"{part}"' if not part.isidentifier() else part
                           for part in name.split("."))
    return exp.JSONExtractScalar(this=col(column), expression=lit(path))


def _condition(column: str, cond: Condition) -> exp.Expression:
    text = _json_text(column, cond.name)
    number = exp.TryCast(this=text, to=exp.DataType.build("DOUBLE"))

    def side(value: float | str) -> tuple[exp.Expression, exp.Expression]:
        return (number, lit(value)) if isinstance(value, float) else (text, lit(value))

    if cond.op in ("in", "not_in"):
        values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
        numeric = all(isinstance(v, float) for v in values)
        target = number if numeric else text
        test: exp.Expression = exp.In(this=target, expressions=[lit(v) for v in values])
        if not numeric:
            test = exp.In(this=text, expressions=[lit(str(v) if not isinstance(v, float) else
                                                      _number_text(v)) for v in values])
        return exp.Not(this=test) if cond.op == "not_in" else test
    if cond.op == "contains":
        return exp.GT(
            this=exp.StrPosition(this=exp.Lower(this=text), substr=lit(str(cond.value).lower())),
            expression=lit(0),
        )
    assert not isinstance(cond.value, tuple)
    left, right = side(cond.value)
    ops: dict[str, type[exp.Binary]] = {"=": exp.EQ, "!=": exp.NEQ, ">": exp.GT, ">=": exp.GTE,
                                         "<": exp.LT, "<=": exp.LTE}
    return ops[cond.op](this=left, expression=right)


def _number_text(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _true_or_false(condition: exp.Expression) -> exp.Expression:
    """NULL (a missing property) counts as false."""
    return exp.Coalesce(this=exp.paren(condition, copy=False), expressions=[exp.false()])


def _atom_match(atom: TouchpointAtom) -> exp.Expression:
    kind = (exp.In(this=col("type"), expressions=[lit(t) for t in _TOUCHPOINT_TYPES])
            if atom.events is None
            else exp.In(this=col("event"), expressions=[lit(e) for e in atom.events]))
    conditions = [_true_or_false(_condition("properties", c)) for c in atom.where]
    return exp.and_(kind, *conditions) if conditions else kind


def _flag(condition: exp.Expression) -> exp.Expression:
    return exp.Case(ifs=[exp.If(this=condition, true=lit(1))], default=lit(0))


MatchKey = tuple[tuple[str, ...] | None, tuple[Condition, ...]]
CountKey = tuple[tuple[str, ...] | None, tuple[Condition, ...], float | None]


class _Compiler:
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
            return exp.and_(*[_true_or_false(_condition("traits", c)) for c in rule.conditions])
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


def _select_star(source: str, extra: Sequence[exp.Expression]) -> exp.Select:
    return exp.select(exp.Star(), *extra).from_(source)


def compile_history(model: JourneyModel, source: StageInput, as_of: datetime) -> exp.Select:
    """The stage entry history of every unit, up to ``as_of`` (naive UTC or aware)."""
    c = _Compiler(model)
    as_of_s = epoch_us(as_of) // 1_000_000
    ctes: list[tuple[str, exp.Expression]] = []
    base_cols: list[exp.Expression] = [
        col("unit_id"), col("ts"), col("seq"), col("event_id"),
        exp.alias_(_seconds(col("ts")), "t"),
    ]
    for atom in c.matches.values():
        base_cols.append(exp.alias_(_flag(_atom_match(atom)), c.match_name(atom)))
    with_traits = any(uses_traits(s.entry) for s in model.entry_stages if s.entry)
    if with_traits:
        base_cols.append(col("traits"))
    lapse_activity = [s.lapse.activity for s in model.lapse_stages if s.lapse]
    if lapse_activity:
        base_cols.append(exp.alias_(_flag(_atom_match(lapse_activity[0])), "activity"))
    ts_limit = exp.LTE(this=_seconds(col("ts")), expression=lit(as_of_s))
    base = exp.select(*base_cols).from_(exp.Subquery(this=source.events.copy(), alias="src")
                                        if isinstance(source.events, exp.Select)
                                        else source.events.copy()).where(ts_limit)
    ctes.append(("jl_base", base))

    counts = []
    for atom in c.counts.values():
        preceding: exp.Expression | str = "UNBOUNDED"
        if atom.within_days is not None:
            preceding = lit(round(atom.within_days * _SECONDS_PER_DAY))
        counts.append(exp.alias_(_window(exp.Sum(this=col(c.match_name(atom))),
                                         preceding=preceding), c.count_name(atom)))
    ctes.append(("jl_counts", _select_star("jl_base", counts)))

    previous = "jl_counts"
    fired: list[str] = []
    after_done: set[str] = set()
    for depth, layer in enumerate(c.depth_layers()):
        if depth:
            refs = sorted({r for s in layer for r in _refs(c.model.stage(s).entry)} - after_done)
            after_done.update(refs)
            after_cols = [exp.alias_(_window(exp.Max(this=col(f"f_{r}"))), f"a_{r}")
                          for r in refs]
            name = f"jl_after_{depth}"
            ctes.append((name, _select_star(previous, after_cols)))
            previous = name
        fire_cols = []
        for stage_id in layer:
            rule = c.model.stage(stage_id).entry
            assert rule is not None
            fire_cols.append(exp.alias_(
                _flag(exp.and_(exp.paren(c.holds(rule), copy=False),
                               exp.paren(c.trigger(rule), copy=False))), f"f_{stage_id}"))
            fired.append(stage_id)
        name = f"jl_fire_{depth}"
        ctes.append((name, _select_star(previous, fire_cols)))
        previous = name

    ranks = {s.id: model.rank(s.id) for s in model.stages}
    candidate = exp.Case(
        ifs=[exp.If(this=exp.EQ(this=col(f"f_{s}"), expression=lit(1)), true=lit(ranks[s]))
             for s in sorted(fired, key=lambda s: -ranks[s])],
        default=exp.null(),
    )
    rows = exp.select(
        col("unit_id"), col("t"), col("ts"), exp.alias_(lit(1), "ord"), col("seq"),
        col("event_id"),
        exp.alias_(candidate, "cand"),
        exp.alias_(exp.Cast(this=exp.null(), to=exp.DataType.build("INT")), "lapse_rank"),
    ).from_(previous)
    if lapse_activity:
        ctes.append(("jl_act", exp.select(col("unit_id"), col("t")).from_("jl_base")
                     .where(exp.EQ(this=col("activity"), expression=lit(1)))
                     .group_by(col("unit_id"), col("t"))))
        ctes.append(("jl_gap", exp.select(
            col("unit_id"), col("t"),
            exp.alias_(_shift(exp.Lead, "t", ("t",), "BIGINT"), "next_t"),
        ).from_("jl_act")))
        lapses: exp.Expression | None = None
        for stage in model.lapse_stages:
            assert stage.lapse is not None
            point = exp.Add(this=col("t"),
                            expression=lit(round(stage.lapse.after_days * _SECONDS_PER_DAY)))
            lapsed = exp.or_(
                exp.and_(exp.Is(this=col("next_t"), expression=exp.null()),
                         exp.LTE(this=point, expression=lit(as_of_s))),
                exp.GT(this=col("next_t"), expression=point.copy()),
            )
            one = exp.select(col("unit_id"), exp.alias_(point.copy(), "lapse_t"),
                             exp.alias_(lit(ranks[stage.id]), "lapse_rank")
                             ).from_("jl_gap").where(lapsed)
            lapses = one if lapses is None else exp.union(lapses, one, distinct=False)
        assert lapses is not None
        ctes.append(("jl_lapse", lapses))
        # (ClickHouse lets a SELECT alias shadow a column in the same SELECT: lapse points get
        # their own name, lapse_t, before they become t)
        rows = rows.union(exp.select(
            col("unit_id"), exp.alias_(col("lapse_t"), "t"),
            exp.alias_(_from_seconds(col("lapse_t")), "ts"), exp.alias_(lit(0), "ord"),
            exp.alias_(lit(0), "seq"),
            exp.alias_(exp.Cast(this=exp.null(), to=exp.DataType.build("VARCHAR")), "event_id"),
            exp.alias_(exp.Cast(this=exp.null(), to=exp.DataType.build("INT")), "cand"),
            col("lapse_rank"),
        ).from_("jl_lapse"), distinct=False)
    ctes.append(("jl_rows", rows))
    order = ("t", "ord", "seq", "event_id")
    ctes.append(("jl_seg", _select_star("jl_rows", [exp.alias_(_window(
        exp.Sum(this=_flag(exp.EQ(this=col("ord"), expression=lit(0)))), order=order,
        kind="ROWS"), "seg")])))
    if model.circular:
        keyed = exp.Case(ifs=[exp.If(
            this=exp.Not(this=exp.Is(this=col("cand"), expression=exp.null())),
            true=exp.Add(this=exp.Mul(this=col("t"), expression=lit(_RANK_BASE)),
                         expression=col("cand")))], default=exp.null())
        latest = _window(exp.Max(this=keyed), partition=("unit_id", "seg"))
        run: exp.Expression = exp.Sub(
            this=latest,
            expression=exp.Mul(this=exp.IntDiv(this=latest.copy(), expression=lit(_RANK_BASE)),
                               expression=lit(_RANK_BASE)))
    else:
        run = _window(exp.Max(this=col("cand")), partition=("unit_id", "seg"))
    lapse_of_segment = exp.Window(this=exp.Max(this=col("lapse_rank")),
                                  partition_by=[col("unit_id"), col("seg")])
    ctes.append(("jl_stage", exp.select(
        col("unit_id"), col("t"), col("ts"), col("ord"), col("seq"), col("event_id"),
        exp.alias_(exp.Coalesce(this=run, expressions=[lapse_of_segment]), "stage_rank"),
    ).from_("jl_seg")))
    ctes.append(("jl_change", _select_star("jl_stage", [exp.alias_(
        _shift(exp.Lag, "stage_rank", order, "INT"), "prev_rank")])))
    changed = exp.and_(
        exp.Not(this=exp.Is(this=col("stage_rank"), expression=exp.null())),
        exp.or_(exp.Is(this=col("prev_rank"), expression=exp.null()),
                exp.NEQ(this=col("stage_rank"), expression=col("prev_rank"))),
    )
    ctes.append(("jl_entries", exp.select(
        col("unit_id"), col("t"), col("ts"), col("ord"), col("seq"), col("event_id"),
        col("stage_rank"),
    ).from_("jl_change").where(changed)))
    stage_name = exp.Case(
        ifs=[exp.If(this=exp.EQ(this=col("stage_rank"), expression=lit(r)), true=lit(s))
             for s, r in ranks.items()])
    final = exp.select(
        col("unit_id"),
        exp.alias_(stage_name, "stage"),
        col("stage_rank"),
        exp.alias_(col("ts"), "entered_at"),
        col("event_id"),
        exp.alias_(_shift(exp.Lead, "ts", order, None), "exited_at"),
        exp.alias_(_window(exp.RowNumber(), order=order, kind=None), "entry_number"),
    ).from_("jl_entries")
    for name, query in ctes:
        final = final.with_(name, as_=query)
    return final.order_by(col("unit_id"), col("entry_number"))


def _seconds(ts: exp.Expression) -> exp.Expression:
    """Whole seconds since the epoch (floor): the resolution of stage rules."""
    return exp.IntDiv(this=exp.UnixMicros(this=ts), expression=lit(1_000_000))


def _from_seconds(seconds: exp.Expression) -> exp.Expression:
    micros = exp.Mul(this=exp.paren(seconds, copy=False), expression=lit(1_000_000))
    return exp.UnixToTime(this=micros, scale=exp.UnixToTime.MICROS)


def _refs(rule: Rule | None) -> set[str]:
    return stage_references(rule) if rule is not None else set()


def uses_traits(rule: Rule | None) -> bool:
    if isinstance(rule, TraitAtom):
        return True
    if isinstance(rule, AllOf | AnyOf):
        return any(uses_traits(r) for r in rule.rules)
    if isinstance(rule, Not):
        return uses_traits(rule.rule)
    return False
