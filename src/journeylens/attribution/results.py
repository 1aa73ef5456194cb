"""Attribution results: read by name, with ``table()``, ``to_pandas()``, ``to_dict()`` and
``figure()``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from journeylens.attribution.spec import AttributionSpec

__all__ = ["AttributionResult", "ConversionPaths", "RoiResult"]


@dataclass
class ConversionPaths:
    """Distinct paths with ``conversions``, ``value``, ``non_conversions`` and
    ``conversion_rate``, most conversions first."""

    spec: AttributionSpec
    rows: list[dict[str, Any]]

    def table(self) -> list[dict[str, Any]]:
        return [{**r, "path": " > ".join(r["path"])} for r in self.rows]

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame(self.table())

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.spec.level, "paths": self.rows}

    def figure(self, top: int = 20) -> Any:
        import plotly.graph_objects as go

        rows = self.table()[:top][::-1]
        figure = go.Figure(
            go.Bar(
                x=[r["conversions"] for r in rows],
                y=[r["path"] for r in rows],
                orientation="h",
            )
        )
        return figure.update_layout(title=f"Top conversion paths ({self.spec.level})")


@dataclass
class AttributionResult:
    """Credited conversions and value per touchpoint value and model (long format ``rows``:
    ``model``, ``touchpoint``, ``conversions``, ``value``, ``share``), plus the totals and
    the Markov removal effects."""

    spec: AttributionSpec
    rows: list[dict[str, Any]]
    total_conversions: float
    total_value: float
    removal_effects: dict[str, dict[str, float]] = field(default_factory=dict)
    """per Markov model name: touchpoint value → removal effect (conversions)."""

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(r["model"] for r in self.rows))

    def credit(self, model: str, what: str = "conversions") -> dict[str, float]:
        return {r["touchpoint"]: r[what] for r in self.rows if r["model"] == model}

    def table(self, what: str = "conversions") -> list[dict[str, Any]]:
        """The model comparison: one row per touchpoint value, one column per model."""
        values = sorted({r["touchpoint"] for r in self.rows})
        out = []
        for value in values:
            row: dict[str, Any] = {self.spec.level: value}
            for model in self.models:
                row[model] = self.credit(model, what).get(value, 0.0)
            out.append(row)
        first = self.models[0] if self.models else None
        out.sort(key=lambda r: (-(r[first] if first else 0), r[self.spec.level]))
        return out

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.spec.level,
            "value": self.spec.value,
            "lookback_days": self.spec.lookback_days,
            "repeats": self.spec.repeats,
            "total_conversions": self.total_conversions,
            "total_value": self.total_value,
            "credit": self.rows,
            "removal_effects": self.removal_effects,
        }

    def figure(self, what: str = "conversions") -> Any:
        """Grouped bars: credited conversions (or value) per touchpoint value, one colour per
        model."""
        import plotly.graph_objects as go

        table = self.table(what)
        labels = [r[self.spec.level] for r in table]
        figure = go.Figure(
            [go.Bar(name=model, x=labels, y=[r[model] for r in table]) for model in self.models]
        )
        return figure.update_layout(
            barmode="group",
            title=f"Attributed {what} by {self.spec.level}, per model",
            yaxis_title=what,
        )


@dataclass
class RoiResult:
    """Per model and touchpoint value: imported ``cost``, credited ``conversions`` and
    ``value``, ``cpa`` (cost / conversions) and ``roi`` ((value − cost) / cost); values with
    no cost are left out."""

    spec: AttributionSpec
    rows: list[dict[str, Any]]

    def table(self) -> list[dict[str, Any]]:
        return self.rows

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.spec.level, "roi": self.rows}

    def figure(self) -> Any:
        import plotly.graph_objects as go

        models = list(dict.fromkeys(r["model"] for r in self.rows))
        figure = go.Figure(
            [
                go.Bar(
                    name=m,
                    x=[r["touchpoint"] for r in self.rows if r["model"] == m],
                    y=[r["roi"] for r in self.rows if r["model"] == m],
                )
                for m in models
            ]
        )
        return figure.update_layout(barmode="group", title="ROI per model", yaxis_title="ROI")
