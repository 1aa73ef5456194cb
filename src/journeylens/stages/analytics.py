"""Stage analytics over the stored history (``stage_entries``): occupancy now and at any date,
occupancy over time, the stage funnel with conversion and time to move on, and flows.

Definitions (docs/stages.md):

* **occupancy at t**: units whose latest entry at or before ``t`` is into that stage
  (``entered_at <= t < exited_at``);
* **occupancy series**: occupancy at the end of each day, week or month in the reporting time
  zone (daylight-saving changes included);
* **entered**: units with at least one entry into the stage; **reached**: units whose furthest
  entry stage is this one or a later one (skipping a stage still counts as reaching it);
  **conversion to next** = reached(next) / reached(this);
* **time to move on**: from a unit's first entry into the stage to its first later entry into a
  further stage (lapse stages excluded), as median and percentiles, in seconds;
* **flows** between two dates: every entry in ``[start, end)`` with the stage it came from
  (``(new)`` for a first entry), labelled ``new``, ``forward``, ``backward``, ``lapse`` or
  ``return`` (back from a lapse stage).

Breakdowns (``by``): ``channel`` and ``source`` of the unit's first touchpoint, ``segment``
(``B2B`` for customers who belong to an account, else ``B2C``), or ``trait:NAME`` (a profile
trait, or an account trait for account models).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlglot
from sqlglot import exp

from journeylens.engines.base import Engine
from journeylens.errors import ConfigError, NotFoundError
from journeylens.stages.model import JourneyModel
from journeylens.stages.results import OccupancySeries, StageCounts, StageFlows, StageFunnel

__all__ = ["Freq", "flows", "occupancy", "occupancy_series", "stage_funnel", "unit_dimension"]

Freq = Literal["day", "week", "month"]
BREAKDOWNS = ("channel", "source", "segment", "trait:NAME")


def _parse(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="duckdb")


def _ts(value: datetime) -> exp.Expression:
    return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), "TIMESTAMP")


def _fill(template: exp.Expression, **values: Any) -> exp.Expression:
    converted = {
        k: v if isinstance(v, exp.Expression) else exp.convert(v) for k, v in values.items()
    }
    return exp.replace_placeholders(template.copy(), **converted)


def _check_run(engine: Engine, model: JourneyModel) -> datetime:
    if not engine.table_exists("stage_runs"):
        raise NotFoundError(
            f"no stages assigned yet for model {model.id!r}: run `journeylens "
            f"stages assign --model {model.id}` first",
            kind="model",
            key=model.id,
        )
    rows = engine.rows(_fill(_RUN, model=model.id))
    if not rows:
        raise NotFoundError(
            f"no stages assigned yet for model {model.id!r}: run `journeylens "
            f"stages assign --model {model.id}` first",
            kind="model",
            key=model.id,
        )
    as_of: datetime = rows[0]["as_of"]
    return as_of


_RUN = _parse("SELECT as_of FROM stage_runs WHERE model_id = :model")

_FIRST_TOUCH = {
    "channel": "channel",
    "source": "source",
}


def unit_dimension(model: JourneyModel, by: str) -> exp.Expression:
    """A query ``(unit_id, value)`` giving each unit's value of the breakdown ``by``."""
    customer = model.level == "customer"
    if by in _FIRST_TOUCH:
        column = exp.to_identifier(_FIRST_TOUCH[by])
        unit = "e.customer_id" if customer else "m.account_id"
        join = "" if customer else " JOIN account_members m ON m.customer_id = e.customer_id"
        query = _parse(
            f"SELECT {unit} AS unit_id, arg_min(e.x, e.ts) AS value FROM customer_events e{join} "
            "WHERE e.type IN ('track', 'page', 'screen') GROUP BY 1"
        )
        for node in query.find_all(exp.Column):
            if node.name == "x":
                node.set("this", column.copy())
        return query
    if by == "segment":
        if not customer:
            raise ConfigError(
                "by segment: account models are all B2B; break down by trait:NAME instead",
                field="by",
            )
        return _parse(
            "SELECT p.customer_id AS unit_id, CASE WHEN p.customer_id IN "
            "(SELECT customer_id FROM account_members) THEN 'B2B' ELSE 'B2C' END AS value "
            "FROM customer_profiles p"
        )
    if by.startswith("trait:") and len(by) > 6:
        table, key = (
            ("customer_profiles", "customer_id") if customer else ("accounts", "account_id")
        )
        query = _parse(
            f"SELECT {key} AS unit_id, json_extract_string(traits, :path) AS value FROM {table}"
        )
        return _fill(query, path="$." + by[6:])
    raise ConfigError(
        f"by: unknown breakdown {by!r}; use one of {', '.join(BREAKDOWNS)}",
        field="by",
        allowed=BREAKDOWNS,
    )


