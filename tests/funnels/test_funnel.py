"""Hand-checked small logs for every funnel option (docs/funnels.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from journeylens import Workspace
from journeylens.errors import ConfigError, NotFoundError
from journeylens.funnels import Exclusion, FunnelSpec, Step
from journeylens.funnels.results import FunnelResult
from tests.stages.conftest import load
from tests.stages.conftest import model as model_text

AS_OF = datetime(2026, 6, 1)
DAY = 86_400


def run(ws: Workspace, rows: list[Any], *steps: Any, **options: Any) -> FunnelResult:
    load(ws.engine, rows, **options.pop("load", {}))
    return ws.funnels.run(list(steps), as_of=options.pop("as_of", AS_OF), **options)


def units(result: FunnelResult) -> list[int]:
    return [s["units"] for s in result.steps]


def test_ordered_other_events_between_and_time_to_convert(workspace: Workspace) -> None:
    rows = [
        ("c1", "2026-01-01 10:00", "view", {}),
        ("c1", "2026-01-01 10:10", "page_viewed", {}),
        ("c1", "2026-01-01 10:20", "cart", {}),
        ("c1", "2026-01-01 11:20", "buy", {}),
        ("c2", "2026-01-02 10:00", "view", {}),
        ("c2", "2026-01-02 10:30", "cart", {}),
        ("c3", "2026-01-03 10:00", "view", {}),
        ("c4", "2026-01-03 10:00", "cart", {}),  # never did step 1: not in the funnel
        ("c4", "2026-01-03 10:01", "buy", {}),
    ]
    result = run(workspace, rows, "view", "cart", "buy", window_seconds=DAY)
    assert units(result) == [3, 2, 1]
    steps = result.steps
    assert steps[1]["conversion_from_previous"] == pytest.approx(2 / 3)
    assert steps[2]["conversion_from_first"] == pytest.approx(1 / 3)
    assert steps[2]["conversion_from_previous"] == pytest.approx(1 / 2)
    # c1 20 min, c2 30 min from view to cart; c1 60 min from cart to buy
    assert steps[1]["avg_seconds_from_previous"] == 1500
    assert steps[1]["median_seconds_from_previous"] == 1500
    assert steps[2]["median_seconds_from_previous"] == 3600
    assert [s["dropped"] for s in steps] == [1, 1, 0]
    assert result.units_at(1, "dropped") == ["c3"]
    assert result.units_at(2, "dropped") == ["c2"]
    assert result.units_at(3, "reached") == ["c1"]
    assert result.units_at(1, "converted") == ["c1", "c2"]


def test_strict_needs_the_very_next_event(workspace: Workspace) -> None:
    rows = [
        ("c1", "2026-01-01 10:00", "view", {}),
        ("c1", "2026-01-01 10:10", "page_viewed", {}),
        ("c1", "2026-01-01 10:20", "cart", {}),
        ("c2", "2026-01-01 10:00", "view", {}),
        ("c2", "2026-01-01 10:20", "cart", {}),
        ("c2", "2026-01-01 10:25", "view", {}),  # second attempt: view, cart, buy in a row
        ("c2", "2026-01-01 10:26", "cart", {}),
        ("c2", "2026-01-01 10:27", "buy", {}),
    ]
    strict = run(workspace, rows, "view", "cart", "buy", order="strict")
    assert units(strict) == [2, 1, 1]
    assert strict.units_at(1, "dropped") == ["c1"]
    ordered = workspace.funnels.run(["view", "cart", "buy"], as_of=AS_OF)
    assert units(ordered) == [2, 2, 1]


def test_unordered_any_order_within_the_window(workspace: Workspace) -> None:
    rows = [
        ("c1", "2026-01-01 10:00", "buy", {}),
        ("c1", "2026-01-01 11:00", "cart", {}),
        ("c1", "2026-01-01 12:00", "view", {}),
        ("c2", "2026-01-01 10:00", "cart", {}),
        ("c2", "2026-01-03 10:00", "view", {}),  # two days later: outside a 1-day window
        ("c3", "2026-01-01 10:00", "view", {}),
    ]
    result = run(workspace, rows, "view", "cart", "buy", order="unordered", window_seconds=DAY)
    assert units(result) == [3, 1, 1]
    assert result.steps[0]["label"] == "1 of 3 steps"
    # c1 completed 2 steps after 1 h and 3 steps after 2 h
    assert result.steps[1]["median_seconds_from_previous"] == 3600
    assert result.steps[2]["median_seconds_from_previous"] == 3600


def test_window_end_is_inclusive(workspace: Workspace) -> None:
    rows = [
        ("c1", "2026-01-01 10:00:00", "view", {}),
        ("c1", "2026-01-02 10:00:00", "buy", {}),  # exactly one day later: inside
        ("c2", "2026-01-01 10:00:00", "view", {}),
        ("c2", "2026-01-02 10:00:01", "buy", {}),  # one second too late
    ]
    result = run(workspace, rows, "view", "buy", window_seconds=DAY)
    assert result.units_at(2) == ["c1"]
    assert result.units_at(1, "dropped") == ["c2"]


def test_same_timestamp_events_follow_seq(workspace: Workspace) -> None:
    """Events in the same second are ordered by seq (ts, then event id): a later seq may be
    the next step, an earlier one may not; one event never serves two steps."""
    rows = [
        ("c1", "2026-01-01 10:00", "view", {}),  # seq 1
        ("c1", "2026-01-01 10:00", "buy", {}),  # seq 2, same second: counts as after the view
        ("c2", "2026-01-01 10:00", "buy", {}),  # seq 1: before the view
        ("c2", "2026-01-01 10:00", "view", {}),  # seq 2
        ("c3", "2026-01-01 10:00", "view", {}),  # one event cannot be step 1 and step 2
    ]
    result = run(workspace, rows, "view", "buy")
    assert result.units_at(2) == ["c1"]
    assert result.steps[1]["median_seconds_from_previous"] == 0
    anything = workspace.funnels.run(["view", None], as_of=AS_OF)
    assert anything.units_at(2) == ["c1"]


def test_repeated_steps_and_best_attempt(workspace: Workspace) -> None:
    rows = [
        # first attempt reaches cart only; the second, three days later, converts
        ("c1", "2026-01-01 10:00", "view", {}),
        ("c1", "2026-01-01 11:00", "cart", {}),
        ("c1", "2026-01-04 10:00", "view", {}),
        ("c1", "2026-01-04 10:30", "view", {}),  # the latest view before the cart starts it
        ("c1", "2026-01-04 11:00", "cart", {}),
        ("c1", "2026-01-04 12:00", "buy", {}),
        # the same event twice as two steps
        ("c2", "2026-01-01 10:00", "view", {}),
        ("c2", "2026-01-01 10:05", "view", {}),
    ]
    load(workspace.engine, rows)
    result = workspace.funnels.run(["view", "cart", "buy"], window_seconds=DAY, as_of=AS_OF)
    assert result.units_at(3) == ["c1"]
    assert result.steps[1]["median_seconds_from_previous"] == 1800
    twice = workspace.funnels.run(["view", "view"], window_seconds=DAY, as_of=AS_OF)
    assert twice.units_at(2) == ["c1", "c2"]


def test_property_conditions_and_any_event(workspace: Workspace) -> None:
    rows = [
        ("c1", "2026-01-01 10:00", "view", {"category": "shoes"}),
        ("c1", "2026-01-01 10:05", "buy", {"total": 80}),
        ("c2", "2026-01-01 10:00", "view", {"category": "bags"}),
        ("c2", "2026-01-01 10:05", "buy", {"total": 80}),
        ("c3", "2026-01-01 10:00", "view", {"category": "shoes"}),
        ("c3", "2026-01-01 10:05", "buy", {"total": "20"}),
    ]
    load(workspace.engine, rows)
    steps = [Step("view", ("category = shoes",)), Step("buy", ("total >= 50",))]
    result = workspace.funnels.run(steps, as_of=AS_OF)
    assert result.units_at(1) == ["c1", "c3"]
    assert result.units_at(2) == ["c1"]
    assert result.steps[1]["label"] == "buy where total >= 50"


def test_exclusions_drop_the_attempt(workspace: Workspace) -> None:
    rows = [
        ("c1", "2026-01-01 10:00", "view", {}),
        ("c1", "2026-01-01 10:10", "cart", {}),
        ("c1", "2026-01-01 10:20", "error", {}),  # between cart and buy: attempt excluded
        ("c1", "2026-01-01 10:30", "buy", {}),
        ("c2", "2026-01-01 10:00", "view", {}),
        ("c2", "2026-01-01 10:05", "error", {}),  # between view and cart: not checked
        ("c2", "2026-01-01 10:10", "cart", {}),
        ("c2", "2026-01-01 10:30", "buy", {}),
        ("c3", "2026-01-01 10:00", "view", {}),
        ("c3", "2026-01-01 10:10", "cart", {}),
        ("c3", "2026-01-01 10:20", "error", {}),  # never bought: excluded within the window
        ("c4", "2026-01-01 10:00", "view", {}),
        ("c4", "2026-01-01 10:10", "cart", {}),
        ("c4", "2026-01-03 10:20", "error", {}),  # after the window: the attempt counts
    ]
    exclusion = Exclusion("error", 2, 3)
    result = run(
        workspace, rows, "view", "cart", "buy", window_seconds=DAY, exclusions=(exclusion,)
    )
    assert result.units_at(1) == ["c2", "c4"]
    assert result.units_at(3) == ["c2"]


def test_open_windows_are_not_drop_offs(workspace: Workspace) -> None:
    rows = [
        ("c1", "2026-05-31 10:00", "view", {}),  # window ends 2026-06-07: still open
        ("c2", "2026-05-20 10:00", "view", {}),  # window ended 2026-05-27: dropped
        ("c3", "2026-05-30 10:00", "view", {}),
        ("c3", "2026-05-30 11:00", "buy", {}),
    ]
    result = run(workspace, rows, "view", "buy", window_seconds=7 * DAY)
    step = result.steps[0]
    assert (step["units"], step["dropped"], step["open"]) == (3, 1, 1)
    assert result.units_at(1, "open") == ["c1"]
    assert result.units_at(1, "dropped") == ["c2"]
    # events after as_of are not read
    later = workspace.funnels.run(["view", "buy"], as_of=datetime(2026, 5, 30, 10, 30))
    assert later.units_at(2) == []


def test_breakdowns_by_property_of_a_step_channel_and_trait(workspace: Workspace) -> None:
    rows = [
        ("c1", "2026-01-01 10:00", "view", {"device": "mobile"}),
        ("c1", "2026-01-01 10:05", "buy", {"device": "desktop"}),
        ("c2", "2026-01-01 10:00", "view", {"device": "mobile"}),
        ("c3", "2026-01-01 10:00", "view", {}),
        ("c3", "2026-01-01 10:05", "buy", {"device": "desktop"}),
    ]
    profiles = {"c1": {"tier": "gold"}, "c2": {"tier": "gold"}}
    result = run(
        workspace, rows, "view", "buy", breakdown="property:device", load={"profiles": profiles}
    )
    by = result.by_breakdown()
    assert {k: [s["units"] for s in v] for k, v in by.items()} == {
        "(none)": [1, 1],
        "mobile": [2, 1],
    }
    at_buy = workspace.funnels.run(
        ["view", "buy"], as_of=AS_OF, breakdown="property:device", breakdown_step=2
    ).by_breakdown()
    assert {k: [s["units"] for s in v] for k, v in at_buy.items()} == {
        "(none)": [1, 0],
        "desktop": [2, 2],
    }
    traits = workspace.funnels.run(["view", "buy"], as_of=AS_OF, breakdown="trait:tier")
    assert {k: [s["units"] for s in v] for k, v in traits.by_breakdown().items()} == {
        "(none)": [1, 1],
        "gold": [2, 1],
    }
    channel = workspace.funnels.run(["view", "buy"], as_of=AS_OF, breakdown="channel")
    assert list(channel.by_breakdown()) == ["Direct"]
    frame = result.to_pandas()
    assert set(frame["breakdown"]) == {"(none)", "mobile"}


def test_count_by_account(workspace: Workspace) -> None:
    rows = [
        ("c1", "2026-01-01 10:00", "view", {}),
        ("c2", "2026-01-01 11:00", "buy", {}),  # another contact of the same account
        ("c3", "2026-01-01 10:00", "view", {}),
    ]
    members = [("acme", "c1"), ("acme", "c2"), ("solo", "c3")]
    result = run(workspace, rows, "view", "buy", count_by="account", load={"members": members})
    assert result.units_at(1) == ["acme", "solo"]
    assert result.units_at(2) == ["acme"]


def test_count_by_session(workspace: Workspace) -> None:
    rows = [
        # c1, session 1: views, then leaves for 31 minutes (more than the 30-minute gap)
        ("c1", "2026-01-01 10:00", "view", {}),
        ("c1", "2026-01-01 10:05", "cart", {}),
        # session 2 starts at 10:36: cart and buy, but no view in this session
        ("c1", "2026-01-01 10:36", "cart", {}),
        ("c1", "2026-01-01 10:40", "buy", {}),
        # session 3: the whole funnel, gaps of exactly 30 minutes stay in the session
        ("c1", "2026-01-02 09:00", "view", {}),
        ("c1", "2026-01-02 09:30", "cart", {}),
        ("c1", "2026-01-02 10:00", "buy", {}),
        ("c2", "2026-01-01 12:00", "view", {}),
    ]
    by_customer = run(workspace, rows, "view", "cart", "buy", window_seconds=DAY)
    assert units(by_customer) == [2, 1, 1]
    by_session = run(workspace, rows, "view", "cart", "buy", count_by="session")
    # three sessions start with a view (c1 #1, c1 #5, c2 #1); the first one stops at the cart:
    # its buy is in the next session
    assert units(by_session) == [3, 2, 1]
    assert by_session.units_at(1) == ["c1#1", "c1#5", "c2#1"]
    assert by_session.units_at(2, "dropped") == ["c1#1"]
    assert by_session.units_at(3) == ["c1#5"]
    # a 10-minute gap splits the third session too: no session holds a view and a cart
    short = run(workspace, rows, "view", "cart", "buy", count_by="session", session_gap_seconds=600)
    assert units(short) == [3, 1, 0]


def test_breakdown_by_journey_stage_at_the_step(workspace: Workspace) -> None:
    rows = [
        ("c1", "2026-01-01 10:00", "page_viewed", {}),
        ("c1", "2026-01-10 10:00", "view", {}),
        ("c1", "2026-01-10 11:00", "buy", {}),
        ("c2", "2026-01-01 10:00", "view", {}),
        ("c3", "2026-01-01 10:00", "view", {}),
    ]
    load(workspace.engine, rows)
    model = """
