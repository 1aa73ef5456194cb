"""The same compiled attribution SQL gives identical results on DuckDB and ClickHouse (chDB)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from journeylens import Workspace
from journeylens.attribution import AttributionSpec
from journeylens.attribution.compile import compile_costs, compile_paths, compile_time_decay
from journeylens.funnels.api import event_codes
from tests.attribution.conftest import AS_OF, load
from tests.attribution.test_attribution import LOG

chdb_engine = pytest.importorskip("journeylens.engines.chdb")

SPECS = {
    "default": AttributionSpec(),
    "keep-whole-history": AttributionSpec(repeats="keep", lookback_days=None),
    "campaign-1-day": AttributionSpec(level="campaign", lookback_days=1),
    "touchpoint-count": AttributionSpec(level="touchpoint", value="count"),
    "source-filtered": AttributionSpec(
        level="source", conversion=("purchase"), channels=("Email", "Paid Search")
    ),
}


@pytest.fixture(scope="module")
def chdb() -> Iterator[Any]:
    engine = chdb_engine.ChDBEngine()
    yield engine
    engine.close()


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: repr(sorted(r.items())))


@pytest.mark.parametrize("name", list(SPECS))
def test_path_tables_identical(workspace: Workspace, chdb: Any, name: str) -> None:
    events = load(workspace.engine, LOG)
    chdb.load("customer_events", events, order_by=("customer_id", "ts"))
    query = compile_paths(SPECS[name], event_codes(workspace.engine), AS_OF)
    expected = _sorted(workspace.engine.rows(query))
    assert len(expected) >= 3
    assert _sorted(chdb.rows(query)) == expected


def test_time_decay_and_costs_agree(workspace: Workspace, chdb: Any) -> None:
    events = load(workspace.engine, LOG)
    chdb.load("customer_events", events, order_by=("customer_id", "ts"))
    codes = event_codes(workspace.engine)
    decay = compile_time_decay(AttributionSpec(), codes, AS_OF, 7.0)
    ours = {r["v"]: (r["conversions"], r["revenue"]) for r in workspace.engine.rows(decay)}
    theirs = {r["v"]: (r["conversions"], r["revenue"]) for r in chdb.rows(decay)}
    assert set(ours) == set(theirs) == {"Paid Search", "Email", "Organic Search"}
    for key, (c, v) in ours.items():
        assert theirs[key] == pytest.approx((c, v))
    costs = compile_costs("channel", None, AS_OF)
    assert _sorted(chdb.rows(costs)) == _sorted(workspace.engine.rows(costs))