def _with_dimension(query: exp.Select, model: JourneyModel, by: str | None) -> exp.Select:
    if by is None:
        return query.select(exp.alias_(exp.Null(), "segment_value"))
    dim = unit_dimension(model, by)
    return query.select(
        exp.alias_(
            exp.Coalesce(this=exp.column("value", "d"), expressions=[exp.Literal.string("(none)")]),
            "segment_value",
        )
    ).join(
        exp.Subquery(this=dim, alias=exp.TableAlias(this=exp.to_identifier("d"))),
        join_type="left",
        on="d.unit_id = s.unit_id",
    )


_OCCUPANCY = _parse(
    "SELECT s.stage, s.stage_rank, s.unit_id FROM stage_entries s "
    "WHERE s.model_id = :model AND s.entered_at <= :at AND (s.exited_at IS NULL OR "
    "s.exited_at > :at)"
)


def occupancy(
    engine: Engine, model: JourneyModel, *, at: datetime | None = None, by: str | None = None
) -> StageCounts:
    """How many units are in each stage at ``at`` (naive UTC; default: the history's as_of)."""
    as_of = _check_run(engine, model)
    moment = at or as_of
    if moment > as_of:
        raise ConfigError(
            f"at: {moment} is after the history's as_of {as_of}; assign stages "
            "again with a later --as-of",
            field="at",
        )
    base = _fill(_OCCUPANCY, model=model.id, at=_ts(moment))
    assert isinstance(base, exp.Select)
    inner = _with_dimension(base, model, by)
    query = (
        exp.select(
            "stage", "stage_rank", "segment_value", exp.alias_(exp.Count(this=exp.Star()), "units")
        )
        .from_(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("o"))))
        .group_by("stage", "stage_rank", "segment_value")
        .order_by("segment_value", "stage_rank")
    )
    return StageCounts(model, moment, by, engine.rows(query))


def _period_starts(start: date, end: date, freq: Freq, week_start: int) -> list[date]:
    if freq == "day":
        first = start
    elif freq == "week":
        first = start - timedelta(days=(start.weekday() - week_start) % 7)
    else:
        first = start.replace(day=1)
    out = []
    current = first
    while current <= end:
        out.append(current)
        if freq == "day":
            current += timedelta(days=1)
        elif freq == "week":
            current += timedelta(days=7)
        else:
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


def _next_start(period: date, freq: Freq) -> date:
    if freq == "day":
        return period + timedelta(days=1)
    if freq == "week":
        return period + timedelta(days=7)
    return (period.replace(day=28) + timedelta(days=4)).replace(day=1)


def occupancy_series(
    engine: Engine,
    model: JourneyModel,
    *,
    start: date,
    end: date,
    freq: Freq = "month",
    timezone: str = "UTC",
    week_start: int = 0,
    by: str | None = None,
) -> OccupancySeries:
    """Occupancy at the end of every period from ``start`` to ``end`` (local dates)."""
    if freq not in ("day", "week", "month"):
        raise ConfigError(f"freq: must be day, week or month, got {freq!r}", field="freq")
    if end < start:
        raise ConfigError("end: before start", field="end")
    as_of = _check_run(engine, model)
    zone = ZoneInfo(timezone)
    periods = []
    for period in _period_starts(start, end, freq, week_start):
        boundary = datetime.combine(_next_start(period, freq), time(0), zone)
        instant = boundary.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
        periods.append((period, min(instant, as_of + timedelta(microseconds=1))))
    values = exp.values(
        [
            exp.tuple_(exp.cast(exp.Literal.string(p.isoformat()), "DATE"), _ts(b))
            for p, b in periods
        ],
        alias="p",
        columns=["period", "boundary"],
    )
    query = (
        exp.select("p.period", "s.stage", "s.stage_rank", "s.unit_id")
        .from_(values)
        .join(
            "stage_entries s",
            on=exp.and_(
                exp.EQ(this=exp.column("model_id", "s"), expression=exp.convert(model.id)),
                _parse("s.entered_at < p.boundary"),
                _parse("(s.exited_at IS NULL OR s.exited_at >= p.boundary)"),
            ),
        )
    )
    inner = _with_dimension(query, model, by)
    grouped = (
        exp.select(
            "period",
            "stage",
            "stage_rank",
            "segment_value",
            exp.alias_(exp.Count(this=exp.Star()), "units"),
        )
        .from_(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("o"))))
        .group_by("period", "stage", "stage_rank", "segment_value")
        .order_by("period", "segment_value", "stage_rank")
    )
    return OccupancySeries(model, freq, timezone, by, engine.rows(grouped))


