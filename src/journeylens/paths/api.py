"""``workspace.funnels.paths``: transitions, top paths, step matrix and sessions.

>>> ws.funnels.paths.transitions().to_pandas()                       # doctest: +SKIP
>>> ws.funnels.paths.top(start="product_viewed", steps=4).rows       # doctest: +SKIP
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from journeylens.engines.base import Engine
from journeylens.errors import ConfigError
from journeylens.funnels.api import event_codes, naive_utc
from journeylens.funnels.spec import DEFAULT_SESSION_GAP
from journeylens.paths.compile import (
    anchors,
    compile_between,
    compile_chains,
    compile_transitions,
)
from journeylens.paths.results import (
    END,
    START,
    PathsBetween,
    StepMatrix,
    TopPaths,
    TransitionGraph,
)

__all__ = ["DEFAULT_SESSION_GAP", "Paths"]

"""Seconds of inactivity that end a session (30 minutes)."""
MAX_STEPS = 20


def _gap_us(sessions: bool, gap: float) -> int | None:
    if not sessions:
        return None
    if gap <= 0:
        raise ConfigError(f"the session gap must be > 0 seconds, got {gap}", field="session_gap")
    return round(gap * 1_000_000)


def _steps(steps: int) -> int:
    if not 2 <= steps <= MAX_STEPS:
        raise ConfigError(f"steps must be from 2 to {MAX_STEPS}, got {steps}", field="steps")
    return steps


class Paths:
    """Path analyses over ``customer_events`` (docs/paths.md)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _names(self) -> tuple[dict[str, int], dict[int, str]]:
        codes = event_codes(self._engine)
        return codes, {c: n for n, c in codes.items()}

    @staticmethod
    def _code(codes: dict[str, int], name: str | None) -> int | None:
        return None if name is None else codes.get(name, -1)

    def transitions(
        self,
        *,
        sessions: bool = False,
        session_gap: float = DEFAULT_SESSION_GAP,
        as_of: datetime | None = None,
    ) -> TransitionGraph:
        """Every (event, next event of the same customer) pair; within sessions only when
        ``sessions``."""
        gap = _gap_us(sessions, session_gap)
        _, names = self._names()
        table = self._engine.arrow(compile_transitions(naive_utc(as_of), gap))
        rows = table.to_pylist()
        out_totals: dict[int, int] = {}
        for r in rows:
            out_totals[r["from_code"]] = out_totals.get(r["from_code"], 0) + r["transitions"]
        graph = [
            {
                "from_event": names[r["from_code"]],
                "to_event": names[r["to_code"]],
                "transitions": int(r["transitions"]),
                "units": int(r["units"]),
                "probability": r["transitions"] / out_totals[r["from_code"]],
                "median_seconds": float(r["median_us"]) / 1e6,
            }
            for r in rows
        ]
        graph.sort(key=lambda r: (r["from_event"], -r["transitions"], r["to_event"]))
        return TransitionGraph(graph, session_gap if sessions else None)

    def _chains(
        self,
        kind: str,
        anchor_event: str | None,
        steps: int,
        *,
        backward: bool,
        sessions: bool,
        session_gap: float,
        as_of: datetime | None,
    ) -> tuple[list[dict[str, Any]], int]:
        codes, names = self._names()
        gap = _gap_us(sessions, session_gap)
        anchor = anchors(kind, self._code(codes, anchor_event), gap)
        query = compile_chains(
            anchor, _steps(steps), backward=backward, gap_us=gap, as_of=naive_utc(as_of)
        )
        marker = START if backward else END
        rows: list[dict[str, Any]] = []
        total = 0
        for r in self._engine.arrow(query).to_pylist():
            path: list[str] = []
            for i in range(steps):
                code = r[f"k_{i}"]
                if code is None:
                    path.append(marker)
                    break
                path.append(names[code])
            if backward:
                path.reverse()
            rows.append(
                {"path": path, "occurrences": int(r["occurrences"]), "units": int(r["units"])}
            )
            total += int(r["occurrences"])
        rows.sort(key=lambda r: (-r["occurrences"], -r["units"], r["path"]))
        return rows, total

    def top(
        self,
        *,
        start: str | None = None,
        end: str | None = None,
        steps: int = 4,
        sessions: bool = False,
        session_gap: float = DEFAULT_SESSION_GAP,
        limit: int | None = 20,
        as_of: datetime | None = None,
    ) -> TopPaths:
        """Top paths of ``steps`` touchpoints from every occurrence of ``start``, or to every
        occurrence of ``end`` (one of them); with ``sessions``, paths stop at a session's end."""
        if (start is None) == (end is None):
            raise ConfigError("give either start or end (one touchpoint)", field="start")
        rows, _ = self._chains(
            "every",
            start or end,
            steps,
            backward=end is not None,
            sessions=sessions,
            session_gap=session_gap,
            as_of=as_of,
        )
        return TopPaths(rows[:limit] if limit else rows, steps, end is not None)

    def step_matrix(
        self,
        *,
        start: str | None = None,
        steps: int = 5,
        sessions: bool = False,
        session_gap: float = DEFAULT_SESSION_GAP,
        as_of: datetime | None = None,
    ) -> StepMatrix:
        """Share of customers (of sessions, with ``sessions``) at each touchpoint at step k,
        counted from each customer's first event — or first ``start`` event — or from each
        session's first event."""
        kind = "session" if sessions else "first"
        rows, total = self._chains(
            kind,
            start,
            steps,
            backward=False,
            sessions=sessions,
            session_gap=session_gap,
            as_of=as_of,
        )
        counts: dict[tuple[int, str], int] = {}
        for row in rows:
            path = row["path"] + [END] * (steps - len(row["path"]))
            for k, name in enumerate(path, start=1):
                counts[(k, name)] = counts.get((k, name), 0) + row["occurrences"]
        cells = [
            {"step": k, "event": name, "units": n, "share": n / total}
            for (k, name), n in sorted(counts.items())
        ]
        return StepMatrix(cells, total, steps)

    def between(self, start: str, end: str, *, as_of: datetime | None = None) -> PathsBetween:
        """Customers who did ``end`` after their first ``start`` (the same customers as an
        ordered funnel start → end without a window)."""
        codes, _ = self._names()
        query = compile_between(self._code(codes, start), self._code(codes, end), naive_utc(as_of))
        table = self._engine.arrow(query)
        rows = [r for r in table.to_pylist() if r["steps"] is not None]
        return PathsBetween(
            start,
            end,
            [r["unit_id"] for r in rows],
            np.array([r["steps"] for r in rows], dtype="int64"),
            np.array([r["seconds_us"] / 1e6 for r in rows], dtype="float64"),
        )
