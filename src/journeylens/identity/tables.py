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
    Column(
        "customer_key",
        pa.int64(),
        "BIGINT",
        "the customer's key in customer_events",
        nullable=False,
    ),
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

_KEY = pa.uint64()
_STATS = (
    Column("first_ts", _TS, "TIMESTAMP", "first event (ts, then event_id)"),
    Column("first_event_id", pa.string(), "VARCHAR", "that event"),
    Column("last_ts", _TS, "TIMESTAMP", "last event"),
    Column("events", pa.int64(), "BIGINT", "events"),
)


def _key(name: str, doc: str) -> Column:
    return Column(name, _KEY, "UBIGINT", doc, nullable=False)


# Keys are 64-bit hashes (DuckDB ``hash``, salted) of the values they stand for: no table
# lookup is needed to find them; resolving checks that no two values share one.
NODE_COLUMNS: Final = (
    _key("node", "hash of (kind, value)"),
    Column("kind", pa.string(), "VARCHAR", "user_id, anonymous_id or a trait key", nullable=False),
    Column("value", pa.string(), "VARCHAR", "normalised (hashed) value", nullable=False),
    Column("observed", pa.bool_(), "BOOLEAN", "seen in its own field, not only as previousId"),
    Column("placeholder", pa.bool_(), "BOOLEAN", "a placeholder value: undefined, null…"),
    *_STATS,
)
# Integers only: the values are in the nodes (text columns make the state's writes slow).
SIG_COLUMNS: Final = (
    _key("sig", "hash of (user_id, anonymous_id)"),
    _key("u", "user id node, 0: none"),
    _key("a", "anonymous id node, 0: none"),
    _STATS[0],
    *_STATS[2:],
    Column("touchpoints", pa.int64(), "BIGINT", "track, page and screen events"),
)
LINK_COLUMNS: Final = (
    _key("link", "hash of (u, a, t, reason)"),
    _key("u", "user id node of the events, 0: none"),
    _key("a", "anonymous id node of the events, 0: none"),
    _key("t", "trait identifier or previousId node, 0: none"),
    Column(
        "reason", pa.string(), "VARCHAR", "identify, same_event, alias, trait:<key>", nullable=False
    ),
    *_STATS[:2],
    Column("source", pa.string(), "VARCHAR", "source of the first event"),
    *_STATS[2:],
)
_LATEST = (
    Column("key", pa.string(), "VARCHAR", "trait key", nullable=False),
    Column("value", pa.string(), "JSON", "latest non-empty value"),
    Column("ts", _TS, "TIMESTAMP", "its event's ts"),
    Column("event_id", pa.string(), "VARCHAR", "its event"),
)
TRAIT_COLUMNS: Final = (_key("sig", "signature"), *_LATEST)
ACCOUNT_TRAIT_COLUMNS: Final = (
    Column("account_id", pa.string(), "VARCHAR", "", nullable=False),
    *_LATEST,
)
GROUP_COLUMNS: Final = (
    _key("sig", "signature"),
    Column("account_id", pa.string(), "VARCHAR", "group id on the events", nullable=False),
    Column("first_ts", _TS, "TIMESTAMP", ""),
    Column("last_ts", _TS, "TIMESTAMP", ""),
    Column("events", pa.int64(), "BIGINT", ""),
)
# What each run derives (rewritten whole by every run, straight from arrays).
NODE_STATE_COLUMNS: Final = (
    _key("node", ""),
    _key("rep", "representative node of its customer, 0: no customer"),
    Column("quarantine", pa.int8(), "TINYINT", "0, 1 (blocklist) or 2 (max_links)"),
    Column("degree", pa.int64(), "BIGINT", "distinct user/anonymous ids it links"),
    Column("alone", pa.bool_(), "BOOLEAN", "the only identifier of its customer"),
)
SIG_STATE_COLUMNS: Final = (
    _key("sig", ""),
    _key("rep", "customer's representative"),
    Column("alone", pa.bool_(), "BOOLEAN", "the only signature of its customer"),
)
LINK_STATE_COLUMNS: Final = (
    _key("link", ""),
    _key("anchor", "node it links the identifier to"),
    Column("used", pa.bool_(), "BOOLEAN", "links (not blocked by the guard)"),
)
REP_COLUMNS: Final = (
    _key("rep", "representative node"),
    Column(
        "customer_id", pa.string(), "VARCHAR", "c- + 16 hex of SHA-256(kind:value)", nullable=False
    ),
    Column(
        "customer_key", pa.int64(), "BIGINT", "customer_id's 16 hex digits - 2^63", nullable=False
    ),
)
IMPORT_COLUMNS: Final = (
    Column("import_id", pa.string(), "VARCHAR", "'' for events without one", nullable=False),
    Column("events", pa.int64(), "BIGINT", "events of it resolved", nullable=False),
)
META_COLUMNS: Final = (
    Column("key", pa.string(), "VARCHAR", "", nullable=False),
    Column("value", pa.string(), "VARCHAR", ""),
)