_FUNNEL = _parse("""
WITH e AS (
  SELECT s.unit_id, s.stage_rank, s.entered_at, coalesce(d.value, '(none)') AS seg
  FROM stage_entries s LEFT JOIN :dimension d ON d.unit_id = s.unit_id
  WHERE s.model_id = :model AND s.stage_rank IN :ranks
), first_in AS (
  SELECT unit_id, seg, stage_rank, min(entered_at) AS first_at FROM e
  GROUP BY unit_id, seg, stage_rank
), moved AS (
  SELECT f.unit_id, f.seg, f.stage_rank,
         epoch(min(x.entered_at)) - epoch(f.first_at) AS seconds
  FROM first_in f JOIN e x ON x.unit_id = f.unit_id AND x.stage_rank > f.stage_rank
       AND x.entered_at >= f.first_at
  GROUP BY f.unit_id, f.seg, f.stage_rank, f.first_at
), top AS (
  SELECT unit_id, seg, max(stage_rank) AS top_rank FROM e GROUP BY unit_id, seg
), segs AS (
  SELECT DISTINCT seg FROM top
)
SELECT g.seg AS segment_value, r.rank AS stage_rank,
  (SELECT count(*) FROM first_in f WHERE f.stage_rank = r.rank AND f.seg = g.seg) AS entered,
  (SELECT count(*) FROM top t WHERE t.top_rank >= r.rank AND t.seg = g.seg) AS reached,
  (SELECT count(*) FROM moved m WHERE m.stage_rank = r.rank AND m.seg = g.seg) AS moved_on,
  (SELECT quantile_cont(m.seconds, 0.25) FROM moved m
   WHERE m.stage_rank = r.rank AND m.seg = g.seg) AS p25_seconds,
  (SELECT quantile_cont(m.seconds, 0.5) FROM moved m
   WHERE m.stage_rank = r.rank AND m.seg = g.seg) AS median_seconds,
  (SELECT quantile_cont(m.seconds, 0.75) FROM moved m
   WHERE m.stage_rank = r.rank AND m.seg = g.seg) AS p75_seconds,
  (SELECT quantile_cont(m.seconds, 0.9) FROM moved m
   WHERE m.stage_rank = r.rank AND m.seg = g.seg) AS p90_seconds
FROM (SELECT unnest(:rank_list) AS rank) r CROSS JOIN segs g
ORDER BY g.seg, r.rank
""")

_NO_DIMENSION = _parse("SELECT CAST(NULL AS VARCHAR) AS unit_id, CAST(NULL AS VARCHAR) AS value")


def stage_funnel(engine: Engine, model: JourneyModel, *, by: str | None = None) -> StageFunnel:
    """Entered, reached, conversion to the next stage and time to move on, per entry stage
    (and per value of the breakdown ``by``)."""
    _check_run(engine, model)
    ranks = [model.rank(s.id) for s in model.entry_stages]
    dimension = unit_dimension(model, by) if by else _NO_DIMENSION
    query = _fill(
        _FUNNEL,
        model=model.id,
        dimension=exp.Subquery(this=dimension.copy()),
        ranks=exp.Tuple(expressions=[exp.convert(r) for r in ranks]),
        rank_list=exp.Array(expressions=[exp.convert(r) for r in ranks]),
    )
    rows = engine.rows(query)
    if by is None:
        for row in rows:
            row["segment_value"] = None
    return StageFunnel(model, rows, by)


_FLOWS = _parse("""
WITH h AS (
  SELECT s.unit_id, s.stage, s.stage_rank, s.entered_at,
         lag(s.stage) OVER (PARTITION BY s.unit_id ORDER BY s.entry_number) AS from_stage,
         lag(s.stage_rank) OVER (PARTITION BY s.unit_id ORDER BY s.entry_number) AS from_rank
  FROM stage_entries s WHERE s.model_id = :model
)
SELECT coalesce(from_stage, '(new)') AS from_stage, from_rank, stage AS to_stage,
       stage_rank AS to_rank, count(*) AS units
FROM h WHERE entered_at >= :start AND entered_at < :end
GROUP BY 1, 2, 3, 4 ORDER BY units DESC, from_stage, to_stage
""")


def flows(engine: Engine, model: JourneyModel, *, start: datetime, end: datetime) -> StageFlows:
    """Moves between stages whose entry falls in ``[start, end)`` (naive UTC)."""
    _check_run(engine, model)
    rows = engine.rows(_fill(_FLOWS, model=model.id, start=_ts(start), end=_ts(end)))
    lapse = {model.rank(s.id) for s in model.lapse_stages}
    for row in rows:
        row["kind"] = _flow_kind(row["from_rank"], row["to_rank"], lapse)
    return StageFlows(model, start, end, rows)


def _flow_kind(from_rank: int | None, to_rank: int, lapse: set[int]) -> str:
    if from_rank is None:
        return "new"
    if to_rank in lapse:
        return "lapse"
    if from_rank in lapse:
        return "return"
    return "forward" if to_rank > from_rank else "backward"


def stage_ids(model: JourneyModel) -> Sequence[str]:
    return [s.id for s in model.stages]
