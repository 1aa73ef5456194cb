"""The tables built from the customers: ``customer_events`` (with ``event_names``),
``account_members``, ``customer_profiles`` and ``accounts``.

A full run rebuilds them; an incremental run rewrites only the customers listed in
``_g_affected`` (every customer id, old or new, whose identifiers or events changed): their
rows are deleted and written again. ``customer_events`` stays clustered by
``(customer_id, ts, event_id)`` for rows written together; rewritten customers are appended at
the end, and the table is sorted again once such rows pass a quarter of it.
"""

from __future__ import annotations

from typing import Final

from journeylens.engines.base import Engine
from journeylens.identity.identifiers import ANONYMOUS_ID

__all__ = ["accounts", "customer_events", "members", "profiles"]

RECLUSTER_FRACTION: Final = 0.25

_COLUMNS: Final = (
    "ts, event_id, type, event, channel, source, data_party, revenue, cost, currency, "
    "group_id, properties, user_id, anonymous_id"
)
_SELECT: Final = (
    "SELECT s.customer_id, e.ts, row_number() OVER (PARTITION BY s.customer_id "
    "ORDER BY e.ts, e.event_id) AS seq, e.event_id, e.type, e.event, n.event_code, e.channel, "
    "e.source, e.data_party, e.revenue, e.cost, e.currency, e.group_id, e.properties, "
    "e.user_id, e.anonymous_id FROM {source} e "
    "JOIN _identity_sigs s ON s.user_id = coalesce(nullif(e.user_id, ''), '') "
    "AND s.anonymous_id = coalesce(nullif(e.anonymous_id, ''), '') "
    "JOIN event_names n ON n.event = e.event ORDER BY s.customer_id, e.ts, e.event_id"
)
_IN_SCOPE: Final = "customer_id IN (SELECT customer_id FROM _g_affected)"


def _scope(full: bool, alias: str = "") -> str:
    column = f"{alias}customer_id"
    return f"{column} IS NOT NULL" if full else f"{column} IN (SELECT customer_id FROM _g_affected)"


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
        f"CREATE OR REPLACE TEMP TABLE _ce_redo AS SELECT {_COLUMNS} FROM customer_events "
        f"WHERE {_IN_SCOPE} UNION ALL SELECT {_COLUMNS} FROM _idb_events"
    )
    engine.execute(f"DELETE FROM customer_events WHERE {_IN_SCOPE}")
    engine.execute("INSERT INTO customer_events " + _SELECT.format(source="_ce_redo"))
    unsorted += int(engine.scalar("SELECT count(*) FROM _ce_redo"))
    total = int(engine.scalar("SELECT count(*) FROM customer_events"))
    if unsorted > RECLUSTER_FRACTION * total:
        engine.execute(
            "CREATE OR REPLACE TEMP TABLE _ce_sorted AS SELECT * FROM customer_events "
            "ORDER BY customer_id, ts, event_id"
        )
        engine.execute("DELETE FROM customer_events")
        engine.execute("INSERT INTO customer_events SELECT * FROM _ce_sorted")
        engine.execute("DROP TABLE _ce_sorted")
        return 0
    return unsorted


def members(engine: Engine, *, full: bool) -> None:
    """``account_members``: a customer belongs to every account (group id) on its events."""
    scope = _scope(full)
    engine.execute(f"DELETE FROM account_members WHERE {scope}")
    engine.execute(
        "INSERT INTO account_members SELECT group_id, customer_id, min(ts), max(ts), count(*) "
        f"FROM customer_events WHERE group_id IS NOT NULL AND {scope} GROUP BY 1, 2 "
        "ORDER BY 1, 2"
    )


def profiles(engine: Engine, *, full: bool) -> None:
    """``customer_profiles``: identifiers by kind, merged traits, counts, sources, channels.

    Traits: per trait key, the latest non-empty value over the customer's events (by ts, then
    event id).
    """
    scope, sig_scope = _scope(full), _scope(full, "s.")
    engine.execute(f"DELETE FROM customer_profiles WHERE {scope}")
    engine.execute(
        "INSERT INTO customer_profiles "
        "WITH ev AS (SELECT customer_id, min(ts) AS first_seen, max(ts) AS last_seen, "
        " count(*) AS events, count(*) FILTER (WHERE type IN ('track', 'page', 'screen')) "
        " AS touchpoints, list(DISTINCT source ORDER BY source) AS sources, "
        " list(DISTINCT channel ORDER BY channel) AS channels "
        f" FROM customer_events WHERE {scope} GROUP BY 1), "
        "by_kind AS (SELECT customer_id, kind, list(value ORDER BY value) AS ids, "
        " bool_or(kind <> ? AND quarantine IS NULL) AS identified "
        f" FROM _identity_nodes WHERE customer_id IS NOT NULL AND {scope} GROUP BY 1, 2), "
        "ids AS (SELECT customer_id, bool_or(identified) AS identified, "
        " to_json(map_from_entries(list({'k': kind, 'v': ids} ORDER BY kind))) AS identifiers"
        " FROM by_kind GROUP BY 1), "
        "latest AS (SELECT s.customer_id, t.key, arg_max(t.value, (t.ts, t.event_id)) AS value"
        f" FROM _identity_traits t JOIN _identity_sigs s USING (sig_id) WHERE {sig_scope}"
        " GROUP BY 1, 2), "
        "tr AS (SELECT customer_id, to_json(map_from_entries(list({'k': key, 'v': value} "
        " ORDER BY key))) AS traits FROM latest GROUP BY 1), "
        "acc AS (SELECT customer_id, list(account_id ORDER BY account_id) AS accounts "
        f" FROM account_members WHERE {scope} GROUP BY 1) "
        "SELECT ev.customer_id, coalesce(ids.identified, false), ids.identifiers, "
        "coalesce(tr.traits, '{}'), ev.first_seen, ev.last_seen, ev.events, ev.touchpoints, "
        "ev.sources, ev.channels, coalesce(acc.accounts, []) "
        "FROM ev LEFT JOIN ids USING (customer_id) LEFT JOIN tr USING (customer_id) "
        "LEFT JOIN acc USING (customer_id) ORDER BY ev.customer_id",
        [ANONYMOUS_ID],
    )


def accounts(engine: Engine) -> None:
    """``accounts``: every group id on an event, with traits merged like a customer's."""
    engine.execute("DELETE FROM accounts")
    engine.execute(
        "INSERT INTO accounts "
        "WITH m AS (SELECT account_id, min(first_seen) AS first_seen, "
        " max(last_seen) AS last_seen, sum(events)::BIGINT AS events, count(*) AS members "
        " FROM account_members GROUP BY 1), "
        "tr AS (SELECT account_id, to_json(map_from_entries(list({'k': key, 'v': value} "
        " ORDER BY key))) AS traits FROM _identity_account_traits GROUP BY 1) "
        "SELECT m.account_id, coalesce(tr.traits, '{}'), m.first_seen, m.last_seen, m.events, "
        "m.members FROM m LEFT JOIN tr USING (account_id) ORDER BY m.account_id"
    )
