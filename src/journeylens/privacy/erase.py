"""Deleting a person: their events, everything derived from them, and the identity state.

In one transaction:

1. the person's events are deleted from ``events``;
2. every identity table (public and internal: ``customer_events``, ``customer_profiles``,
   ``account_members``, ``accounts``, the ``_identity_*`` state and views) is dropped — they
   are derived from the events and rebuilt by the full resolve that follows;
3. every other table of the store is swept by the names of its columns: rows whose
   ``customer_id`` / ``unit_id`` is the person's customer id, ``customer_key`` their key,
   ``event_id`` / ``first_event_id`` one of their events, ``user_id`` / ``anonymous_id`` /
   ``previous_id`` one of their ids, or a column named after a trait identifier (``email``,
   ``phone``…) one of their values, are deleted. This covers ``stage_entries`` today and any
   table added later that follows the naming of ``schema.py``.

Then a full identity resolve rebuilds profiles, accounts and ``customer_events`` from the
remaining events, and the store is checkpointed so that the deleted rows leave the file.
The privacy tables (``suppressions``, ``privacy_requests``, ``_privacy_settings``) are not
swept: they hold only keyed hashes.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa
from sqlglot import exp

from journeylens.engines.base import Engine
from journeylens.identity.identifiers import ANONYMOUS_ID, EMAIL, ID_KINDS, USER_ID
from journeylens.identity.tables import drop_tables
from journeylens.privacy.person import Person, person_events
from journeylens.privacy.tables import PRIVACY_TABLES

__all__ = ["erase", "person_conditions", "quoted", "store_columns"]

_KEEP: Final = frozenset({"events", *PRIVACY_TABLES})


def store_columns(engine: Engine) -> dict[str, list[str]]:
    """Every base table of the store (main schema, not temporary) and its columns."""
    rows = engine.rows(
        "SELECT c.table_name, c.column_name FROM duckdb_columns() c JOIN duckdb_tables() t "
        "ON t.table_oid = c.table_oid WHERE t.schema_name = 'main' AND NOT t.temporary "
        "AND NOT t.internal AND t.database_name = current_database() "
        "ORDER BY c.table_name, c.column_index"
    )
    out: dict[str, list[str]] = {}
    for row in rows:
        out.setdefault(row["table_name"], []).append(row["column_name"])
    return out


def quoted(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def person_conditions(
    columns: list[str], person: Person, trait_kinds: tuple[str, ...]
) -> tuple[list[str], list[object]]:
    """``column = ?`` / ``list_contains(?, column)`` for the columns that name the person."""
    users, anons = person.ids(USER_ID), person.ids(ANONYMOUS_ID)
    values: dict[str, list[str]] = {
        "customer_id": [person.customer_id],
        "unit_id": [person.customer_id],
        "user_id": users,
        "anonymous_id": anons,
        "previous_id": users + anons,
    }
    for kind, value in person.identifiers:
        if kind not in ID_KINDS and kind in trait_kinds:
            values.setdefault(kind, []).append(value)
    conditions: list[str] = []
    params: list[object] = []
    for column in columns:
        name = quoted(column)
        if column in ("event_id", "first_event_id"):
            conditions.append(f"{name} IN (SELECT event_id FROM _pv_events)")
        elif column == "customer_key" and person.customer_key is not None:
            conditions.append(f"{name} = ?")
            params.append(person.customer_key)
        elif values.get(column):
            target = f"lower(trim({name}::VARCHAR))" if column == EMAIL else f"{name}::VARCHAR"
            conditions.append(f"list_contains(?::VARCHAR[], {target})")
            params.append(values[column])
    return conditions, params


def erase(engine: Engine, person: Person, trait_kinds: tuple[str, ...]) -> dict[str, int]:
    """Delete the person's events and derived rows; return rows deleted per table.

    Runs in one transaction; the caller rebuilds identities afterwards (a full resolve).
    """
    events: pa.Table = person_events(engine, person)
    deleted: dict[str, int] = {}
    with engine.registered("_pv_events", events), engine.transaction():
        deleted["events"] = int(
            engine.scalar(
                "SELECT count(*) FROM events WHERE event_id IN (SELECT event_id FROM _pv_events)"
            )
        )
        engine.execute("DELETE FROM events WHERE event_id IN (SELECT event_id FROM _pv_events)")
        if engine.table_exists("customer_profiles"):
            for table in ("customer_events", "customer_profiles", "account_members"):
                deleted[table] = int(
                    engine.scalar(
                        f"SELECT count(*) FROM {table} WHERE customer_id = ?", [person.customer_id]
                    )
                )
        drop_tables(engine)
        for table, columns in store_columns(engine).items():
            if table in _KEEP:
                continue
            conditions, params = person_conditions(columns, person, trait_kinds)
            if not conditions:
                continue
            where = " OR ".join(conditions)
            name = quoted(table)
            count = int(engine.scalar(f"SELECT count(*) FROM {name} WHERE {where}", params))
            if count:
                engine.execute(f"DELETE FROM {name} WHERE {where}", params)
                deleted[table] = count
    return {k: v for k, v in deleted.items() if v}
