"""Stage analytics on a hand-checked history (the numbers in the comments are worked by hand).

Entries (LINEAR model, as of 2026-03-31 UTC):
  c1: aware 01-01 10:00, consider 01-05 10:00, buy 01-07 10:00, advocate 01-08 10:00,
      lapsed 02-06 10:00, aware 03-01 10:00
  c2: aware 01-01 10:00                                  (a B2B contact, trait tier=gold)
  c3: buy 01-31 23:30 UTC (= 02-01 00:30 in Rome), lapsed 03-02 23:30
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from journeylens import Workspace
from journeylens.errors import ConfigError, NotFoundError
from tests.stages.conftest import load, model
from tests.stages.test_assignment import LINEAR

AS_OF = datetime(2026, 3, 31)


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    load(
        workspace.engine,
        [
            ("c1", "2026-01-01 10:00", "page_viewed", {}),
            ("c1", "2026-01-02 10:00", "product_viewed", {}),
            ("c1", "2026-01-05 10:00", "product_viewed", {}),
            ("c1", "2026-01-07 10:00", "purchase", {"total": 50}),
            ("c1", "2026-01-08 10:00", "review_written", {"rating": 5}),
            ("c1", "2026-03-01 10:00", "product_viewed", {}),
            ("c2", "2026-01-01 10:00", "page_viewed", {}),
            ("c3", "2026-01-31 23:30", "purchase", {"total": 20}),
        ],
        profiles={"c1": {"tier": "silver"}, "c2": {"tier": "gold"}, "c3": {}},
        members=[("acme", "c2")],
    )
    workspace.stages.assign(model(LINEAR), as_of=AS_OF)
    return workspace


def test_occupancy_now_and_at_a_past_date(ws: Workspace) -> None:
    toy = model(LINEAR)
    assert ws.stages.occupancy(toy).as_mapping() == {"aware": 2, "lapsed": 1}
    assert ws.stages.occupancy(toy, at=datetime(2026, 1, 6)).as_mapping() == {
        "aware": 1,
        "consider": 1,
    }
    with pytest.raises(ConfigError, match="after the history's as_of"):
        ws.stages.occupancy(toy, at=datetime(2026, 5, 1))


def test_occupancy_breakdowns(ws: Workspace) -> None:
    toy = model(LINEAR)
    by_segment = ws.stages.occupancy(toy, by="segment").rows
    assert [(r["segment_value"], r["stage"], r["units"]) for r in by_segment] == [
        ("B2B", "aware", 1),
        ("B2C", "aware", 1),
        ("B2C", "lapsed", 1),
    ]
    by_tier = ws.stages.occupancy(toy, by="trait:tier").rows
    assert [(r["segment_value"], r["stage"], r["units"]) for r in by_tier] == [
        ("(none)", "lapsed", 1),
        ("gold", "aware", 1),
        ("silver", "aware", 1),
    ]
    with pytest.raises(ConfigError, match="unknown breakdown 'colour'"):
        ws.stages.occupancy(toy, by="colour")


def test_monthly_series_in_the_reporting_time_zone(ws: Workspace) -> None:
    """January ends at 23:00 UTC in Rome: c3's purchase at 23:30 UTC falls in February."""
    series = ws.stages.series(model(LINEAR), start=date(2026, 1, 1), end=date(2026, 3, 1))
    got: dict[str, dict[str, int]] = {}
    for row in series.rows:
        got.setdefault(f"{row['period']:%Y-%m}", {})[row["stage"]] = row["units"]
    assert got == {
        "2026-01": {"aware": 1, "advocate": 1},
        "2026-02": {"aware": 1, "buy": 1, "lapsed": 1},
        "2026-03": {"aware": 2, "lapsed": 1},
    }
    assert ws.config.timezone == "Europe/Rome"