id: browse_buy
labels: {en: Browse and buy, it: Guarda e compra}
stages:
  - {id: browsing, labels: {en: Browsing, it: Guarda}, entry: {event: page_viewed}}
  - {id: buying, labels: {en: Buying, it: Compra}, entry: {event: buy}}
"""
    workspace.stages.assign(model_text(model), as_of=AS_OF)
    result = workspace.funnels.run(
        ["view", "buy"], as_of=AS_OF, breakdown="stage:browse_buy", breakdown_step=1
    )
    by_stage = {k: [s["units"] for s in v] for k, v in result.by_breakdown().items()}
    # c1 was browsing when it viewed (it bought only afterwards); c2 and c3 had no stage yet
    assert by_stage == {"browsing": [1, 1], "(none)": [2, 0]}
    at_purchase = workspace.funnels.run(
        ["view", "buy"], as_of=AS_OF, breakdown="stage:browse_buy", breakdown_step=2
    )
    # the stage at the buy event: that event itself made c1 enter "buying"
    assert {k: [s["units"] for s in v] for k, v in at_purchase.by_breakdown().items()} == {
        "buying": [1, 1],
        "(none)": [2, 0],
    }


def test_stage_breakdown_needs_a_stored_history(workspace: Workspace) -> None:
    load(workspace.engine, [("c1", "2026-01-01 10:00", "view", {})])
    with pytest.raises(NotFoundError, match="journeylens stages assign aida"):
        workspace.funnels.run(["view", "buy"], as_of=AS_OF, breakdown="stage:aida")


def test_over_time_by_start_period(workspace: Workspace) -> None:
    rows = [
        ("c1", "2026-01-05 10:00", "view", {}),
        ("c1", "2026-01-05 11:00", "buy", {}),
        ("c2", "2026-01-06 10:00", "view", {}),
        ("c3", "2026-01-13 10:00", "view", {}),
        ("c3", "2026-01-13 11:00", "buy", {}),
    ]
    result = run(workspace, rows, "view", "buy")
    assert [(r["period"].isoformat(), r["units"], r["converted"]) for r in result.over_time()] == [
        ("2026-01-05", 2, 1),
        ("2026-01-12", 1, 1),
    ]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"steps": ("a",)}, "steps"),
        ({"steps": tuple("abcdefghijklmnopqrstu")}, "steps"),
        ({"steps": ("a", "b"), "window_seconds": 0}, "window_seconds"),
        ({"steps": ("a", "b"), "order": "sorted"}, "order"),
        ({"steps": ("a", "b"), "count_by": "planet"}, "count_by"),
        ({"steps": ("a", "b"), "breakdown": "colour"}, "breakdown"),
        ({"steps": ("a", "b"), "breakdown": "stage:"}, "breakdown"),
        ({"steps": ("a", "b"), "count_by": "session", "breakdown": "trait:city"}, "breakdown"),
        ({"steps": ("a", "b"), "session_gap_seconds": 0}, "session_gap_seconds"),
        ({"steps": ("a", "b"), "breakdown_step": 3}, "breakdown_step"),
        ({"steps": ("a", "b"), "exclusions": (Exclusion("x", 1, 3),)}, "exclusions"),
        (
            {"steps": ("a", "b"), "order": "unordered", "exclusions": (Exclusion("x", 1, 2),)},
            "exclusions",
        ),
    ],
)
def test_spec_is_validated(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as error:
        FunnelSpec(**options)
    assert error.value.field == field


def test_step_conditions_are_validated() -> None:
    with pytest.raises(ConfigError) as error:
        Step("a", ("total >> 3",))
    assert error.value.field == "where[0]"
