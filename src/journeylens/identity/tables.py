"""The tables identity resolution writes: their names, columns and DDL, in one place.

Public (read them freely; docs/identity.md describes every column):

* ``customer_events`` — every event with its ``customer_id``, clustered by
  ``(customer_id, ts, event_id)``, with a per-customer sequence number ``seq``;
* ``event_names`` — the dictionary behind ``customer_events.event_code``;
* ``customer_profiles``, ``accounts``, ``account_members``;
* views ``identity_identifiers``, ``identity_links`` (the audit) and ``identity_quarantine``.

Internal state (names start with ``_identity_``) keeps the aggregates that incremental runs
merge new events into; it is rebuilt by a full run and never read by other packages.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

from journeylens.engines.base import Engine
from journeylens.schema import CUSTOMER_EVENT_COLUMNS, EVENT_NAME_COLUMNS, Column
from journeylens.sql import create_table

__all__ = [
    "ACCOUNT_COLUMNS",
    "INTERNAL_TABLES",
    "MEMBER_COLUMNS",
    "PROFILE_COLUMNS",
    "PUBLIC_TABLES",
    "VIEWS",
    "create_tables",
    "drop_tables",
]

_TS = pa.timestamp("us")

PROFILE_COLUMNS: Final = (
    Column("customer_id", pa.string(), "VARCHAR", "the customer", nullable=False),
    Column("is_identified", pa.bool_(), "BOOLEAN", "has a user id or a person identifier"),
    Column("identifiers", pa.string(), "JSON", "identifiers by kind: {kind: [values]}"),
    Column("traits", pa.string(), "JSON", "merged traits: latest non-empty value per trait"),
    Column("first_seen", _TS, "TIMESTAMP", "first event, UTC"),
    Column("last_seen", _TS, "TIMESTAMP", "last event, UTC"),
    Column("events", pa.int64(), "BIGINT", "events of every type"),
    Column("touchpoints", pa.int64(), "BIGINT", "track, page and screen events"),
    Column("sources", pa.list_(pa.string()), "VARCHAR[]", "sources seen, sorted"),
    Column("channels", pa.list_(pa.string()), "VARCHAR[]", "channels seen, sorted"),
    Column("accounts", pa.list_(pa.string()), "VARCHAR[]", "accounts (group ids), sorted"),
)

ACCOUNT_COLUMNS: Final = (
    Column("account_id", pa.string(), "VARCHAR", "Segment groupId", nullable=False),
    Column("traits", pa.string(), "JSON", "merged account traits (name, industry, size…)"),
    Column("first_seen", _TS, "TIMESTAMP", "first event carrying the group id"),
    Column("last_seen", _TS, "TIMESTAMP", "last event carrying the group id"),
    Column("events", pa.int64(), "BIGINT", "events carrying the group id"),
    Column("members", pa.int64(), "BIGINT", "customers with such events"),
)

MEMBER_COLUMNS: Final = (
    Column("account_id", pa.string(), "VARCHAR", "the account", nullable=False),
    Column("customer_id", pa.string(), "VARCHAR", "the member", nullable=False),
    Column("first_seen", _TS, "TIMESTAMP", "first event of the customer with this group id"),
    Column("last_seen", _TS, "TIMESTAMP", "last such event"),
    Column("events", pa.int64(), "BIGINT", "such events"),
)

_STATS = (
    Column("first_ts", _TS, "TIMESTAMP", "first event (ts, then event_id)"),
    Column("first_event_id", pa.string(), "VARCHAR", "that event"),
    Column("last_ts", _TS, "TIMESTAMP", "last event"),
    Column("events", pa.int64(), "BIGINT", "events"),
)

NODE_COLUMNS: Final = (
    Column("node_id", pa.int64(), "BIGINT", "dense id, internal", nullable=False),
    Column("kind", pa.string(), "VARCHAR", "user_id, anonymous_id or a trait key", nullable=False),
    Column("value", pa.string(), "VARCHAR", "normalised (hashed) value", nullable=False),
    Column("observed", pa.bool_(), "BOOLEAN", "seen in its own field, not only as previousId"),
    *_STATS,
    Column("customer_id", pa.string(), "VARCHAR", "current customer (null: none)"),
    Column("quarantine", pa.string(), "VARCHAR", "null, 'blocklist' or 'max_links'"),
    Column("degree", pa.int64(), "BIGINT", "distinct user/anonymous ids it links"),
)

LINK_COLUMNS: Final = (
    Column("link_id", pa.int64(), "BIGINT", "internal", nullable=False),
    Column("u", pa.int64(), "BIGINT", "user id node of the events, -1: none", nullable=False),
    Column("a", pa.int64(), "BIGINT", "anonymous id node of the events, -1: none",
           nullable=False),
    Column("t", pa.int64(), "BIGINT", "trait identifier or previousId node, -1: none",
           nullable=False),
    Column("reason", pa.string(), "VARCHAR", "identify, same_event, alias, trait:<key>",
           nullable=False),
    *_STATS[:2],
    Column("source", pa.string(), "VARCHAR", "source of the first event"),
    *_STATS[2:],
    Column("anchor", pa.int64(), "BIGINT", "node it links to (current)"),
    Column("used", pa.bool_(), "BOOLEAN", "links (current)"),
)

SIG_COLUMNS: Final = (
    Column("sig_id", pa.int64(), "BIGINT", "internal", nullable=False),
    Column("user_id", pa.string(), "VARCHAR", "as in events, '' for none", nullable=False),
    Column("anonymous_id", pa.string(), "VARCHAR", "as in events, '' for none", nullable=False),
    Column("u", pa.int64(), "BIGINT", "user id node, -1: none", nullable=False),
    Column("a", pa.int64(), "BIGINT", "anonymous id node, -1: none", nullable=False),
    Column("first_ts", _TS, "TIMESTAMP", ""),
    Column("last_ts", _TS, "TIMESTAMP", ""),
    Column("events", pa.int64(), "BIGINT", ""),
    Column("customer_id", pa.string(), "VARCHAR", "customer of these events (current)"),
)

_LATEST = (
    Column("key", pa.string(), "VARCHAR", "trait key", nullable=False),
    Column("value", pa.string(), "JSON", "latest non-empty value"),
    Column("ts", _TS, "TIMESTAMP", "its event's ts"),
    Column("event_id", pa.string(), "VARCHAR", "its event"),
)

TRAIT_COLUMNS: Final = (Column("sig_id", pa.int64(), "BIGINT", "", nullable=False), *_LATEST)
ACCOUNT_TRAIT_COLUMNS: Final = (
    Column("account_id", pa.string(), "VARCHAR", "", nullable=False), *_LATEST
)
IMPORT_COLUMNS: Final = (
    Column("import_id", pa.string(), "VARCHAR", "'' for events without one", nullable=False),
    Column("events", pa.int64(), "BIGINT", "events of it resolved", nullable=False),
)
META_COLUMNS: Final = (
    Column("key", pa.string(), "VARCHAR", "", nullable=False),
    Column("value", pa.string(), "VARCHAR", ""),
)

INTERNAL_TABLES: Final[dict[str, tuple[Column, ...]]] = {
    "_identity_meta": META_COLUMNS,
    "_identity_imports": IMPORT_COLUMNS,
    "_identity_nodes": NODE_COLUMNS,
    "_identity_links": LINK_COLUMNS,
    "_identity_sigs": SIG_COLUMNS,
    "_identity_traits": TRAIT_COLUMNS,
    "_identity_account_traits": ACCOUNT_TRAIT_COLUMNS,
}
PUBLIC_TABLES: Final[dict[str, tuple[Column, ...]]] = {
    "customer_events": CUSTOMER_EVENT_COLUMNS,
    "event_names": EVENT_NAME_COLUMNS,
    "customer_profiles": PROFILE_COLUMNS,
    "accounts": ACCOUNT_COLUMNS,
    "account_members": MEMBER_COLUMNS,
}

VIEWS: Final[dict[str, str]] = {
    "identity_identifiers": (
        "SELECT customer_id, kind, value, quarantine IS NOT NULL AS quarantined, "
        "first_ts AS first_seen, last_ts AS last_seen, events "
        "FROM _identity_nodes WHERE customer_id IS NOT NULL"
    ),
    "identity_links": (
        "SELECT o.customer_id, i.kind AS identifier_kind, i.value AS identifier, "
        "o.kind AS linked_kind, o.value AS linked_to, l.reason, l.first_event_id, l.first_ts, "
        "l.source, l.last_ts, l.events "
        "FROM _identity_links l "
        "JOIN _identity_nodes i ON i.node_id = CASE WHEN l.t >= 0 THEN l.t ELSE l.a END "
        "JOIN _identity_nodes o ON o.node_id = l.anchor WHERE l.used"
    ),
    "identity_quarantine": (
        "SELECT kind, value, quarantine AS reason, degree, first_ts AS first_seen, "
        "last_ts AS last_seen, events FROM _identity_nodes WHERE quarantine IS NOT NULL"
    ),
}


def drop_tables(engine: Engine) -> None:
    for view in VIEWS:
        engine.execute(f"DROP VIEW IF EXISTS {view}")
    for name in (*PUBLIC_TABLES, *INTERNAL_TABLES):
        engine.execute(f"DROP TABLE IF EXISTS {name}")


def create_tables(engine: Engine) -> None:
    """Create every identity table that does not exist yet, and the views."""
    for name, columns in (*INTERNAL_TABLES.items(), *PUBLIC_TABLES.items()):
        engine.execute(create_table(name, columns))
    for view, query in VIEWS.items():
        engine.execute(f"CREATE OR REPLACE VIEW {view} AS {query}")
