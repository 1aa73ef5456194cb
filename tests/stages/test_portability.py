"""The same compiled stage SQL gives identical histories on DuckDB and on ClickHouse (chDB)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pyarrow as pa
import pytest

from journeylens import Workspace
from journeylens.stages.assign import stage_input
from journeylens.stages.compile import compile_history
from journeylens.stages.model import load_model
from tests.stages.conftest import event_codes, load, model
from tests.stages.test_assignment import CIRCULAR, LINEAR

chdb_engine = pytest.importorskip("journeylens.engines.chdb")

AS_OF = datetime(2026, 12, 31)
LOG = [
    ("c1", "2026-01-01 10:00", "page_viewed", {}),
    ("c1", "2026-01-02 10:00", "product_viewed", {}),
    ("c1", "2026-01-05 10:00", "product_viewed", {}),
    ("c1", "2026-01-06 10:00", "purchase", {"total": 5}),
    ("c1", "2026-01-07 10:00", "purchase", {"total": 50}),
    ("c1", "2026-01-08 10:00", "review_written", {"rating": 5}),
    ("c1", "2026-03-01 10:00", "product_viewed", {}),
    ("c2", "2026-01-01 10:00", "ad_click", {}),
    ("c2", "2026-01-01 10:00", "purchase", {"total": "12.5"}),
    ("c2", "2026-02-01 10:00", "review_read", {"platform": "google"}),
    ("c2", "2026-02-03 10:00", "purchase", {}),
    ("c3", "2026-05-01 10:00", "nps_response", {"score": 10}),
    ("c3", "2026-05-02 10:00", "booking_confirmed", {"total": 300}),
    ("c3", "2026-05-03 10:00", "email_clicked", {}),
]


@pytest.fixture(scope="module")
def chdb() -> Iterator[Any]:
    engine = chdb_engine.ChDBEngine()
    yield engine
    engine.close()


def _rows(table: pa.Table) -> list[tuple[Any, ...]]:
    return [
        (
            r["unit_id"],
            r["stage"],
            r["stage_rank"],
            r["entered_at"].replace(tzinfo=None),
            r["event_id"],
            r["exited_at"].replace(tzinfo=None) if r["exited_at"] else None,
            r["entry_number"],
        )
        for r in table.to_pylist()
    ]


@pytest.mark.parametrize(
    "source", [LINEAR, CIRCULAR, "five_phases", "mckinsey_cdj", "aida", "awareness_to_loyalty"]
)
def test_duckdb_and_chdb_agree(workspace: Workspace, chdb: Any, source: str) -> None:
    journey = load_model(source) if "\n" not in source else model(source)
    events = load(workspace.engine, LOG)
    query = compile_history(journey, stage_input(journey, event_codes(LOG)), AS_OF)
    expected = _rows(workspace.engine.arrow(query))
    chdb.load("customer_events", events, order_by=("customer_id", "ts"))
    chdb.load("customer_profiles", pa.table({"customer_id": ["c1"], "traits": ["{}"]}))
    got = _rows(chdb.arrow(query))
    assert expected, "the log should produce stage entries"
    assert got == expected


def test_account_model_agrees_on_chdb(workspace: Workspace, chdb: Any) -> None:
    """The B2B pipeline reads the members' events per account, numbered again per account."""
    members = [("acme", "c1"), ("acme", "c2"), ("solo", "c3")]
    journey = load_model("b2b_pipeline")
    events = load(
        workspace.engine,
        LOG,
        members=members,
        accounts={"acme": {"employees": 40}, "solo": {"employees": 1}},
    )
    query = compile_history(journey, stage_input(journey, event_codes(LOG)), AS_OF)
    expected = _rows(workspace.engine.arrow(query))
    chdb.load("customer_events", events, order_by=("customer_id", "ts"))
    chdb.load(
        "account_members",
        pa.table({"account_id": [a for a, _ in members], "customer_id": [c for _, c in members]}),
    )
    chdb.load(
        "accounts",
        pa.table(
            {"account_id": ["acme", "solo"], "traits": ['{"employees": 40}', '{"employees": 1}']}
        ),
    )
    assert {r[0] for r in expected} == {"acme", "solo"}
    assert _rows(chdb.arrow(query)) == expected
