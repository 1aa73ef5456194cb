"""The same compiled funnel SQL gives identical results on DuckDB and ClickHouse (chDB)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pyarrow as pa
import pytest

from journeylens import Workspace
from journeylens.funnels import Exclusion, FunnelSpec, Step
from journeylens.funnels.compile import compile_funnel
from tests.stages.conftest import event_codes, load

chdb_engine = pytest.importorskip("journeylens.engines.chdb")

AS_OF = datetime(2026, 6, 1)
DAY = 86_400
LOG = [
    ("c1", "2026-01-01 10:00", "view", {"device": "mobile"}),
    ("c1", "2026-01-01 10:00", "cart", {}),
    ("c1", "2026-01-01 10:10", "error", {}),
    ("c1", "2026-01-02 10:00", "buy", {"total": 80}),
    ("c1", "2026-01-04 10:00", "view", {"device": "desktop"}),
    ("c1", "2026-01-04 10:05", "cart", {}),
    ("c1", "2026-01-04 10:06", "buy", {"total": "20"}),
    ("c2", "2026-01-01 10:00", "buy", {"total": 5}),
    ("c2", "2026-01-01 11:00", "cart", {}),
    ("c2", "2026-01-01 12:00", "view", {}),
    ("c3", "2026-05-31 10:00", "view", {"device": "mobile"}),
    ("c3", "2026-05-31 10:00", "view", {}),
    ("c4", "2026-01-01 10:00:00", "view", {}),
    ("c4", "2026-01-02 10:00:00", "cart", {}),
    ("c4", "2026-01-02 10:00:01", "buy", {"total": 100}),
]
STEPS = ("view", "cart", "buy")
SPECS = [
    FunnelSpec(steps=STEPS, window_seconds=DAY),
    FunnelSpec(steps=STEPS, window_seconds=None, order="strict"),
    FunnelSpec(steps=STEPS, window_seconds=DAY, order="unordered", breakdown="property:device"),
    FunnelSpec(steps=STEPS, exclusions=(Exclusion("error", 2, 3),), breakdown="channel"),
    FunnelSpec(
        steps=("view", Step("buy", ("total >= 50",)), None),
        breakdown="property:total",
        breakdown_step=2,
    ),
    FunnelSpec(steps=("view", "buy"), count_by="account", breakdown="trait:size"),
    FunnelSpec(steps=STEPS, window_seconds=DAY, count_by="session", session_gap_seconds=3600),
    FunnelSpec(steps=STEPS, window_seconds=DAY, breakdown="stage:m", breakdown_step=2),
]
STAGE_ENTRIES = pa.table(
    {
        "model_id": ["m", "m", "m", "m", "other"],
        "unit_id": ["c1", "c1", "c4", "c4", "c2"],
        "stage": ["browsing", "buying", "browsing", "buying", "elsewhere"],
        "entered_at": [
            datetime(2026, 1, 1, 9),
            datetime(2026, 1, 2, 10),
            datetime(2026, 1, 1, 10),
            datetime(2026, 1, 2, 10),
            datetime(2026, 1, 1, 9),
        ],
    }
)


@pytest.fixture(scope="module")
def chdb() -> Iterator[Any]:
    engine = chdb_engine.ChDBEngine()
    yield engine
    engine.close()


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.order}-{s.count_by}-{s.breakdown}")
def test_duckdb_and_chdb_agree(workspace: Workspace, chdb: Any, spec: FunnelSpec) -> None:
    members = [("acme", "c1"), ("acme", "c2"), ("solo", "c3"), ("solo", "c4")]
    events = load(
        workspace.engine,
        LOG,
        members=members,
        accounts={"acme": {"size": "big"}, "solo": {"size": "small"}},
    )
    with workspace.engine.registered("_entries", STAGE_ENTRIES):
        workspace.engine.execute("CREATE TABLE stage_entries AS SELECT * FROM _entries")
    query = compile_funnel(spec, event_codes(LOG), AS_OF)
    expected = workspace.engine.rows(query)
    chdb.load("stage_entries", STAGE_ENTRIES)
    chdb.load("customer_events", events, order_by=("customer_id", "ts"))
    chdb.load(
        "account_members",
        pa.table({"account_id": [a for a, _ in members], "customer_id": [c for _, c in members]}),
    )
    chdb.load(
        "accounts",
        pa.table(
            {"account_id": ["acme", "solo"], "traits": ['{"size": "big"}', '{"size": "small"}']}
        ),
    )
    chdb.load("customer_profiles", pa.table({"customer_id": ["c1"], "traits": ["{}"]}))
    assert len(expected) >= 2
    assert any(r["reached"] > 1 for r in expected)
    assert chdb.rows(query) == expected
    if spec.breakdown == "stage:m":
        assert {r["unit_id"]: r["breakdown"] for r in expected} == {
            "c1": "browsing",  # its best attempt's cart (Jan 1 10:00) was before "buying"
            "c2": None,  # a stage only in another model
            "c3": None,  # did not reach step 2
            "c4": "buying",  # its cart at the very second it entered "buying"
        }


def test_customers_named_through_profiles_agree(workspace: Workspace, chdb: Any) -> None:
    """Customers named through ``customer_profiles.customer_key`` (as identity writes it): the
    same rows as naming them from their first events, on DuckDB and on chDB."""
    events = load(workspace.engine, LOG)
    firsts = events.filter(pa.compute.equal(events.column("seq"), 1))
    profiles = pa.table(
        {"customer_id": firsts.column("customer_id"), "customer_key": firsts.column("customer_key")}
    )
    with workspace.engine.registered("_profiles", profiles):
        workspace.engine.execute(
            "CREATE OR REPLACE TABLE customer_profiles AS SELECT * FROM _profiles"
        )
    chdb.load("customer_events", events, order_by=("customer_id", "ts"))
    chdb.load("customer_profiles", profiles)
    spec = FunnelSpec(steps=("view", "cart", "buy"), window_seconds=7 * DAY)
    by_events = workspace.engine.rows(compile_funnel(spec, event_codes(LOG), AS_OF))
    named = compile_funnel(spec, event_codes(LOG), AS_OF, profiles=True)
    assert len(by_events) >= 2
    assert workspace.engine.rows(named) == by_events
    assert chdb.rows(named) == by_events
