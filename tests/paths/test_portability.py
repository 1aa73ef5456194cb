"""The same compiled path SQL gives identical results on DuckDB and ClickHouse (chDB)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlglot import exp

from journeylens import Workspace
from journeylens.paths.compile import (
    anchors,
    compile_between,
    compile_chains,
    compile_transitions,
)
from tests.paths.test_paths import LOG
from tests.stages.conftest import event_codes, load

chdb_engine = pytest.importorskip("journeylens.engines.chdb")

AS_OF = datetime(2026, 6, 1)
GAP = 1800 * 1_000_000


def _queries() -> list[tuple[str, exp.Expression]]:
    codes = event_codes(LOG)
    chains = [
        ("from-home", anchors("every", codes["home"], None), False, None),
        ("to-view", anchors("every", codes["view"], None), True, None),
        ("first", anchors("first", None, None), False, None),
        ("first-view", anchors("first", codes["view"], None), False, None),
        ("sessions", anchors("session", None, GAP), False, GAP),
        ("sessions-to-buy", anchors("every", codes["buy"], GAP), True, GAP),
    ]
    out: list[tuple[str, exp.Expression]] = [
        ("transitions", compile_transitions(AS_OF, None)),
        ("transitions-sessions", compile_transitions(AS_OF, GAP)),
        ("between", compile_between(codes["home"], codes["buy"], AS_OF)),
    ]
    for name, anchor, backward, gap in chains:
        query = compile_chains(anchor, 4, backward=backward, gap_us=gap, as_of=AS_OF)
        out.append((name, query.order_by(*[f"k_{i}" for i in range(4)])))
    return out


@pytest.fixture(scope="module")
def chdb() -> Iterator[Any]:
    engine = chdb_engine.ChDBEngine()
    yield engine
    engine.close()


@pytest.mark.parametrize(("name", "query"), _queries(), ids=[n for n, _ in _queries()])
def test_duckdb_and_chdb_agree(
    workspace: Workspace, chdb: Any, name: str, query: exp.Expression
) -> None:
    events = load(workspace.engine, LOG)
    expected = workspace.engine.rows(query)
    chdb.load("customer_events", events, order_by=("customer_id", "ts"))
    assert len(expected) >= 2
    assert chdb.rows(query) == expected