def test_stage_funnel(ws: Workspace) -> None:
    rows = {r["stage"]: r for r in ws.stages.funnel(model(LINEAR)).rows}
    assert [
        (s, rows[s]["entered"], rows[s]["reached"], rows[s]["moved_on"])
        for s in ("aware", "consider", "buy", "advocate")
    ] == [("aware", 2, 3, 1), ("consider", 1, 2, 1), ("buy", 2, 2, 1), ("advocate", 1, 1, 0)]
    assert rows["aware"]["conversion_to_next"] == pytest.approx(2 / 3)
    assert rows["consider"]["conversion_to_next"] == 1
    assert rows["buy"]["conversion_to_next"] == 0.5
    assert rows["advocate"]["conversion_to_next"] is None
    assert rows["aware"]["median_seconds"] == 4 * 86400
    assert rows["consider"]["median_seconds"] == 2 * 86400
    assert rows["buy"]["median_seconds"] == 86400
    assert rows["advocate"]["median_seconds"] is None


def test_flows_with_lapses_and_returns(ws: Workspace) -> None:
    toy = model(LINEAR)
    spring = ws.stages.flows(toy, start=datetime(2026, 2, 1), end=datetime(2026, 4, 1)).rows
    assert sorted((r["from_stage"], r["to_stage"], r["units"], r["kind"]) for r in spring) == [
        ("advocate", "lapsed", 1, "lapse"),
        ("buy", "lapsed", 1, "lapse"),
        ("lapsed", "aware", 1, "return"),
    ]
    january = ws.stages.flows(toy, start=datetime(2026, 1, 1), end=datetime(2026, 2, 1)).rows
    assert sorted((r["from_stage"], r["to_stage"], r["units"], r["kind"]) for r in january) == [
        ("(new)", "aware", 2, "new"),
        ("(new)", "buy", 1, "new"),
        ("aware", "consider", 1, "forward"),
        ("buy", "advocate", 1, "forward"),
        ("consider", "buy", 1, "forward"),
    ]


def test_results_convert_and_draw(ws: Workspace) -> None:
    toy = model(LINEAR)
    funnel = ws.stages.funnel(toy)
    assert list(funnel.to_pandas()["reached"]) == [3, 2, 2, 1]
    assert funnel.figure().data[0].type == "funnel"
    flows = ws.stages.flows(toy, start=datetime(2026, 1, 1), end=datetime(2026, 4, 1))
    sankey = flows.figure("it").data[0]
    assert sankey.type == "sankey" and sum(sankey.link.value) == sum(r["units"] for r in flows.rows)
    assert ws.stages.history_of("c3", toy) == [
        {
            "stage": "buy",
            "entered_at": datetime(2026, 1, 31, 23, 30),
            "exited_at": datetime(2026, 3, 2, 23, 30),
            "event_id": "c3-0007",
            "entry_number": 1,
            "label": "Buy",
        },
        {
            "stage": "lapsed",
            "entered_at": datetime(2026, 3, 2, 23, 30),
            "exited_at": None,
            "event_id": None,
            "entry_number": 2,
            "label": "Lapsed",
        },
    ]


def test_analytics_before_assignment_say_what_to_do(workspace: Workspace) -> None:
    with pytest.raises(NotFoundError, match="journeylens stages assign --model toy"):
        workspace.stages.funnel(model(LINEAR))


def test_stage_funnel_by_segment(ws: Workspace) -> None:
    """c2 (B2B) only reached aware; c1 and c3 (B2C) as in test_stage_funnel."""
    rows = ws.stages.funnel(model(LINEAR), by="segment").rows
    got = {(r["segment_value"], r["stage"]): (r["entered"], r["reached"]) for r in rows}
    assert got[("B2B", "aware")] == (1, 1) and got[("B2B", "consider")] == (0, 0)
    assert got[("B2C", "aware")] == (1, 2) and got[("B2C", "buy")] == (2, 2)
    b2c = {r["stage"]: r for r in rows if r["segment_value"] == "B2C"}
    # c3 skipped aware and consider: skipping counts as reaching
    assert b2c["aware"]["conversion_to_next"] == 1.0
    assert b2c["buy"]["conversion_to_next"] == 0.5
    assert b2c["advocate"]["conversion_to_next"] is None
