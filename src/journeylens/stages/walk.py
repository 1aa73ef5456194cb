"""The general stage compiler: a walk over every event with window functions.

Used for circular models (a customer may move back, so every change of candidate matters).
Linear models take the faster route in :mod:`journeylens.stages.linear`; both follow the
definition in :mod:`journeylens.stages.compile` and give the same histories.
"""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from journeylens.sql import col, lit
from journeylens.stages.model import JourneyModel
from journeylens.stages.sqlparts import (
    RANK_BASE,
    SECONDS_PER_DAY,
    RuleCompiler,
    StageInput,
    atom_match,
    epoch_us,
    flag,
    from_seconds,
    lapse_ctes,
    qualified,
    refs,
    relation,
    seconds,
    select_star,
    shift,
    uses_traits,
    window,
)

__all__ = ["compile_walk"]

_ENTRY_COLUMNS = ("unit_id", "t", "ts", "ord", "seq", "event_id", "stage_rank")


def compile_walk(model: JourneyModel, source: StageInput, as_of: datetime) -> exp.Select:
    """The stage entry history of every unit, up to ``as_of`` (naive UTC or aware), by a walk
    over every event with window functions."""
    c = RuleCompiler(model)
    as_of_s = epoch_us(as_of) // 1_000_000
    ctes: list[tuple[str, exp.Expression]] = []
    base_cols: list[exp.Expression] = [
        col("unit_id", "src"),
        col("ts", "src"),
        col("seq", "src"),
        col("event_id", "src"),
        exp.alias_(seconds(col("ts", "src")), "t"),
    ]
    for atom in c.matches.values():
        base_cols.append(exp.alias_(flag(atom_match(atom, source.event_codes)), c.match_name(atom)))
    with_traits = any(uses_traits(s.entry) for s in model.entry_stages if s.entry)
    if with_traits:
        base_cols.append(col("traits", "tr"))
    lapse_activity = [s.lapse.activity for s in model.lapse_stages if s.lapse]
    if lapse_activity:
        base_cols.append(
            exp.alias_(flag(atom_match(lapse_activity[0], source.event_codes)), "activity")
        )
    ts_limit = exp.LTE(this=seconds(col("ts", "src")), expression=lit(as_of_s))
    base = exp.select(*base_cols).from_(relation(source.events, "src")).where(ts_limit)
    if with_traits:
        assert source.traits is not None, "the model reads traits: StageInput.traits is needed"
        base = base.join(
            relation(source.traits, "tr"),
            join_type="left",
            on=exp.EQ(this=col("unit_id", "tr"), expression=col("unit_id", "src")),
        )

    ctes.append(("jl_base", base))

    counts = []
    for atom in c.counts.values():
        preceding: exp.Expression | str = "UNBOUNDED"
        if atom.within_days is not None:
            preceding = lit(round(atom.within_days * SECONDS_PER_DAY))
        counts.append(
            exp.alias_(
                window(exp.Sum(this=col(c.match_name(atom))), preceding=preceding),
                c.count_name(atom),
            )
        )
    ctes.append(("jl_counts", select_star("jl_base", counts)))

    previous = "jl_counts"
    fired: list[str] = []
    after_done: set[str] = set()
    for depth, layer in enumerate(c.depth_layers()):
        if depth:
            needed = sorted({r for s in layer for r in refs(c.model.stage(s).entry)} - after_done)
            after_done.update(needed)
            after_cols = [exp.alias_(window(exp.Max(this=col(f"f_{r}"))), f"a_{r}") for r in needed]
            name = f"jl_after_{depth}"
            ctes.append((name, select_star(previous, after_cols)))
            previous = name
        fire_cols = []
        for stage_id in layer:
            rule = c.model.stage(stage_id).entry
            assert rule is not None
            fire_cols.append(
                exp.alias_(
                    flag(
                        exp.and_(
                            exp.paren(c.holds(rule), copy=False),
                            exp.paren(c.trigger(rule), copy=False),
                        )
                    ),
                    f"f_{stage_id}",
                )
            )
            fired.append(stage_id)
        name = f"jl_fire_{depth}"
        ctes.append((name, select_star(previous, fire_cols)))
        previous = name

    ranks = {s.id: model.rank(s.id) for s in model.stages}
    candidate = exp.Case(
        ifs=[
            exp.If(this=exp.EQ(this=col(f"f_{s}"), expression=lit(1)), true=lit(ranks[s]))
            for s in sorted(fired, key=lambda s: -ranks[s])
        ],
        default=exp.null(),
    )
    rows = exp.select(
        col("unit_id"),
        col("t"),
        col("ts"),
        exp.alias_(lit(1), "ord"),
        col("seq"),
        col("event_id"),
        exp.alias_(candidate, "cand"),
        exp.alias_(exp.Cast(this=exp.null(), to=exp.DataType.build("INT")), "lapse_rank"),
    ).from_(previous)
    if lapse_activity:
        ctes += lapse_ctes(model, as_of_s)
        rows = rows.union(
            exp.select(
                col("unit_id"),
                exp.alias_(col("lapse_t"), "t"),
                exp.alias_(from_seconds(col("lapse_t")), "ts"),
                exp.alias_(lit(0), "ord"),
                exp.alias_(lit(0), "seq"),
                exp.alias_(exp.Cast(this=exp.null(), to=exp.DataType.build("VARCHAR")), "event_id"),
                exp.alias_(exp.Cast(this=exp.null(), to=exp.DataType.build("INT")), "cand"),
                col("lapse_rank"),
            ).from_("jl_lapse"),
            distinct=False,
        )
    ctes.append(("jl_rows", rows))
    order = ("t", "ord", "seq", "event_id")
    ctes.append(
        (
            "jl_seg",
            select_star(
                "jl_rows",
                [
                    exp.alias_(
                        window(
                            exp.Sum(this=flag(exp.EQ(this=col("ord"), expression=lit(0)))),
                            order=order,
                            kind="ROWS",
                        ),
                        "seg",
                    )
                ],
            ),
        )
    )
    if model.circular:
        keyed = exp.Case(
            ifs=[
                exp.If(
                    this=exp.Not(this=exp.Is(this=col("cand"), expression=exp.null())),
                    true=exp.Add(
                        this=exp.Mul(this=col("t"), expression=lit(RANK_BASE)),
                        expression=col("cand"),
                    ),
                )
            ],
            default=exp.null(),
        )
        latest = window(exp.Max(this=keyed), partition=("unit_id", "seg"))
        run: exp.Expression = exp.Sub(
            this=latest,
            expression=exp.Mul(
                this=exp.IntDiv(this=latest.copy(), expression=lit(RANK_BASE)),
                expression=lit(RANK_BASE),
            ),
        )
    else:
        run = window(exp.Max(this=col("cand")), partition=("unit_id", "seg"))
    lapse_of_segment = exp.Window(
        this=exp.Max(this=col("lapse_rank")), partition_by=[col("unit_id"), col("seg")]
    )
    ctes.append(
        (
            "jl_stage",
            exp.select(
                col("unit_id"),
                col("t"),
                col("ts"),
                col("ord"),
                col("seq"),
                col("event_id"),
                exp.alias_(
                    exp.Case(
                        # a lapse row is the lapse stage, whatever happens later in the same second
                        ifs=[
                            exp.If(
                                this=exp.EQ(this=col("ord"), expression=lit(0)),
                                true=col("lapse_rank"),
                            )
                        ],
                        default=exp.Coalesce(this=run, expressions=[lapse_of_segment]),
                    ),
                    "stage_rank",
                ),
            ).from_("jl_seg"),
        )
    )
    ctes.append(
        (
            "jl_change",
            select_star(
                "jl_stage", [exp.alias_(shift(exp.Lag, "stage_rank", order, "INT"), "prev_rank")]
            ),
        )
    )
    changed = exp.and_(
        exp.Not(this=exp.Is(this=col("stage_rank"), expression=exp.null())),
        exp.or_(
            exp.Is(this=col("prev_rank"), expression=exp.null()),
            exp.NEQ(this=col("stage_rank"), expression=col("prev_rank")),
        ),
    )
    ctes.append(
        (
            "jl_changes",
            exp.select(*[col(n) for n in _ENTRY_COLUMNS]).from_("jl_change").where(changed),
        )
    )

    # the event of an entry: the first event at that instant that fires the entered stage
    firing = (
        exp.select(
            qualified("unit_id", "c"),
            qualified("t", "c"),
            exp.alias_(exp.Min(this=col("ts", "r")), "ts"),
            qualified("ord", "c"),
            exp.alias_(exp.Min(this=col("seq", "r")), "seq"),
            exp.alias_(
                exp.ArgMin(this=col("event_id", "r"), expression=col("seq", "r")), "event_id"
            ),
            qualified("stage_rank", "c"),
        )
        .from_(exp.to_table("jl_changes").as_("c"))
        .join(
            exp.to_table("jl_rows").as_("r"),
            on=exp.and_(
                exp.EQ(this=col("unit_id", "r"), expression=col("unit_id", "c")),
                exp.EQ(this=col("t", "r"), expression=col("t", "c")),
            ),
        )
        .where(
            exp.and_(
                exp.EQ(this=col("ord", "c"), expression=lit(1)),
                exp.EQ(this=col("cand", "r"), expression=col("stage_rank", "c")),
            )
        )
        .group_by(*[col(n, "c") for n in ("unit_id", "t", "ord", "stage_rank")])
    )
    lapsing = (
        exp.select(
            *[col(n) for n in _ENTRY_COLUMNS],
        )
        .from_("jl_changes")
        .where(exp.EQ(this=col("ord"), expression=lit(0)))
    )
    ctes.append(("jl_entries", exp.union(firing, lapsing, distinct=False)))
    stage_name = exp.Case(
        ifs=[
            exp.If(this=exp.EQ(this=col("stage_rank"), expression=lit(r)), true=lit(s))
            for s, r in ranks.items()
        ]
    )
    final = exp.select(
        col("unit_id"),
        exp.alias_(stage_name, "stage"),
        col("stage_rank"),
        exp.alias_(col("ts"), "entered_at"),
        col("event_id"),
        exp.alias_(shift(exp.Lead, "ts", order, None), "exited_at"),
        exp.alias_(window(exp.RowNumber(), order=order, kind=None), "entry_number"),
    ).from_("jl_entries")
    for name, query in ctes:
        final = final.with_(name, as_=query)
    return final.order_by(col("unit_id"), col("entry_number"))
