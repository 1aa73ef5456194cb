"""``workspace.stages``: journey models and stage analytics of one workspace.

>>> ws.stages.assign("five_phases")                                   # doctest: +SKIP
>>> ws.stages.occupancy("five_phases").as_mapping()                   # doctest: +SKIP
{'awareness': 1830, 'consideration': 655, ...}
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlglot import exp

from journeylens.config import WorkspaceConfig
from journeylens.engines.base import Engine
from journeylens.errors import NotFoundError
from journeylens.sql import col, lit
from journeylens.stages import analytics
from journeylens.stages.assign import StageHistory, assign
from journeylens.stages.model import JourneyModel, builtin_models, load_model
from journeylens.stages.results import OccupancySeries, StageCounts, StageFlows, StageFunnel

__all__ = ["DEFAULT_MODEL", "Stages"]

DEFAULT_MODEL = "five_phases"
ModelRef = str | Path | JourneyModel


class Stages:
    """Stage assignment and analytics over a workspace's engine."""

    def __init__(self, engine: Engine, config: WorkspaceConfig) -> None:
        self._engine = engine
        self._config = config

    @staticmethod
    def model(model: ModelRef = DEFAULT_MODEL) -> JourneyModel:
        """A built-in model by id, or a model file, validated."""
        return model if isinstance(model, JourneyModel) else load_model(model)

    @staticmethod
    def builtin() -> list[JourneyModel]:
        return builtin_models()

    def assign(
        self, model: ModelRef = DEFAULT_MODEL, *, as_of: datetime | None = None
    ) -> StageHistory:
        """Compute and store every customer's (or account's) stage history up to ``as_of``."""
        return assign(self._engine, self.model(model), as_of=as_of)

    def occupancy(
        self, model: ModelRef = DEFAULT_MODEL, *, at: datetime | None = None, by: str | None = None
    ) -> StageCounts:
        return analytics.occupancy(self._engine, self.model(model), at=_utc(at), by=by)

    def series(
        self,
        model: ModelRef = DEFAULT_MODEL,
        *,
        start: date,
        end: date,
        freq: analytics.Freq = "month",
        by: str | None = None,
    ) -> OccupancySeries:
        return analytics.occupancy_series(
            self._engine,
            self.model(model),
            start=start,
            end=end,
            freq=freq,
            timezone=self._config.timezone,
            by=by,
            week_start=0 if self._config.week_start == "monday" else 6,
        )

    def funnel(self, model: ModelRef = DEFAULT_MODEL, *, by: str | None = None) -> StageFunnel:
        return analytics.stage_funnel(self._engine, self.model(model), by=by)

    def flows(
        self, model: ModelRef = DEFAULT_MODEL, *, start: datetime, end: datetime
    ) -> StageFlows:
        moment_start, moment_end = _utc(start), _utc(end)
        assert moment_start is not None and moment_end is not None
        return analytics.flows(self._engine, self.model(model), start=moment_start, end=moment_end)

    def history_of(self, unit_id: str, model: ModelRef = DEFAULT_MODEL) -> list[dict[str, Any]]:
        """The stored stage entries of one customer (or account) id, oldest first."""
        journey = self.model(model)
        if not self._engine.table_exists("stage_entries"):
            raise NotFoundError(
                f"no stages assigned yet: run `journeylens stages assign --model {journey.id}`",
                kind="model",
                key=journey.id,
            )
        query = (
            exp.select("stage", "entered_at", "exited_at", "event_id", "entry_number")
            .from_("stage_entries")
            .where(
                exp.and_(
                    exp.EQ(this=col("model_id"), expression=lit(journey.id)),
                    exp.EQ(this=col("unit_id"), expression=lit(unit_id)),
                )
            )
            .order_by("entry_number")
        )
        rows = self._engine.rows(query)
        for row in rows:
            row["label"] = journey.stage(row["stage"]).label(self._config.locale)
        return rows


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)
