"""The tables built from the customers: ``customer_events`` (with ``event_names``),
``account_members``, ``customer_profiles`` and ``accounts``.

A full run rebuilds them; an incremental run rewrites only the customers listed in
``_g_affected`` (every customer id, old or new, whose identifiers or events changed): their
rows are deleted and written again. ``customer_events`` stays clustered by
``(customer_id, ts, event_id)`` for rows written together; rewritten customers are appended at
the end, and the table is sorted again once such rows pass a quarter of it.

Profiles and memberships are computed from the per-signature aggregates of the identity state
(not by scanning events again).
"""

from __future__ import annotations

from typing import Final

from journeylens.engines.base import Engine
from journeylens.identity.identifiers import ANONYMOUS_ID

__all__ = ["accounts", "customer_events", "members", "profiles", "scope"]

RECLUSTER_FRACTION: Final = 0.25

_COLUMNS: Final = (
    "ts, event_id, type, event, channel, source, data_party, revenue, cost, currency, "
    "group_id, properties, user_id, anonymous_id"
)
# Sorted by customer_key: the same order as customer_id (its hex digits), cheaper to compare.
_SELECT: Final = (
    "SELECT r.customer_id, e.ts, row_number() OVER (PARTITION BY r.customer_key "
    "ORDER BY e.ts, e.event_id) AS seq, e.event_id, e.type, e.event, n.event_code, e.channel, "
    "e.source, e.data_party, e.revenue, e.cost, e.currency, e.group_id, e.properties, "
    "r.customer_key FROM {source} e JOIN _identity_sig_state x "
    "ON x.sig = _jl_sig(nullif(e.user_id, ''), nullif(e.anonymous_id, '')) "
    "JOIN _identity_reps r USING (rep) "
    "JOIN event_names n ON n.event = e.event ORDER BY r.customer_key, e.ts, e.event_id"
)
_IN_SCOPE: Final = "customer_id IN (SELECT customer_id FROM _g_affected)"
_OBJECT: Final = "'{' || array_to_string(list_sort(list(to_json(key) || ':' || value)), ',') || '}'"
"""A JSON object from ``key`` (text) and ``value`` (JSON) rows, keys in a stable order."""


def scope(engine: Engine, *, full: bool) -> None:
    """``_m_scope(rep, customer_id)``: the customers to (re)write (after a full run's
    linking, every representative is a current customer)."""
    if full:
        engine.execute(
            "CREATE OR REPLACE TEMP TABLE _m_scope AS "
            "SELECT rep, customer_id, customer_key FROM _identity_reps"
        )
        return
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _m_scope AS SELECT DISTINCT x.rep, r.customer_id, "
        "r.customer_key "
        f"FROM _identity_sig_state x JOIN _identity_reps r USING (rep) WHERE r.{_IN_SCOPE}"
    )


def _join_scope(full: bool) -> str:
    return "" if full else " JOIN _m_scope USING (rep)"


def customer_events(engine: Engine, *, full: bool, unsorted: int) -> int:
    """Write ``customer_events``; return how many rows now sit outside the sorted order."""
    if full:
        engine.execute("DELETE FROM event_names")
        engine.execute(
            "INSERT INTO event_names SELECT row_number() OVER (ORDER BY event), event "
            "FROM (SELECT DISTINCT event FROM events)"
        )
        engine.execute("DELETE FROM customer_events")
        engine.execute("INSERT INTO customer_events " + _SELECT.format(source="events"))
        return 0
    engine.execute(
        "INSERT INTO event_names SELECT (SELECT coalesce(max(event_code), 0) FROM event_names)"
        " + row_number() OVER (ORDER BY event), event FROM (SELECT DISTINCT event FROM "
        "_idb_events) ANTI JOIN event_names USING (event)"
    )
    engine.execute(
        f"CREATE OR REPLACE TEMP TABLE _ce_redo AS SELECT {_COLUMNS} FROM events "
        f"WHERE event_id IN (SELECT event_id FROM customer_events WHERE {_IN_SCOPE}) "
        f"UNION ALL SELECT {_COLUMNS} FROM _idb_events"
    )
    engine.execute(f"DELETE FROM customer_events WHERE {_IN_SCOPE}")
    engine.execute("INSERT INTO customer_events " + _SELECT.format(source="_ce_redo"))
    unsorted += int(engine.scalar("SELECT count(*) FROM _ce_redo"))
    total = int(engine.scalar("SELECT count(*) FROM customer_events"))
    if unsorted > RECLUSTER_FRACTION * total:
        engine.execute(
            "CREATE OR REPLACE TEMP TABLE _ce_sorted AS SELECT * FROM customer_events "
            "ORDER BY customer_key, ts, event_id"
        )
        engine.execute("DELETE FROM customer_events")
        engine.execute("INSERT INTO customer_events SELECT * FROM _ce_sorted")
        engine.execute("DROP TABLE _ce_sorted")
        return 0
    return unsorted


def members(engine: Engine, *, full: bool) -> None:
    """``account_members``: a customer belongs to every account (group id) on its events."""
    engine.execute("DELETE FROM account_members" + ("" if full else f" WHERE {_IN_SCOPE}"))
    engine.execute(
        "INSERT INTO account_members SELECT g.account_id, sc.customer_id, min(g.first_ts), "
        "max(g.last_ts), sum(g.events) FROM _identity_groups g "
        "JOIN _identity_sig_state x USING (sig) JOIN _m_scope sc USING (rep) "
        "GROUP BY 1, 2 ORDER BY 1, 2"
    )


