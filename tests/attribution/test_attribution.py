"""Paths from SQL on hand-checked logs, the workspace facade, time decay, costs and ROI, and the
SQL path table against a short pure-Python reference (Hypothesis)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeylens import Workspace
from journeylens.attribution import AttributionSpec
from journeylens.attribution.compile import compile_paths
from journeylens.engines.duckdb import DuckDBEngine
from journeylens.errors import ConfigError, NotFoundError
from journeylens.funnels import Step
from journeylens.funnels.api import event_codes
from tests.attribution.conftest import AS_OF, load

LOG: list[tuple[Any, ...]] = [
    (
        "c1",
        "2026-01-01 10:00",
        "ad_click",
        "Paid Search",
        {"cost": 2, "properties": {"campaign": "x"}},
    ),
    ("c1", "2026-01-02 10:00", "page_viewed", "Paid Search", {"type": "page"}),
    ("c1", "2026-01-03 10:00", "email_opened", "Email", {"properties": {"campaign": "nl"}}),
    (
        "c1",
        "2026-01-03 10:05",
        "purchase",
        "Direct",
        {"revenue": 100, "properties": {"revenue": 100}},
    ),
    ("c1", "2026-01-05 10:00", "ad_click", "Display", {"cost": 3}),
    # same timestamp: the page came first in the file, so it is before the purchase
    ("c2", "2026-01-01 10:00", "page_viewed", "Organic Search", {"type": "page"}),
    (
        "c2",
        "2026-01-01 10:00",
        "purchase",
        "Direct",
        {"revenue": 50, "properties": {"revenue": 50}},
    ),
    ("c2", "2026-01-01 11:00", "identify", "Direct", {"type": "identify"}),
    ("c3", "2026-01-01 10:00", "purchase", "Store", {"revenue": 20, "source": "pos"}),
    ("c4", "2025-01-01 10:00", "ad_click", "Display", {"cost": 1}),
    ("c4", "2026-01-01 10:00", "page_viewed", "Email", {"type": "page"}),
    ("c4", "2026-01-01 10:01", "page_viewed", "Email", {"type": "page"}),
    ("c4", "2026-01-01 10:01", "crm_update", "Unassigned"),
    (
        "c4",
        "2026-01-01 10:02",
        "purchase",
        "Direct",
        {"revenue": 10, "properties": {"revenue": 10}},
    ),
    ("c4", "2026-01-01 10:03", "purchase", "Direct", {"revenue": 5, "properties": {"revenue": 5}}),
]


def paths_of(ws: Workspace, **options: Any) -> dict[str, tuple[float, float, float]]:
    rows = ws.attribution.paths(as_of=AS_OF, **options).rows
    return {
        " > ".join(r["path"]): (r["conversions"], r["value"], r["non_conversions"]) for r in rows
    }


def test_paths_by_hand(loaded: Any) -> None:
    ws = loaded(LOG)
    assert paths_of(ws) == {
        # c1: the ad click and the page (Paid Search twice, collapsed), the email
        "Paid Search > Email": (1, 100, 0),
        "Organic Search": (1, 50, 0),
        # c3 bought with no touchpoint; c4's second purchase had none since the first
        "(no touchpoint)": (2, 25, 0),
        # c4: the 2025 click is out of the 30-day lookback; two Email pages collapsed
        "Email": (1, 10, 0),
        # c1 after the purchase: an open journey that did not convert
        "Display": (0, 0, 1),
    }


def test_repeats_kept_lookback_and_levels(loaded: Any) -> None:
    ws = loaded(LOG)
    kept = paths_of(ws, repeats="keep", lookback_days=None)
    assert kept["Paid Search > Paid Search > Email"] == (1, 100, 0)
    assert kept["Display > Email > Email"] == (1, 10, 0)
    short = paths_of(ws, lookback_days=1.5)  # c1's click (2 days before) drops out
    assert short["Paid Search > Email"] == (1, 100, 0)
    assert paths_of(ws, lookback_days=1)["Email"] == (2, 110, 0)
    campaigns = paths_of(ws, level="campaign")
    assert campaigns["x > (Paid Search) > nl"] == (1, 100, 0)
    events = paths_of(ws, level="touchpoint")
    assert events["ad_click > page_viewed > email_opened"] == (1, 100, 0)
    assert events["page_viewed"] == (2, 60, 0)


def test_conversion_filters_count_and_since(loaded: Any) -> None:
    ws = loaded(LOG)
    big = paths_of(ws, conversion=Step("purchase", ("revenue >= 50",)), value="count")
    # c4's purchases are not conversions now (nor touchpoints): its pages form an open journey
    assert big["Paid Search > Email"] == (1, 1, 0)
    assert big["Organic Search"] == (1, 1, 0)
    assert big["Email"] == (0, 0, 1)
    assert "(no touchpoint)" not in big
    late = paths_of(ws, since=datetime(2026, 1, 2))
    assert set(late) == {"Paid Search > Email", "Display"}


def test_run_compares_models(loaded: Any) -> None:
    ws = loaded(LOG)
    result = ws.attribution.run(
        as_of=AS_OF, models=["first_touch", "last_touch", "linear", "time_decay", "markov"]
    )
    assert result.total_conversions == 5 and result.total_value == 185
    assert result.credit("first_touch") == {
        "Paid Search": 1,
        "Organic Search": 1,
        "(no touchpoint)": 2,
        "Email": 1,
    }
    # time decay: c1's click 2 days 5 minutes before (half-life 7 days), the email 5 minutes
    w_click, w_mail = 2 ** (-(2 + 5 / 1440) / 7), 2 ** (-(5 / 1440) / 7)
    decay = result.credit("time_decay")
    assert decay["Paid Search"] == pytest.approx(w_click / (w_click + w_mail))
    assert decay["Email"] == pytest.approx(1 + w_mail / (w_click + w_mail))
    assert decay["(no touchpoint)"] == 2
    for model in result.models:
        assert sum(result.credit(model).values()) == pytest.approx(5), model
        assert sum(result.credit(model, "value").values()) == pytest.approx(185), model
    table = result.table()
    assert {r["channel"] for r in table} >= {"Paid Search", "Email"}
    assert result.figure().data and result.to_dict()["total_value"] == 185
    assert min(result.removal_effects["markov"].values()) >= 0


def test_roi_uses_imported_costs(loaded: Any) -> None:
    ws = loaded(LOG)
    roi = ws.attribution.roi(as_of=AS_OF, models=["last_touch", "linear"])
    rows = {(r["model"], r["touchpoint"]): r for r in roi.rows}
    # costs: Paid Search 2 (c1's click), Display 3 + 1
    assert rows[("linear", "Paid Search")]["cost"] == 2
    assert rows[("linear", "Paid Search")]["conversions"] == 0.5
    assert rows[("linear", "Paid Search")]["cpa"] == 4
    assert rows[("linear", "Paid Search")]["roi"] == pytest.approx((50 - 2) / 2)
    assert rows[("last_touch", "Display")]["cost"] == 4
    assert rows[("last_touch", "Display")]["cpa"] is None
    assert rows[("last_touch", "Display")]["roi"] == -1


def test_errors_name_the_field(loaded: Any, workspace: Workspace) -> None:
    with pytest.raises(NotFoundError):
        workspace.attribution.run()
    ws = loaded(LOG)
    with pytest.raises(ConfigError, match="unknown model"):
        ws.attribution.run(as_of=AS_OF, models=["magic"])
    with pytest.raises(ConfigError, match="channel or campaign"):
        ws.attribution.run(as_of=AS_OF, models=["last_non_direct"], level="source")
    with pytest.raises(ConfigError) as error:
        AttributionSpec(lookback_days=-1)
    assert error.value.field == "lookback_days"
    with pytest.raises(ConfigError) as error:
        AttributionSpec(level="country")  # type: ignore[arg-type]
    assert error.value.field == "level"


# -- the SQL path table against a short pure-Python reference -------------------------------

CHANNELS = ["A", "B", "C", "Unassigned"]
START = datetime(2026, 1, 1)


def reference(rows: list[tuple[Any, ...]], lookback_days: float | None, collapse: bool):
    """(path, converted) → (conversions, revenue, non-conversions), following the docs."""
    out: dict[tuple[str, ...], list[float]] = defaultdict(lambda: [0, 0, 0])
    by_customer: dict[str, list[tuple[int, tuple[Any, ...]]]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_customer[row[0]].append((i, row))
    for events in by_customer.values():
        events.sort(key=lambda e: (datetime.fromisoformat(e[1][1]), e[0]))
        touches: list[tuple[datetime, str]] = []

        def emit(
            touches: list[tuple[datetime, str]], end: datetime, converted: bool, revenue: float
        ) -> None:
            kept = [
                v
                for t, v in touches
                if lookback_days is None or t >= end - timedelta(days=lookback_days)
            ]
            if collapse:
                kept = [v for i, v in enumerate(kept) if i == 0 or kept[i - 1] != v]
            entry = out[tuple(kept) or ("(no touchpoint)",)]
            entry[0 if converted else 2] += 1
            entry[1] += revenue

        for _, (_, ts, event, channel, *extra) in events:
            moment = datetime.fromisoformat(ts)
            if event == "purchase":
                emit(touches, moment, True, extra[0]["revenue"])
                touches = []
            elif channel != "Unassigned":
                touches.append((moment, channel))
        if touches:
            emit(touches, touches[-1][0], False, 0)
    return {k: tuple(v) for k, v in out.items()}


log_rows = st.lists(
    st.tuples(
        st.sampled_from(["u1", "u2", "u3"]),
        st.integers(0, 60 * 24 * 40),  # minutes over 40 days; ties happen
        st.sampled_from([*CHANNELS, "purchase"]),
        st.integers(1, 100),
    ),
    min_size=1,
    max_size=25,
)


@pytest.fixture(scope="module")
def engine() -> Any:
    db = DuckDBEngine(None)
    yield db
    db.close()


@settings(max_examples=40, deadline=None)
@given(log_rows, st.sampled_from([None, 3, 10.5]), st.booleans())
def test_sql_paths_match_reference(
    engine: DuckDBEngine,
    raw: list[tuple[str, int, str, int]],
    lookback: float | None,
    collapse: bool,
) -> None:
    rows = [
        (
            c,
            (START + timedelta(minutes=m)).isoformat(sep=" ")[:16],
            "purchase" if kind == "purchase" else "touch",
            "Direct" if kind == "purchase" else kind,
            {"revenue": r} if kind == "purchase" else {},
        )
        for c, m, kind, r in raw
    ]
    load(engine, rows)
    spec = AttributionSpec(lookback_days=lookback, repeats="collapse" if collapse else "keep")
    from journeylens.attribution.paths import PathTable

    table = PathTable.from_arrow(
        engine.arrow(compile_paths(spec, event_codes(engine), AS_OF)), count=False
    )
    got = {
        tuple(r["path"]): (r["conversions"], r["value"], r["non_conversions"])
        for r in table.grouped()
    }
    assert got == reference(rows, lookback, collapse)
