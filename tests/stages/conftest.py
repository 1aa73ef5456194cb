"""Small hand-checkable logs for stage tests, loaded as ``customer_events`` (the table identity
resolution writes), so that stage assignment is tested on its own."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
import yaml

from journeylens.engines.base import Engine
from journeylens.schema import CUSTOMER_EVENT_COLUMNS
from journeylens.sql import create_table
from journeylens.stages.model import JourneyModel, parse_model

Row = tuple[str, str, str, dict[str, Any]]
"""(customer_id, 'YYYY-MM-DD HH:MM[:SS]', event, properties)"""

_SCHEMA = pa.schema([pa.field(c.name, c.arrow) for c in CUSTOMER_EVENT_COLUMNS])


def events_table(rows: Sequence[Row], *, types: dict[str, str] | None = None) -> pa.Table:
    """customer_events rows; seq numbers per customer in the order given (ts, then list order)."""
    seqs: dict[str, int] = {}
    codes = event_codes(rows)
    # customer_key: an integer in customer-id order, as identity resolution writes it
    keys = {c: k for k, c in enumerate(sorted({r[0] for r in rows}), start=-3)}
    records = []
    ordered = sorted(enumerate(rows), key=lambda r: (r[1][0], _ts(r[1][1]), r[0]))
    for index, (customer, ts, event, props) in ordered:
        seqs[customer] = seqs.get(customer, 0) + 1
        kind = (types or {}).get(event, "page" if event == "page_viewed" else "track")
        records.append(
            {
                "customer_id": customer,
                "ts": _ts(ts),
                "seq": seqs[customer],
                "event_id": f"{customer}-{index:04d}",
                "type": kind,
                "event": event,
                "event_code": codes[event],
                "channel": "Direct",
                "source": "web",
                "data_party": "first",
                "properties": json.dumps(props),
                "group_id": None,
                "customer_key": keys[customer],
            }
        )
    return pa.Table.from_pylist(records, schema=_SCHEMA)


def event_codes(rows: Sequence[Row]) -> dict[str, int]:
    """The event-name dictionary: 1, 2, … in name order."""
    return {name: i for i, name in enumerate(sorted({r[2] for r in rows}), start=1)}


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def load(
    engine: Engine,
    rows: Sequence[Row],
    *,
    profiles: dict[str, dict[str, Any]] | None = None,
    members: Sequence[tuple[str, str]] = (),
    accounts: dict[str, dict[str, Any]] | None = None,
) -> pa.Table:
    """Write customer_events (and profiles/accounts/members) into a DuckDB workspace engine."""
    table = events_table(rows)
    engine.execute("DROP TABLE IF EXISTS customer_events")
    engine.execute(create_table("customer_events", CUSTOMER_EVENT_COLUMNS))
    with engine.registered("_rows", table):
        engine.execute("INSERT INTO customer_events SELECT * FROM _rows")
    engine.execute("CREATE OR REPLACE TABLE event_names (event_code INTEGER, event VARCHAR)")
    for name, code in event_codes(rows).items():
        engine.execute("INSERT INTO event_names VALUES (?, ?)", [code, name])
    engine.execute("CREATE OR REPLACE TABLE customer_profiles (customer_id VARCHAR, traits JSON)")
    for customer, traits in (profiles or {}).items():
        engine.execute(
            "INSERT INTO customer_profiles VALUES (?, ?)", [customer, json.dumps(traits)]
        )
    engine.execute("CREATE OR REPLACE TABLE accounts (account_id VARCHAR, traits JSON)")
    for account, traits in (accounts or {}).items():
        engine.execute("INSERT INTO accounts VALUES (?, ?)", [account, json.dumps(traits)])
    engine.execute(
        "CREATE OR REPLACE TABLE account_members (account_id VARCHAR, customer_id VARCHAR)"
    )
    for account, customer in members:
        engine.execute("INSERT INTO account_members VALUES (?, ?)", [account, customer])
    return table


def model(text: str) -> JourneyModel:
    return parse_model(yaml.safe_load(text), "test.yaml")


def entries(history: Any) -> list[tuple[str, str, str, str | None]]:
    """(unit, stage, entered_at 'YYYY-MM-DD HH:MM', event_id) per entry."""
    return [
        (r["unit_id"], r["stage"], f"{r['entered_at']:%Y-%m-%d %H:%M}", r["event_id"])
        for r in history.table.to_pylist()
    ]
