"""Right of access: everything the store holds about a person, as JSON-able data.

The export has the person's customer id, their identifiers (as the store holds them), their
profile with the audit of why identifiers were linked, every event of theirs with all its
columns (properties, traits and context parsed), the rows of every other public table that
name them (by the column names :func:`journeylens.privacy.erase.person_conditions` reads:
``customer_events``, ``account_members``, ``stage_entries``…), whether they are suppressed,
and the privacy requests that named the same identifier.
"""

from __future__ import annotations

import contextlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from journeylens.engines.base import Engine
from journeylens.identity import get_profile
from journeylens.privacy.erase import person_conditions, quoted, store_columns
from journeylens.privacy.person import Person, person_events
from journeylens.privacy.tables import REQUEST_COLUMNS, read_settings
from journeylens.privacy.tokens import SEP, request_token

__all__ = ["export_person", "jsonable"]

_JSON_COLUMNS = ("properties", "traits", "context", "identifiers", "rows_deleted")


def jsonable(value: Any) -> Any:
    """``value`` with datetimes as ISO text, decimals as text, tuples as lists."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return value


def _records(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        for name in _JSON_COLUMNS:
            if isinstance(row.get(name), str):
                with contextlib.suppress(ValueError):
                    row[name] = json.loads(row[name])
    return [jsonable(row) for row in rows]


def export_person(
    engine: Engine, person: Person, key: str, trait_kinds: tuple[str, ...]
) -> dict[str, Any]:
    """Everything held about ``person`` (found by ``key``)."""
    events = person_events(engine, person)
    out: dict[str, Any] = {
        "customer_id": person.customer_id,
        "identifiers": [{"kind": k, "value": v} for k, v in person.identifiers],
        "identifiers_hashed": person.hashed,
        "profile": None,
        "events": [],
        "tables": {},
        "suppressed": False,
        "requests": [],
    }
    if engine.table_exists("customer_profiles"):
        out["profile"] = jsonable(get_profile(engine, person.customer_id).to_dict())
    with engine.registered("_pv_events", events):
        out["events"] = _records(
            engine.rows(
                "SELECT * FROM events WHERE event_id IN (SELECT event_id FROM _pv_events) "
                "ORDER BY ts, event_id"
            )
        )
        for table, columns in store_columns(engine).items():
            if table == "events" or table.startswith("_") or table in ("suppressions",):
                continue
            conditions, params = person_conditions(columns, person, trait_kinds)
            if not conditions or table == "privacy_requests":
                continue
            rows = engine.rows(
                f"SELECT * FROM {quoted(table)} WHERE {' OR '.join(conditions)}", params
            )
            if rows:
                out["tables"][table] = _records(rows)
    settings = read_settings(engine)
    if settings is not None:
        forms = person.token_forms()
        out["suppressed"] = bool(
            engine.scalar(
                "SELECT count(*) FROM suppressions s JOIN (SELECT unnest(?::VARCHAR[]) AS kind, "
                "unnest(?::VARCHAR[]) AS f) p ON s.kind = p.kind "
                "AND s.token = sha256(? || p.kind || ? || p.f)",
                [[k for k, _ in forms], [f for _, f in forms], settings.secret + SEP, SEP],
            )
        )
        names = ", ".join(c.name for c in REQUEST_COLUMNS)
        out["requests"] = _records(
            engine.rows(
                f"SELECT {names} FROM privacy_requests WHERE identifier_token = ? "
                "ORDER BY requested_at, request_id",
                [request_token(settings.secret, key)],
            )
        )
    return out
