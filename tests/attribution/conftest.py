"""Small hand-checkable logs for attribution, loaded as ``customer_events``.

A row is ``(customer, 'YYYY-MM-DD HH:MM', event, channel)`` or with a fifth item, a dict of
extra columns (``revenue``, ``cost``, ``source``, ``properties``, ``type``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from journeylens import Workspace
from journeylens.engines.base import Engine
from journeylens.schema import CUSTOMER_EVENT_COLUMNS
from journeylens.sql import create_table

AS_OF = datetime(2026, 6, 1)
_SCHEMA = pa.schema([pa.field(c.name, c.arrow) for c in CUSTOMER_EVENT_COLUMNS])


def events_table(rows: Sequence[tuple[Any, ...]]) -> pa.Table:
    """customer_events; seq per customer in (ts, list order); event codes in name order."""
    codes = {name: i for i, name in enumerate(sorted({r[2] for r in rows}), start=1)}
    seqs: dict[str, int] = {}
    # customer_key: an integer in customer-id order, as identity resolution writes it
    keys = {c: k for k, c in enumerate(sorted({r[0] for r in rows}), start=-5)}
    records = []
    ordered = sorted(
        enumerate(rows), key=lambda r: (r[1][0], datetime.fromisoformat(r[1][1]), r[0])
    )
    for index, row in ordered:
        customer, ts, event, channel = row[:4]
        extra: dict[str, Any] = row[4] if len(row) > 4 else {}
        seqs[customer] = seqs.get(customer, 0) + 1
        money = {
            k: None if extra.get(k) is None else Decimal(str(extra[k])).quantize(Decimal("0.0001"))
            for k in ("revenue", "cost")
        }
        records.append(
            {
                "customer_id": customer,
                "ts": datetime.fromisoformat(ts),
                "seq": seqs[customer],
                "event_id": f"{customer}-{index:04d}",
                "type": extra.get("type", "track"),
                "event": event,
                "event_code": codes[event],
                "channel": channel,
                "source": extra.get("source", "web"),
                "data_party": "first",
                **money,
                "currency": "EUR",
                "group_id": None,
                "properties": json.dumps(extra.get("properties", {})),
                "customer_key": keys[customer],
            }
        )
    return pa.Table.from_pylist(records, schema=_SCHEMA)


def load(engine: Engine, rows: Sequence[tuple[Any, ...]]) -> pa.Table:
    table = events_table(rows)
    engine.execute("DROP TABLE IF EXISTS customer_events")
    engine.execute(create_table("customer_events", CUSTOMER_EVENT_COLUMNS))
    with engine.registered("_rows", table):
        engine.execute("INSERT INTO customer_events SELECT * FROM _rows")
    engine.execute("CREATE OR REPLACE TABLE event_names (event_code INTEGER, event VARCHAR)")
    names = sorted({r[2] for r in rows})
    for code, name in enumerate(names, start=1):
        engine.execute("INSERT INTO event_names VALUES (?, ?)", [code, name])
    return table


@pytest.fixture
def loaded(workspace: Workspace) -> Any:
    def _load(rows: Sequence[tuple[Any, ...]]) -> Workspace:
        load(workspace.engine, rows)
        return workspace

    return _load