def profiles(engine: Engine, *, full: bool) -> None:
    """``customer_profiles``: identifiers by kind, merged traits, counts, sources, channels.

    Traits: per trait key, the latest non-empty value over the customer's events (by ts, then
    event id).
    """
    where, join = ("true", "") if full else (_IN_SCOPE, _join_scope(full))
    seen = "true" if full else "customer_key IN (SELECT customer_key FROM _m_scope)"
    engine.execute(f"DELETE FROM customer_profiles WHERE {where}")
    sigs = f"_identity_sig_state x{join} JOIN _identity_sigs s USING (sig)"
    nodes = f"_identity_node_state x{join} JOIN _identity_nodes n USING (node)"
    traits = f"_identity_traits t JOIN _identity_sig_state x USING (sig){join}"
    # A customer's only signature or identifier (``alone``: most anonymous visitors) gives
    # its row directly; only the others are grouped.
    engine.execute(
        "INSERT INTO customer_profiles "
        "WITH ev AS (SELECT x.rep, min(s.first_ts) AS first_seen, max(s.last_ts) AS last_seen,"
        " sum(s.events)::BIGINT AS events, sum(s.touchpoints)::BIGINT AS touchpoints"
        f" FROM {sigs} WHERE NOT x.alone GROUP BY 1"
        " UNION ALL SELECT x.rep, s.first_ts, s.last_ts, s.events, s.touchpoints"
        f" FROM {sigs} WHERE x.alone), "
        # sources/channels: most customers have one of each (min = max); lists are built only
        # for the others (building millions of small lists dominated this query)
        "one AS (SELECT customer_key, min(source) AS s0, max(source) AS s1, min(channel) AS c0,"
        f" max(channel) AS c1 FROM customer_events WHERE {seen} GROUP BY 1), "
        "several AS (SELECT customer_key, list_sort(list_distinct(list(source))) AS sources,"
        " list_sort(list_distinct(list(channel))) AS channels FROM customer_events"
        " WHERE customer_key IN (SELECT customer_key FROM one WHERE s0 <> s1 OR c0 <> c1)"
        " GROUP BY 1), "
        "seen AS (SELECT o.customer_key, CASE WHEN m.customer_key IS NOT NULL THEN m.sources"
        " WHEN o.s0 IS NULL THEN []::VARCHAR[] ELSE [o.s0] END AS sources,"
        " CASE WHEN m.customer_key IS NOT NULL THEN m.channels"
        " WHEN o.c0 IS NULL THEN []::VARCHAR[] ELSE [o.c0] END AS channels"
        " FROM one o LEFT JOIN several m USING (customer_key)), "
        "by_kind AS (SELECT x.rep, n.kind AS key, to_json(list_sort(list(n.value))) AS value,"
        " bool_or(n.kind <> ? AND x.quarantine = 0) AS identified"
        f" FROM {nodes} WHERE x.rep <> 0 AND NOT x.alone GROUP BY 1, 2), "
        f"ids AS (SELECT rep, bool_or(identified) AS identified, {_OBJECT} AS identifiers"
        " FROM by_kind GROUP BY 1"
        " UNION ALL SELECT x.rep, n.kind <> ? AND x.quarantine = 0,"
        f" '{{' || to_json(n.kind) || ':' || to_json([n.value]) || '}}' FROM {nodes}"
        " WHERE x.alone), "
        "latest AS (SELECT x.rep, t.key, max((t.ts, t.event_id, t.value))[3] AS value"
        f" FROM {traits} WHERE NOT x.alone GROUP BY 1, 2"
        f" UNION ALL SELECT x.rep, t.key, t.value FROM {traits} WHERE x.alone), "
        f"tr AS (SELECT rep, {_OBJECT} AS traits FROM latest GROUP BY 1), "
        "acc AS (SELECT x.rep, list_sort(list_distinct(list(g.account_id))) AS accounts"
        " FROM _identity_groups g JOIN _identity_sig_state x USING (sig)"
        f"{join} GROUP BY 1) "
        "SELECT sc.customer_id, coalesce(ids.identified, false), ids.identifiers, "
        "coalesce(tr.traits, '{}'), ev.first_seen, ev.last_seen, ev.events, ev.touchpoints, "
        "seen.sources, seen.channels, coalesce(acc.accounts, []), sc.customer_key "
        "FROM _m_scope sc JOIN ev USING (rep) JOIN seen USING (customer_key) "
        "LEFT JOIN ids USING (rep) LEFT JOIN tr USING (rep) LEFT JOIN acc USING (rep)",
        [ANONYMOUS_ID, ANONYMOUS_ID],
    )


def accounts(engine: Engine) -> None:
    """``accounts``: every group id on an event, with traits merged like a customer's."""
    engine.execute("DELETE FROM accounts")
    engine.execute(
        "INSERT INTO accounts "
        "WITH m AS (SELECT account_id, min(first_seen) AS first_seen, "
        " max(last_seen) AS last_seen, sum(events)::BIGINT AS events, count(*) AS members "
        " FROM account_members GROUP BY 1), "
        f"tr AS (SELECT account_id, {_OBJECT} AS traits FROM _identity_account_traits "
        " GROUP BY 1) "
        "SELECT m.account_id, coalesce(tr.traits, '{}'), m.first_seen, m.last_seen, m.events, "
        "m.members FROM m LEFT JOIN tr USING (account_id) ORDER BY m.account_id"
    )
