"""The streaming journey fold (attribution/journeys.py) against the set-based SQL
(``compile_paths``, ``compile_time_decay``) and the pure-Python reference: random logs, random
specs, customers cut by batch boundaries, stores not clustered by customer, and chDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeylens.attribution import AttributionSpec
from journeylens.attribution import journeys as journeys_module
from journeylens.attribution.compile import compile_paths, compile_time_decay
from journeylens.attribution.journeys import Journeys
from journeylens.attribution.paths import PathTable
from journeylens.engines.duckdb import DuckDBEngine
from journeylens.funnels.api import event_codes
from journeylens.schema import CUSTOMER_EVENT_COLUMNS
from journeylens.sql import create_table
from tests.attribution.conftest import AS_OF, events_table, load
from tests.attribution.test_attribution import LOG, START, reference

CHANNELS = ["Email", "Paid Search", "Display", "Unassigned"]


def _rows(raw: list[tuple[str, int, str, int]]) -> list[tuple[Any, ...]]:
    return [
        (
            customer,
            (START + timedelta(minutes=minute)).isoformat(sep=" ")[:16],
            "purchase" if kind == "purchase" else "touch",
            "Direct" if kind == "purchase" else kind,
            {"revenue": revenue} if kind == "purchase" else {},
        )
        for customer, minute, kind, revenue in raw
    ]


def _stored(engine: DuckDBEngine, rows: list[tuple[Any, ...]], permutation: list[int]) -> None:
    """customer_events with its rows stored in ``permutation`` order (not clustered)."""
    table = events_table(rows)
    stored = table.take(pa.array([p for p in permutation if p < table.num_rows]))
    engine.execute("DROP TABLE IF EXISTS customer_events")
    engine.execute(create_table("customer_events", CUSTOMER_EVENT_COLUMNS))
    with engine.registered("_rows", stored):
        engine.execute("INSERT INTO customer_events SELECT * FROM _rows")


def _as_set(table: pa.Table) -> list[tuple[Any, ...]]:
    return sorted(
        (
            tuple(r["path"]),
            r["same_touch"] or "",
            int(r["conversions"]),
            round(float(r["revenue"] or 0), 6),
            int(r["non_conversions"]),
        )
        for r in table.to_pylist()
    )


@pytest.fixture(scope="module")
def engine() -> Iterator[DuckDBEngine]:
    db = DuckDBEngine(None)
    yield db
    db.close()


log_rows = st.lists(
    st.tuples(
        st.sampled_from(["u1", "u2", "u3", "u4", "u5"]),
        st.integers(0, 60 * 24 * 40),  # minutes over 40 days; ties happen
        st.sampled_from([*CHANNELS, "purchase"]),
        st.integers(1, 100),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(
    raw=log_rows,
    lookback=st.sampled_from([None, 3, 10.5]),
    collapse=st.booleans(),
    since_day=st.sampled_from([None, 5, 30]),
    batch_rows=st.integers(1, 12),
    permutation=st.none() | st.permutations(list(range(40))),
)
def test_fold_matches_sql_and_reference(
    engine: DuckDBEngine,
    raw: list[tuple[str, int, str, int]],
    lookback: float | None,
    collapse: bool,
    since_day: int | None,
    batch_rows: int,
    permutation: list[int] | None,
) -> None:
    rows = _rows(raw)
    if permutation is None:
        load(engine, rows)
    else:
        load(engine, rows)  # event_names
        _stored(engine, rows, permutation)
    since = None if since_day is None else START + timedelta(days=since_day)
    spec = AttributionSpec(
        lookback_days=lookback, repeats="collapse" if collapse else "keep", since=since
    )
    codes = event_codes(engine)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(journeys_module, "BATCH_ROWS", batch_rows)
        journeys = Journeys.read(engine, spec, codes, AS_OF)
    folded = journeys.paths()
    assert _as_set(folded) == _as_set(engine.arrow(compile_paths(spec, codes, AS_OF)))
    if since is None:
        got = {
            tuple(r["path"]): (r["conversions"], r["value"], r["non_conversions"])
            for r in PathTable.from_arrow(folded, count=False).grouped()
        }
        assert got == reference(rows, lookback, collapse)
    credited, revenue = journeys.time_decay(7.0)
    expected = {
        r["v"]: (r["conversions"], r["revenue"])
        for r in engine.rows(compile_time_decay(spec, codes, AS_OF, 7.0))
    }
    got_decay = {
        label: (credited[i], revenue[i])
        for i, label in enumerate(journeys.labels)
        if credited[i] or revenue[i]
    }
    assert set(got_decay) == set(expected)
    for label, (c, v) in expected.items():
        assert got_decay[label] == pytest.approx((c, float(v)))


def test_fold_on_the_hand_checked_log(engine: DuckDBEngine) -> None:
    """The log of test_attribution.py (every level and option) gives the SQL's table."""
    load(engine, LOG)
    codes = event_codes(engine)
    for spec in (
        AttributionSpec(),
        AttributionSpec(level="campaign", lookback_days=1),
        AttributionSpec(level="touchpoint", value="count", repeats="keep"),
        AttributionSpec(level="source", channels=("Email", "Paid Search")),
        AttributionSpec(since=datetime(2026, 1, 2), lookback_days=None),
    ):
        folded = Journeys.read(engine, spec, codes, AS_OF).paths()
        assert _as_set(folded) == _as_set(engine.arrow(compile_paths(spec, codes, AS_OF)))
        assert folded.num_rows >= 2


def test_customer_split_over_batches(engine: DuckDBEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """One customer with 30 events read 4 rows at a time: one journey, not eight."""
    rows = [
        ("c1", f"2026-01-01 10:{m:02d}", "touch", "Email" if m % 2 else "Display")
        for m in range(29)
    ] + [("c1", "2026-01-01 10:59", "purchase", "Direct", {"revenue": 7})]
    load(engine, rows)
    monkeypatch.setattr(journeys_module, "BATCH_ROWS", 4)
    journeys = Journeys.read(engine, AttributionSpec(), event_codes(engine), AS_OF)
    table = journeys.paths().to_pylist()
    assert len(table) == 1
    assert table[0]["path"] == ["Display", "Email"] * 14 + ["Display"]
    assert (table[0]["conversions"], table[0]["revenue"]) == (1, 7.0)


def test_same_journeys_on_chdb(engine: DuckDBEngine) -> None:
    chdb_engine = pytest.importorskip("journeylens.engines.chdb")
    events = load(engine, LOG)
    chdb = chdb_engine.ChDBEngine()
    try:
        chdb.load("customer_events", events, order_by=("customer_id", "ts"))
        codes = event_codes(engine)
        for spec in (AttributionSpec(), AttributionSpec(level="campaign", repeats="keep")):
            ours = Journeys.read(engine, spec, codes, AS_OF).paths()
            theirs = Journeys.read(chdb, spec, codes, AS_OF).paths()
            assert _as_set(theirs) == _as_set(ours)
    finally:
        chdb.close()
