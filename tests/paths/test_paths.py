"""Hand-checked small logs for transitions, top paths, step matrix, sessions and between."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from journeylens import Workspace
from journeylens.errors import ConfigError
from tests.stages.conftest import load

AS_OF = datetime(2026, 6, 1)
LOG = [
    ("c1", "2026-01-01 10:00", "home", {}),
    ("c1", "2026-01-01 10:01", "view", {}),
    ("c1", "2026-01-01 10:03", "view", {}),  # a loop
    ("c1", "2026-01-01 10:10", "buy", {}),
    ("c2", "2026-01-01 10:00", "home", {}),
    ("c2", "2026-01-01 10:05", "view", {}),
    ("c2", "2026-01-01 12:00", "home", {}),  # after a 115-minute gap: a new session
    ("c2", "2026-01-01 12:01", "buy", {}),
    ("c3", "2026-01-01 10:00", "view", {}),
]


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    load(workspace.engine, LOG)
    return workspace


def test_transition_graph(ws: Workspace) -> None:
    graph = ws.funnels.paths.transitions(as_of=AS_OF)
    pairs = {(r["from_event"], r["to_event"]): r for r in graph.rows}
    assert {k: v["transitions"] for k, v in pairs.items()} == {
        ("home", "view"): 2,
        ("view", "view"): 1,
        ("view", "buy"): 1,
        ("view", "home"): 1,
        ("home", "buy"): 1,
    }
    assert pairs[("home", "view")]["units"] == 2
    # out of view: view 1, buy 1, home 1
    assert pairs[("view", "buy")]["probability"] == pytest.approx(1 / 3)
    assert pairs[("home", "view")]["probability"] == pytest.approx(2 / 3)
    # home → view after 1 and 5 minutes: median 3 minutes
    assert pairs[("home", "view")]["median_seconds"] == 180
    assert pairs[("view", "home")]["median_seconds"] == 115 * 60


def test_transition_graph_figures(ws: Workspace) -> None:
    graph = ws.funnels.paths.transitions(as_of=AS_OF)
    network = graph.figure()
    # one arrow per pair between different touchpoints; the view → view loop is on its node
    assert len(network.layout.annotations) == 4
    nodes = next(t for t in network.data if t.name == "touchpoints")
    assert sorted(nodes.text) == ["buy", "home", "view ↻1"]
    edges = next(t for t in network.data if t.name == "transitions")
    assert any(h.startswith("home → view: 2 transitions, 2 customers") for h in edges.hovertext)
    widths = {a.arrowwidth for a in network.layout.annotations}
    assert max(widths) == 8  # the busiest pair (home → view, 2) gets the widest arrow
    sankey = graph.figure(kind="sankey")
    assert sum(sankey.data[0].link.value) == 6
    with pytest.raises(ConfigError):
        graph.figure(kind="pie")


def test_transitions_within_sessions(ws: Workspace) -> None:
    graph = ws.funnels.paths.transitions(sessions=True, as_of=AS_OF)
    assert graph.edge("view", "home") is None
    assert graph.edge("home", "buy") == {
        "from_event": "home",
        "to_event": "buy",
        "transitions": 1,
        "units": 1,
        "probability": 1 / 3,
        "median_seconds": 60.0,
    }
    short = ws.funnels.paths.transitions(sessions=True, session_gap=90, as_of=AS_OF)
    assert short.edge("home", "view") is not None and short.edge("home", "view")["units"] == 1


def test_top_paths_from_a_start(ws: Workspace) -> None:
    top = ws.funnels.paths.top(start="home", steps=3, as_of=AS_OF)
    assert [(r["path"], r["occurrences"], r["units"]) for r in top.rows] == [
        (["home", "buy", "(end)"], 1, 1),
        (["home", "view", "home"], 1, 1),
        (["home", "view", "view"], 1, 1),
    ]
    sessions = ws.funnels.paths.top(start="home", steps=3, sessions=True, as_of=AS_OF)
    assert ["home", "view", "(end)"] in [r["path"] for r in sessions.rows]


def test_top_paths_to_an_end_count_customers_and_occurrences(ws: Workspace) -> None:
    top = ws.funnels.paths.top(end="view", steps=2, as_of=AS_OF)
    assert [(r["path"], r["occurrences"], r["units"]) for r in top.rows] == [
        (["home", "view"], 2, 2),
        (["(start)", "view"], 1, 1),
        (["view", "view"], 1, 1),
    ]


def test_step_matrix(ws: Workspace) -> None:
    matrix = ws.funnels.paths.step_matrix(steps=3, as_of=AS_OF)
    cells = {(c["step"], c["event"]): c["share"] for c in matrix.rows}
    assert matrix.anchors == 3
    assert cells[(1, "home")] == pytest.approx(2 / 3)
    assert cells[(2, "view")] == pytest.approx(2 / 3)
    assert cells[(2, "(end)")] == pytest.approx(1 / 3)
    assert cells[(3, "view")] == pytest.approx(1 / 3)
    sessions = ws.funnels.paths.step_matrix(steps=2, sessions=True, as_of=AS_OF)
    assert sessions.anchors == 4  # c1: 1 session, c2: 2, c3: 1
    from_view = ws.funnels.paths.step_matrix(start="view", steps=2, as_of=AS_OF)
    assert {(c["step"], c["event"]): c["units"] for c in from_view.rows} == {
        (1, "view"): 3,
        (2, "view"): 1,
        (2, "home"): 1,
        (2, "(end)"): 1,
    }
    assert from_view.to_pandas().loc["view", 1] == 1.0


def test_between(ws: Workspace) -> None:
    between = ws.funnels.paths.between("home", "buy", as_of=AS_OF)
    assert between.units == ["c1", "c2"]
    assert list(between.steps) == [3, 3]
    assert between.to_dict()["median_seconds"] == (10 * 60 + 121 * 60) / 2


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda p: p.top(steps=3), "start"),
        (lambda p: p.top(start="a", steps=1), "steps"),
        (lambda p: p.transitions(sessions=True, session_gap=0), "session_gap"),
    ],
)
def test_options_are_validated(ws: Workspace, call: Any, field: str) -> None:
    with pytest.raises(ConfigError) as error:
        call(ws.funnels.paths)
    assert error.value.field == field
