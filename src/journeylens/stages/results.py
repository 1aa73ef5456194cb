"""Typed results of the stage analytics: tables that convert to pandas, dicts and Plotly figures.

Every figure has a twin that returns its data (``to_dict``/``to_pandas``): the dashboard's JSON
endpoints return the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from journeylens.stages.model import JourneyModel

__all__ = ["OccupancySeries", "StageCounts", "StageFlows", "StageFunnel"]


def _label(model: JourneyModel, stage_id: str, language: str) -> str:
    return model.stage(stage_id).label(language)


@dataclass(frozen=True)
class StageCounts:
    """Units per stage at one moment (``segment_value`` holds the breakdown value, if any)."""

    model: JourneyModel
    at: datetime
    by: str | None
    rows: list[dict[str, Any]]

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["stage", "stage_rank", "segment_value", "units"])

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model.id, "at": self.at.isoformat(), "by": self.by, "rows": self.rows}

    def as_mapping(self) -> dict[str, int]:
        """``{stage: units}`` over all breakdown values."""
        out: dict[str, int] = {}
        for row in self.rows:
            out[row["stage"]] = out.get(row["stage"], 0) + row["units"]
        return out

    def figure(self, language: str = "en") -> Any:
        import plotly.graph_objects as go

        frame = self.to_pandas()
        fig = go.Figure()
        for value, part in frame.groupby("segment_value", dropna=False):
            fig.add_bar(
                x=[_label(self.model, s, language) for s in part["stage"]],
                y=part["units"],
                name=str(value) if self.by else "units",
            )
        fig.update_layout(
            title=f"{self.model.label(language)} — {self.at:%Y-%m-%d}", barmode="stack"
        )
        return fig


@dataclass(frozen=True)
class OccupancySeries:
    """Units per stage at the end of every period (day, week or month, reporting time zone)."""

    model: JourneyModel
    freq: str
    timezone: str
    by: str | None
    rows: list[dict[str, Any]]

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame(
            self.rows, columns=["period", "stage", "stage_rank", "segment_value", "units"]
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.id,
            "freq": self.freq,
            "timezone": self.timezone,
            "by": self.by,
            "rows": self.rows,
        }

    def figure(self, language: str = "en") -> Any:
        import plotly.graph_objects as go

        frame = (
            self.to_pandas()
            .groupby(["period", "stage", "stage_rank"], as_index=False)["units"]
            .sum()
            .sort_values(["stage_rank", "period"])
        )
        fig = go.Figure()
        for _, part in frame.groupby("stage_rank"):
            stage_id = part["stage"].iloc[0]
            fig.add_scatter(
                x=part["period"],
                y=part["units"],
                stackgroup="one",
                name=_label(self.model, stage_id, language),
            )
        fig.update_layout(title=f"{self.model.label(language)} — occupancy by {self.freq}")
        return fig


@dataclass(frozen=True)
class StageFunnel:
    """Per entry stage: entered, reached, conversion to the next stage, time to move on."""

    model: JourneyModel
    rows: list[dict[str, Any]] = field(default_factory=list)
    by: str | None = None

    def __post_init__(self) -> None:
        ranked = {self.model.rank(s.id): s.id for s in self.model.stages}
        for i, row in enumerate(self.rows):
            row["stage"] = ranked[row["stage_rank"]]
            following = self.rows[i + 1] if i + 1 < len(self.rows) else None
            same = following is not None and following["segment_value"] == row["segment_value"]
            nxt = following["reached"] if following is not None and same else None
            row["conversion_to_next"] = (
                (nxt / row["reached"]) if nxt is not None and row["reached"] else None
            )

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model.id, "by": self.by, "rows": self.rows}

    def figure(self, language: str = "en") -> Any:
        import plotly.graph_objects as go

        if self.by:
            fig = go.Figure()
            for value in dict.fromkeys(r["segment_value"] for r in self.rows):
                part = [r for r in self.rows if r["segment_value"] == value]
                fig.add_trace(
                    go.Funnel(
                        name=str(value),
                        y=[_label(self.model, r["stage"], language) for r in part],
                        x=[r["reached"] for r in part],
                    )
                )
            fig.update_layout(title=f"{self.model.label(language)} — by {self.by}")
            return fig
        fig = go.Figure(
            go.Funnel(
                y=[_label(self.model, r["stage"], language) for r in self.rows],
                x=[r["reached"] for r in self.rows],
                textinfo="value+percent initial",
            )
        )
        fig.update_layout(title=self.model.label(language))
        return fig


@dataclass(frozen=True)
class StageFlows:
    """Moves between stages in a period: from_stage → to_stage, units, kind."""

    model: JourneyModel
    start: datetime
    end: datetime
    rows: list[dict[str, Any]]

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame(
            self.rows, columns=["from_stage", "from_rank", "to_stage", "to_rank", "units", "kind"]
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rows": self.rows,
        }

    def figure(self, language: str = "en") -> Any:
        import plotly.graph_objects as go

        names = ["(new)", *[s.id for s in self.model.stages]]
        labels = [("(new)" if n == "(new)" else _label(self.model, n, language)) for n in names]
        # sources on the left, targets on the right: a stage appears on both sides
        left = {n: i for i, n in enumerate(names)}
        right = {n: len(names) + i for i, n in enumerate(names)}
        fig = go.Figure(
            go.Sankey(
                node={"label": labels + labels},
                link={
                    "source": [left[r["from_stage"]] for r in self.rows],
                    "target": [right[r["to_stage"]] for r in self.rows],
                    "value": [r["units"] for r in self.rows],
                },
            )
        )
        fig.update_layout(
            title=f"{self.model.label(language)} — flows "
            f"{self.start:%Y-%m-%d} → {self.end:%Y-%m-%d}"
        )
        return fig
