"""Cross-check with an independent tool: retentioneering 5 on its bundled ``ecom`` data set.

Definitions compared (stated, not assumed):

* retentioneering's funnel counts paths (users) with events i1 < i2 < … of the steps in row
  order, without a window: journeylens' **ordered** funnel with no window, events ordered by
  time and then by file row (the event id is the zero-padded row index, so same-second events
  keep their file order, as the tie-break retentioneering uses).
* retentioneering's transition graph counts consecutive pairs within a user's path, plus
  synthetic ``path_start``/``path_end`` nodes, which journeylens does not have; the pairs of
  real events must be equal.
"""

from __future__ import annotations

import os

os.environ["RETENTIONEERING_NO_TRACK"] = "1"  # before the import: no telemetry

from typing import Any

import pyarrow as pa
import pytest

from journeylens import Workspace
from journeylens.schema import CUSTOMER_EVENT_COLUMNS
from journeylens.sql import create_table

datasets = pytest.importorskip("retentioneering.datasets")

STEPS = ["catalog", "product_view", "add_to_cart", "cart", "purchase"]


@pytest.fixture(scope="module")
def ecom() -> Any:
    return datasets.load_ecom()


@pytest.fixture
def loaded(workspace: Workspace, ecom: Any) -> Workspace:
    frame = ecom.to_dataframe()[["user_id", "event", "timestamp", "index"]]
    engine = workspace.engine
    engine.execute(create_table("customer_events", CUSTOMER_EVENT_COLUMNS))
    with engine.registered("_ecom", pa.Table.from_pandas(frame, preserve_index=False)):
        engine.execute(
            "CREATE TABLE event_names AS SELECT row_number() OVER (ORDER BY event)::INTEGER "
            "AS event_code, event FROM (SELECT DISTINCT event FROM _ecom)"
        )
        engine.execute(
            "INSERT INTO customer_events (customer_id, ts, seq, event_id, type, event, event_code, "
            "channel, source, data_party, customer_key) "
            "SELECT e.user_id, e.timestamp, row_number() OVER (PARTITION BY e.user_id "
            "ORDER BY e.timestamp, lpad(e.index::VARCHAR, 8, '0')), "
            "lpad(e.index::VARCHAR, 8, '0'), "
            "'track', e.event, n.event_code, 'Direct', 'ecom', 'first', "
            "dense_rank() OVER (ORDER BY e.user_id) "
            "FROM _ecom e JOIN event_names n ON n.event = e.event"
        )
    return workspace


def test_ordered_funnel_matches(loaded: Workspace, ecom: Any) -> None:
    theirs = [s["unique_paths"] for s in ecom.funnel_data(steps=STEPS)["steps"]]
    ours = loaded.funnels.run(STEPS, window_seconds=None, as_of=_end(loaded)).steps
    assert theirs[0] > theirs[-1] > 0
    assert [s["units"] for s in ours] == theirs


def test_transitions_match(loaded: Workspace, ecom: Any) -> None:
    matrix = ecom.transition_graph_data(edge_weight="count")
    theirs = {
        (source, target): int(matrix.loc[source, target])
        for source in matrix.index
        for target in matrix.columns
        if source != "path_start" and target != "path_end" and matrix.loc[source, target]
    }
    graph = loaded.funnels.paths.transitions(as_of=_end(loaded))
    ours = {(r["from_event"], r["to_event"]): r["transitions"] for r in graph.rows}
    assert len(ours) > 100
    assert ours == theirs


def _end(ws: Workspace) -> Any:
    return ws.engine.scalar("SELECT max(ts) FROM customer_events")
