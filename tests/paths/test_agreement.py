"""Funnels and paths agree: the customers of an ordered funnel start → end without a window
are the customers of the paths between the same touchpoints."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import journeylens
from journeylens import Workspace
from tests.stages.conftest import load

EVENTS = ["a", "b", "c"]
START = datetime(2026, 1, 1)
AS_OF = datetime(2026, 2, 1)


def _agree(ws: Workspace, start: str, end: str) -> int:
    funnel = ws.funnels.run([start, end], window_seconds=None, as_of=AS_OF)
    between = ws.funnels.paths.between(start, end, as_of=AS_OF)
    assert funnel.units_at(2) == between.units
    return between.count


def test_funnel_and_paths_agree_on_a_hand_log(workspace: Workspace) -> None:
    load(
        workspace.engine,
        [
            ("c1", "2026-01-01 10:00", "b", {}),
            ("c1", "2026-01-02 10:00", "a", {}),
            ("c1", "2026-01-30 10:00", "b", {}),
            ("c2", "2026-01-01 10:00", "b", {}),
            ("c2", "2026-01-01 10:00", "a", {}),  # same second, later seq: nothing after it
            ("c3", "2026-01-01 10:00", "a", {}),
            ("c3", "2026-01-01 10:00", "a", {}),
        ],
    )
    assert _agree(workspace, "a", "b") == 1
    assert _agree(workspace, "a", "a") == 1


@settings(
    max_examples=int(os.environ.get("JL_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["u", "v", "w"]),
            st.integers(0, 20),
            st.sampled_from(EVENTS),
        ),
        max_size=25,
    ),
    start=st.sampled_from(EVENTS),
    end=st.sampled_from(EVENTS),
)
def test_funnel_and_paths_agree_on_random_logs(
    tmp_path_factory: Any, rows: list[tuple[str, int, str]], start: str, end: str
) -> None:
    log = [(u, (START + timedelta(days=d)).isoformat(sep=" "), e, {}) for u, d, e in rows]
    folder: Path = tmp_path_factory.mktemp("ws")
    with journeylens.create_workspace(folder / "w") as ws:
        load(ws.engine, log or [("u", "2026-01-01 00:00", "c", {})])
        _agree(ws, start, end)
