"""Path results: read by column name, with ``to_pandas()``, ``to_dict()`` and ``figure()``."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["END", "START", "PathsBetween", "StepMatrix", "TopPaths", "TransitionGraph"]

END = "(end)"
START = "(start)"


@dataclass
class TransitionGraph:
    """The directly-follows graph: one row per (touchpoint, next touchpoint) with
    ``transitions``, ``units`` (distinct customers), ``probability`` (share of the transitions
    out of ``from_event``) and ``median_seconds`` between the two events."""

    rows: list[dict[str, Any]]
    session_gap_seconds: float | None

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {"session_gap_seconds": self.session_gap_seconds, "transitions": self.rows}

    def edge(self, source: str, target: str) -> dict[str, Any] | None:
        return next(
            (r for r in self.rows if r["from_event"] == source and r["to_event"] == target), None
        )

    def figure(self, top: int = 30, kind: str = "graph") -> Any:
        """The strongest ``top`` transitions: a directed graph (``graph``: touchpoints on a
        circle, arrows as wide as their share of transitions, loops written on the node) or a
        Sankey (``sankey``; loops drawn as self-links)."""
        rows = sorted(self.rows, key=lambda r: -r["transitions"])[:top]
        if kind == "sankey":
            return _sankey(rows)
        if kind != "graph":
            from journeylens.errors import ConfigError

            raise ConfigError(
                f"unknown figure kind {kind!r}", field="kind", allowed=["graph", "sankey"]
            )
        return _graph(rows)


def _sankey(rows: list[dict[str, Any]]) -> Any:
    import plotly.graph_objects as go

    names = sorted({r["from_event"] for r in rows} | {r["to_event"] for r in rows})
    index = {n: i for i, n in enumerate(names)}
    figure = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={"label": names},
            link={
                "source": [index[r["from_event"]] for r in rows],
                "target": [index[r["to_event"]] for r in rows],
                "value": [r["transitions"] for r in rows],
            },
        )
    )
    figure.update_layout(title="Transitions (directly follows)")
    return figure


def _graph(rows: list[dict[str, Any]]) -> Any:
    """The directly-follows graph as nodes on a circle (busiest first) and arrows."""
    import plotly.graph_objects as go

    traffic: dict[str, int] = defaultdict(int)
    loops: dict[str, int] = defaultdict(int)
    for r in rows:
        traffic[r["from_event"]] += r["transitions"]
        traffic[r["to_event"]] += r["transitions"]
        if r["from_event"] == r["to_event"]:
            loops[r["from_event"]] += r["transitions"]
    names = sorted(traffic, key=lambda n: (-traffic[n], n))
    angles = np.linspace(0, 2 * np.pi, num=len(names), endpoint=False) + np.pi / 2
    where = {n: (float(np.cos(a)), float(np.sin(a))) for n, a in zip(names, angles, strict=True)}
    widest = max((r["transitions"] for r in rows), default=1)
    figure = go.Figure()
    for r in rows:
        if r["from_event"] == r["to_event"]:
            continue
        (x0, y0), (x1, y1) = where[r["from_event"]], where[r["to_event"]]
        figure.add_annotation(
            x=x1 * 0.92 + x0 * 0.08,
            y=y1 * 0.92 + y0 * 0.08,
            ax=x0 * 0.92 + x1 * 0.08,
            ay=y0 * 0.92 + y1 * 0.08,
            xref="x",
            yref="y",
            axref="x",
            ayref="y",
            showarrow=True,
            arrowhead=2,
            arrowwidth=1 + 7 * r["transitions"] / widest,
            opacity=0.55,
        )
    middles = [r for r in rows if r["from_event"] != r["to_event"]]
    figure.add_trace(
        go.Scatter(
            x=[(where[r["from_event"]][0] + where[r["to_event"]][0]) / 2 for r in middles],
            y=[(where[r["from_event"]][1] + where[r["to_event"]][1]) / 2 for r in middles],
            mode="markers",
            marker={"size": 6, "opacity": 0.3},
            hovertext=[
                f"{r['from_event']} → {r['to_event']}: {r['transitions']:,} transitions, "
                f"{r['units']:,} customers, p={r['probability']:.2f}, "
                f"median {r['median_seconds']:.0f} s"
                for r in middles
            ],
            hoverinfo="text",
            name="transitions",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=[where[n][0] for n in names],
            y=[where[n][1] for n in names],
            mode="markers+text",
            text=[f"{n} ↻{loops[n]:,}" if loops.get(n) else n for n in names],
            textposition="top center",
            marker={"size": [10 + 30 * traffic[n] / max(traffic.values()) for n in names]},
            hovertext=[f"{n}: {traffic[n]:,} transitions in and out" for n in names],
            hoverinfo="text",
            name="touchpoints",
        )
    )
    figure.update_layout(
        title="Transitions (directly follows; ↻ loops)",
        showlegend=False,
        xaxis={"visible": False, "range": [-1.4, 1.4]},
        yaxis={"visible": False, "range": [-1.3, 1.4], "scaleanchor": "x"},
    )
    return figure


@dataclass
class TopPaths:
    """Paths of ``steps`` touchpoints from (or to) an anchor touchpoint, most frequent first:
    ``occurrences`` (times the path was taken, from every occurrence of the anchor) and
    ``units`` (distinct customers who took it at least once)."""

    rows: list[dict[str, Any]]
    steps: int
    backward: bool

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame([{**r, "path": " > ".join(r["path"])} for r in self.rows])

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "direction": "to" if self.backward else "from",
            "paths": self.rows,
        }

    def figure(self, top: int = 20) -> Any:
        """A Sankey of the ``top`` paths, one column per step."""
        import plotly.graph_objects as go

        links: dict[tuple[str, str], int] = defaultdict(int)
        for row in self.rows[:top]:
            path = row["path"]
            for i in range(len(path) - 1):
                links[(f"{i + 1}. {path[i]}", f"{i + 2}. {path[i + 1]}")] += row["occurrences"]
        names = sorted({n for pair in links for n in pair})
        index = {n: i for i, n in enumerate(names)}
        figure = go.Figure(
            go.Sankey(
                node={"label": names},
                link={
                    "source": [index[s] for s, _ in links],
                    "target": [index[t] for _, t in links],
                    "value": list(links.values()),
                },
            )
        )
        figure.update_layout(title=f"Top paths ({self.steps} steps)")
        return figure


@dataclass
class StepMatrix:
    """Share of anchors (customers, or sessions) at each touchpoint at step k (1 = the anchor);
    ``(end)`` once the customer's (or session's) events have run out."""

    rows: list[dict[str, Any]]
    anchors: int
    steps: int

    def to_pandas(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.rows)
        if frame.empty:
            return frame
        return frame.pivot_table(
            index="event", columns="step", values="share", fill_value=0.0
        ).sort_index()

    def to_dict(self) -> dict[str, Any]:
        return {"anchors": self.anchors, "steps": self.steps, "cells": self.rows}

    def figure(self) -> Any:
        import plotly.graph_objects as go

        frame = self.to_pandas()
        return go.Figure(
            go.Heatmap(
                z=frame.to_numpy(), x=[f"step {c}" for c in frame.columns], y=list(frame.index)
            )
        ).update_layout(title="Step matrix")


@dataclass
class PathsBetween:
    """Customers who, after their first ``start`` event, did ``end``: how many, who, and the
    median number of steps and seconds from that start to the first ``end`` after it."""

    start: str
    end: str
    units: list[str]
    steps: np.ndarray
    seconds: np.ndarray

    @property
    def count(self) -> int:
        return len(self.units)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "units": self.count,
            "median_steps": float(np.median(self.steps)) if self.count else None,
            "median_seconds": float(np.median(self.seconds)) if self.count else None,
        }

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame({"unit_id": self.units, "steps": self.steps, "seconds": self.seconds})
