"""Funnel results computed from the per-unit best attempts (vectorised with NumPy).

Every number is defined in docs/funnels.md. ``units`` holds one row per unit that started a
valid attempt; the rest is derived from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from journeylens.funnels.spec import FunnelSpec
from journeylens.stages.sqlparts import epoch_us

__all__ = ["FunnelResult", "Status", "step_rows"]

Status = Literal["reached", "converted", "dropped", "open"]
NO_VALUE = "(none)"


def _times(units: pa.Table, spec: FunnelSpec) -> np.ndarray:
    """Per unit and step: epoch microseconds at which the unit completed step k (NaN if not).
    Unordered funnels complete their k-th step at the k-th earliest matched step."""
    n = len(spec.steps)
    if units.num_rows == 0:
        return np.empty((0, n))
    times = np.column_stack(
        [
            units.column(f"u_{i}").to_numpy(zero_copy_only=False).astype("float64")
            for i in range(1, n + 1)
        ]
    )
    if spec.order == "unordered":
        times = np.sort(times, axis=1)  # NaN sorts last
    return times


def step_rows(
    spec: FunnelSpec, reached: np.ndarray, times: np.ndarray, open_: np.ndarray
) -> list[dict[str, Any]]:
    """One row per step: units, conversions, drop-off, open windows, time to convert."""
    rows: list[dict[str, Any]] = []
    n = len(spec.steps)
    first = int((reached >= 1).sum())
    previous = first
    for k in range(1, n + 1):
        at = reached >= k
        count = int(at.sum())
        stopped = reached == k
        row: dict[str, Any] = {
            "step": k,
            "label": spec.steps[k - 1].label if spec.order != "unordered" else f"{k} of {n} steps",
            "units": count,
            "conversion_from_previous": _ratio(count, previous)
            if k > 1
            else (1.0 if count else None),
            "conversion_from_first": _ratio(count, first),
            "dropped": int((stopped & ~open_).sum()) if k < n else 0,
            "open": int((stopped & open_).sum()) if k < n else 0,
            "avg_seconds_from_previous": None,
            "median_seconds_from_previous": None,
        }
        if k > 1 and count:
            delta = (times[at, k - 1] - times[at, k - 2]) / 1e6
            row["avg_seconds_from_previous"] = float(np.mean(delta))
            row["median_seconds_from_previous"] = float(np.median(delta))
        rows.append(row)
        previous = count
    return rows


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


@dataclass
class FunnelResult:
    """A funnel's results: ``steps`` (one row per step), per breakdown value with
    ``by_breakdown``; the units behind each number with ``units_at``."""

    spec: FunnelSpec
    units: pa.Table
    as_of: datetime

    def __post_init__(self) -> None:
        n = len(self.spec.steps)
        self._reached = (
            self.units.column("reached").to_numpy(zero_copy_only=False).astype("int64")
            if self.units.num_rows
            else np.zeros(0, dtype="int64")
        )
        self._times = _times(self.units, self.spec)
        if self.spec.window_seconds is None:
            self._open = self._reached < n
        else:
            last = (
                self.units.column("last_start_us").to_numpy(zero_copy_only=False).astype("float64")
            )
            ends = last + self.spec.window_seconds * 1e6
            self._open = (self._reached < n) & (ends > epoch_us(self.as_of))

    @property
    def steps(self) -> list[dict[str, Any]]:
        return step_rows(self.spec, self._reached, self._times, self._open)

    def by_breakdown(self) -> dict[str, list[dict[str, Any]]]:
        """The step rows of every breakdown value (``(none)`` for a missing value)."""
        if self.spec.breakdown is None:
            return {"all": self.steps}
        values = np.array(
            [NO_VALUE if v is None else str(v) for v in self.units.column("breakdown").to_pylist()],
            dtype=object,
        )
        out: dict[str, list[dict[str, Any]]] = {}
        for value in sorted(set(values.tolist())):
            mask = values == value
            out[value] = step_rows(
                self.spec, self._reached[mask], self._times[mask], self._open[mask]
            )
        return out

    def units_at(self, step: int, status: Status = "reached") -> list[str]:
        """Unit ids at a step: ``reached`` it, ``converted`` (went on to the next step; for the
        last step, reached it), ``dropped`` (stopped there, window closed) or ``open`` (stopped
        there so far, window still open)."""
        n = len(self.spec.steps)
        if not 1 <= step <= n:
            from journeylens.errors import ConfigError

            raise ConfigError(f"step must be from 1 to {n}, got {step}", field="step")
        reached = self._reached
        masks = {
            "reached": reached >= step,
            "converted": reached >= min(step + 1, n),
            "dropped": (reached == step) & ~self._open & (step < n),
            "open": (reached == step) & self._open & (step < n),
        }
        if status not in masks:
            from journeylens.errors import ConfigError

            raise ConfigError(f"unknown status {status!r}", field="status", allowed=list(masks))
        ids = np.array(self.units.column("unit_id").to_pylist(), dtype=object)
        return sorted(ids[masks[status]].tolist())

    def over_time(self, freq: str = "week", timezone: str = "UTC") -> list[dict[str, Any]]:
        """Conversion per period of the best attempt's start (in ``timezone``): units that
        started, units that reached the last step, and the rate."""
        if self.units.num_rows == 0:
            return []
        starts = pd.to_datetime(
            self.units.column("start_us").to_numpy(zero_copy_only=False), unit="us", utc=True
        ).tz_convert(timezone)
        code = {"day": "D", "week": "W-SUN", "month": "M"}[freq]
        periods = starts.tz_localize(None).to_period(code).start_time
        frame = pd.DataFrame(
            {"period": periods, "converted": self._reached == len(self.spec.steps)}
        )
        grouped = frame.groupby("period").agg(
            units=("converted", "size"), converted=("converted", "sum")
        )
        return [
            {
                "period": pd.Timestamp(period).date(),
                "units": int(row.units),
                "converted": int(row.converted),
                "conversion": float(row.converted) / float(row.units),
            }
            for period, row in grouped.iterrows()
        ]

    def to_pandas(self) -> pd.DataFrame:
        rows = []
        for value, steps in self.by_breakdown().items():
            for row in steps:
                rows.append({"breakdown": value, **row} if self.spec.breakdown else row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": [s.label for s in self.spec.steps],
            "order": self.spec.order,
            "window_seconds": self.spec.window_seconds,
            "count_by": self.spec.count_by,
            "as_of": self.as_of.isoformat(),
            "breakdown": self.spec.breakdown,
            "results": self.by_breakdown(),
        }

    def figure(self) -> Any:
        """A funnel chart (one trace per breakdown value)."""
        import plotly.graph_objects as go

        figure = go.Figure()
        for value, steps in self.by_breakdown().items():
            figure.add_trace(
                go.Funnel(
                    name=value,
                    y=[f"{s['step']}. {s['label']}" for s in steps],
                    x=[s["units"] for s in steps],
                    textinfo="value+percent initial",
                )
            )
        figure.update_layout(title=f"Funnel ({self.spec.order}, counted by {self.spec.count_by})")
        return figure