STATE_TABLES: Final[dict[str, tuple[Column, ...]]] = {
    "_identity_node_state": NODE_STATE_COLUMNS,
    "_identity_sig_state": SIG_STATE_COLUMNS,
    "_identity_link_state": LINK_STATE_COLUMNS,
}
INTERNAL_TABLES: Final[dict[str, tuple[Column, ...]]] = {
    "_identity_meta": META_COLUMNS,
    "_identity_imports": IMPORT_COLUMNS,
    "_identity_nodes": NODE_COLUMNS,
    "_identity_sigs": SIG_COLUMNS,
    "_identity_links": LINK_COLUMNS,
    "_identity_traits": TRAIT_COLUMNS,
    "_identity_groups": GROUP_COLUMNS,
    "_identity_account_traits": ACCOUNT_TRAIT_COLUMNS,
    "_identity_reps": REP_COLUMNS,
    **STATE_TABLES,
}
PUBLIC_TABLES: Final[dict[str, tuple[Column, ...]]] = {
    "customer_events": CUSTOMER_EVENT_COLUMNS,
    "event_names": EVENT_NAME_COLUMNS,
    "customer_profiles": PROFILE_COLUMNS,
    "accounts": ACCOUNT_COLUMNS,
    "account_members": MEMBER_COLUMNS,
}

QUARANTINE_REASON: Final = "CASE s.quarantine WHEN 1 THEN 'blocklist' WHEN 2 THEN 'max_links' END"
VIEWS: Final[dict[str, str]] = {
    "identity_identifiers": (
        "SELECT r.customer_id, n.kind, n.value, s.quarantine > 0 AS quarantined, "
        "n.first_ts AS first_seen, n.last_ts AS last_seen, n.events "
        "FROM _identity_nodes n JOIN _identity_node_state s USING (node) "
        "JOIN _identity_reps r ON r.rep = s.rep"
    ),
    "identity_links": (
        "SELECT r.customer_id, i.kind AS identifier_kind, i.value AS identifier, "
        "o.kind AS linked_kind, o.value AS linked_to, l.reason, l.first_event_id, l.first_ts, "
        "l.source, l.last_ts, l.events "
        "FROM _identity_links l JOIN _identity_link_state ls USING (link) "
        "JOIN _identity_nodes i ON i.node = CASE WHEN l.t <> 0 THEN l.t ELSE l.a END "
        "JOIN _identity_nodes o ON o.node = ls.anchor "
        "JOIN _identity_node_state s ON s.node = ls.anchor "
        "JOIN _identity_reps r ON r.rep = s.rep WHERE ls.used"
    ),
    "identity_quarantine": (
        f"SELECT n.kind, n.value, {QUARANTINE_REASON} AS reason, s.degree, "
        "n.first_ts AS first_seen, n.last_ts AS last_seen, n.events "
        "FROM _identity_nodes n JOIN _identity_node_state s USING (node) WHERE s.quarantine > 0"
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
