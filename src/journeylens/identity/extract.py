"""Read a batch of events into the identity state: identifiers, links, signatures and traits.

A batch is every event (full run) or the events stored since the last run (incremental). It is
reduced in SQL to aggregates that merge associatively with what earlier runs stored, so the
state after several incremental runs equals the state of one full run:

* ``_identity_nodes`` — one row per identifier ``(kind, value)``: first/last event, events;
* ``_identity_links`` — one row per ``(user node, anonymous node, other node, reason)``:
  the evidence that identifiers belong together, with its first event and source;
* ``_identity_sigs`` — one row per distinct ``(user_id, anonymous_id)`` of events: the unit
  that events are assigned to customers by;
* ``_identity_traits`` / ``_identity_account_traits`` — the latest non-empty value of each trait
  per signature / per account.

Only the distinct phone texts of the batch reach Python (``phonenumbers`` parses them).
"""

from __future__ import annotations

from typing import Final

from journeylens.config import IdentityConfig
from journeylens.engines.base import Engine
from journeylens.identity.identifiers import (
    EMAIL,
    PHONE,
    WHITESPACE,
    phone_table,
    trait_kinds_table,
)

__all__ = ["extract_batch", "select_batch"]

# The person traits of an event: an identify/track/… message's traits; a group message's
# traits describe the account, so its person traits are those of its context.
_PERSON_TRAITS: Final = (
    "CASE WHEN type = 'group' THEN json_extract(context, '$.traits') ELSE traits END"
)
_FIRST: Final = (
    "min(ts) AS first_ts, arg_min(event_id, (ts, event_id)) AS first_event_id, "
    "arg_min(source, (ts, event_id)) AS source, max(ts) AS last_ts, count(*) AS events"
)
_NONEMPTY: Final = (
    "value IS NOT NULL AND json_type(value) <> 'NULL' AND value NOT IN ('[]', '{}') "
    "AND NOT (json_type(value) = 'VARCHAR' AND trim(value ->> '$', ?) = '')"
)


def select_batch(engine: Engine, *, full: bool) -> int:
    """Create the temp view ``_idb_src`` over the events to read; return how many there are.

    Incremental: events of imports not seen by the last run, plus, for imports that grew since
    (stored in several writes), their events not yet in ``customer_events``.
    """
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _idb_counts AS SELECT coalesce(import_id, '') AS import_id,"
        " count(*) AS events FROM events GROUP BY 1"
    )
    if full:
        source = "events"
    else:
        engine.execute(
            "CREATE OR REPLACE TEMP TABLE _idb_events AS SELECT e.* FROM events e "
            "JOIN _idb_counts c ON c.import_id = coalesce(e.import_id, '') "
            "LEFT JOIN _identity_imports d ON d.import_id = c.import_id "
            "WHERE d.import_id IS NULL OR (c.events > d.events AND e.event_id NOT IN "
            "(SELECT event_id FROM customer_events))"
        )
        source = "_idb_events"
    engine.execute(
        "CREATE OR REPLACE TEMP VIEW _idb_src AS SELECT event_id, ts, source, type, event, "
        "nullif(user_id, '') AS user_id, nullif(anonymous_id, '') AS anonymous_id, "
        "nullif(previous_id, '') AS previous_id, nullif(group_id, '') AS group_id, "
        f"{_PERSON_TRAITS} AS person_traits, "
        "CASE WHEN type = 'group' THEN traits END AS account_traits "
        f"FROM {source}"
    )
    return int(engine.scalar("SELECT count(*) FROM _idb_src"))


def deleted_imports(engine: Engine) -> int:
    """Imports with fewer events than when last resolved (events were deleted)."""
    return int(
        engine.scalar(
            "SELECT count(*) FROM _identity_imports d LEFT JOIN _idb_counts c USING (import_id) "
            "WHERE coalesce(c.events, 0) < d.events"
        )
    )


def extract_batch(engine: Engine, config: IdentityConfig) -> None:
    """Merge the batch in ``_idb_src`` into the identity state tables."""
    _trait_identifiers(engine, config)
    _nodes(engine)
    _signatures(engine)
    _links(engine)
    _traits(engine, config)
    engine.execute(
        "CREATE OR REPLACE TABLE _identity_imports AS SELECT * FROM _idb_counts"
    )


def _trait_identifiers(engine: Engine, config: IdentityConfig) -> None:
    """``_idb_tid``: one row per (event, trait identifier), normalised (and hashed)."""
    kinds = trait_kinds_table(config.identifiers)
    with engine.registered("_idb_kinds", kinds):
        engine.execute(
            "CREATE OR REPLACE TEMP TABLE _idb_occ AS SELECT s.event_id, s.ts, s.source, "
            "s.user_id, s.anonymous_id, k.kind, "
            "json_extract_string(s.person_traits, k.pointer) AS raw "
            "FROM _idb_src s CROSS JOIN _idb_kinds k "
            "WHERE json_type(s.person_traits, k.pointer) IN ('VARCHAR', 'BIGINT', 'UBIGINT')"
        )
    raws = engine.arrow("SELECT DISTINCT raw FROM _idb_occ WHERE kind = ?", [PHONE])
    phones = phone_table(raws.column("raw").to_pylist(), config.phone_region)
    with engine.registered("_idb_phones", phones):
        engine.execute(
            "CREATE OR REPLACE TEMP TABLE _idb_tid AS "
            "SELECT event_id, ts, source, user_id, anonymous_id, kind, "
            "CASE WHEN ? THEN sha256(v) ELSE v END AS value FROM ("
            "  SELECT o.*, CASE"
            "    WHEN o.kind = ? THEN CASE WHEN regexp_full_match(lower(trim(o.raw, ?)),"
            "      '[^@ \t\n\r\f\v]+@[^@ \t\n\r\f\v]+') THEN lower(trim(o.raw, ?)) END"
            "    WHEN o.kind = ? THEN p.e164"
            "    ELSE nullif(trim(o.raw, ?), '') END AS v"
            "  FROM _idb_occ o LEFT JOIN _idb_phones p ON o.kind = ? AND p.raw = o.raw"
            ") WHERE v IS NOT NULL",
            [config.hash_identifiers, EMAIL, WHITESPACE, WHITESPACE, PHONE, WHITESPACE, PHONE],
        )


def _nodes(engine: Engine) -> None:
    """Every identifier the batch mentions, merged into ``_identity_nodes``.

    A ``previousId`` is mentioned as an anonymous id and as a user id (not observed: only an
    alias names it); which of the two it links is decided when linking.
    """
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _idb_mention AS "
        "SELECT kind, value, bool_or(observed) AS observed, min(ts) AS first_ts, "
        "arg_min(event_id, (ts, event_id)) AS first_event_id, max(ts) AS last_ts, "
        "count(*) AS events FROM ("
        " SELECT 'user_id' AS kind, user_id AS value, true AS observed, ts, event_id "
        " FROM _idb_src WHERE user_id IS NOT NULL"
        " UNION ALL SELECT 'anonymous_id', anonymous_id, true, ts, event_id "
        " FROM _idb_src WHERE anonymous_id IS NOT NULL"
        " UNION ALL SELECT 'anonymous_id', previous_id, false, ts, event_id FROM _idb_src"
        " WHERE user_id IS NOT NULL AND previous_id IS DISTINCT FROM anonymous_id"
        "   AND previous_id IS NOT NULL"
        " UNION ALL SELECT 'user_id', previous_id, false, ts, event_id FROM _idb_src"
        " WHERE user_id IS NOT NULL AND previous_id <> user_id"
        " UNION ALL SELECT kind, value, true, ts, event_id FROM _idb_tid"
        ") GROUP BY kind, value"
    )
    engine.execute(
        "UPDATE _identity_nodes n SET observed = n.observed OR m.observed, "
        "first_event_id = CASE WHEN (m.first_ts, m.first_event_id) < (n.first_ts, "
        "n.first_event_id) THEN m.first_event_id ELSE n.first_event_id END, "
        "first_ts = least(n.first_ts, m.first_ts), last_ts = greatest(n.last_ts, m.last_ts), "
        "events = n.events + m.events "
        "FROM _idb_mention m WHERE n.kind = m.kind AND n.value = m.value"
    )
    engine.execute(
        "INSERT INTO _identity_nodes SELECT "
        "(SELECT coalesce(max(node_id) + 1, 0) FROM _identity_nodes) + row_number() OVER () - 1,"
        " m.kind, m.value, m.observed, m.first_ts, m.first_event_id, m.last_ts, m.events, "
        "NULL, NULL, 0 FROM _idb_mention m "
        "ANTI JOIN _identity_nodes n ON n.kind = m.kind AND n.value = m.value"
    )


def _signatures(engine: Engine) -> None:
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _idb_sig AS SELECT coalesce(user_id, '') AS user_id, "
        "coalesce(anonymous_id, '') AS anonymous_id, min(ts) AS first_ts, max(ts) AS last_ts, "
        "count(*) AS events FROM _idb_src GROUP BY 1, 2"
    )
    engine.execute(
        "UPDATE _identity_sigs s SET first_ts = least(s.first_ts, m.first_ts), "
        "last_ts = greatest(s.last_ts, m.last_ts), events = s.events + m.events "
        "FROM _idb_sig m WHERE s.user_id = m.user_id AND s.anonymous_id = m.anonymous_id"
    )
    engine.execute(
        "INSERT INTO _identity_sigs SELECT "
        "(SELECT coalesce(max(sig_id) + 1, 0) FROM _identity_sigs) + row_number() OVER () - 1, "
        "m.user_id, m.anonymous_id, coalesce(un.node_id, -1), coalesce(an.node_id, -1), "
        "m.first_ts, m.last_ts, m.events, NULL FROM _idb_sig m "
        "LEFT JOIN _identity_nodes un ON un.kind = 'user_id' AND un.value = m.user_id "
        "LEFT JOIN _identity_nodes an ON an.kind = 'anonymous_id' AND an.value = m.anonymous_id "
        "ANTI JOIN _identity_sigs s ON s.user_id = m.user_id AND s.anonymous_id = m.anonymous_id"
    )


def _links(engine: Engine) -> None:
    """The evidence of the batch, aggregated per (u, a, t, reason), merged into the links."""
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _idb_link AS "
        "WITH raw AS ("
        " SELECT user_id, anonymous_id, NULL::VARCHAR AS t_kind, NULL::VARCHAR AS t_value,"
        "  CASE type WHEN 'identify' THEN 'identify' WHEN 'alias' THEN 'alias'"
        "  ELSE 'same_event' END AS reason, ts, event_id, source FROM _idb_src"
        " WHERE user_id IS NOT NULL AND anonymous_id IS NOT NULL"
        " UNION ALL SELECT user_id, NULL, 'anonymous_id', previous_id, 'alias', ts, event_id,"
        "  source FROM _idb_src WHERE user_id IS NOT NULL AND previous_id IS NOT NULL"
        "  AND previous_id IS DISTINCT FROM anonymous_id"
        " UNION ALL SELECT user_id, NULL, 'user_id', previous_id, 'alias', ts, event_id, source"
        "  FROM _idb_src WHERE user_id IS NOT NULL AND previous_id <> user_id"
        " UNION ALL SELECT user_id, anonymous_id, kind, value, 'trait:' || kind, ts, event_id,"
        "  source FROM _idb_tid"
        "), agg AS ("
        f" SELECT user_id, anonymous_id, t_kind, t_value, reason, {_FIRST}"
        " FROM raw GROUP BY ALL"
        ") SELECT coalesce(un.node_id, -1) AS u, coalesce(an.node_id, -1) AS a,"
        " coalesce(tn.node_id, -1) AS t, agg.reason, agg.first_ts, agg.first_event_id,"
        " agg.source, agg.last_ts, agg.events FROM agg"
        " LEFT JOIN _identity_nodes un ON un.kind = 'user_id' AND un.value = agg.user_id"
        " LEFT JOIN _identity_nodes an ON an.kind = 'anonymous_id' AND an.value = agg.anonymous_id"
        " LEFT JOIN _identity_nodes tn ON tn.kind = agg.t_kind AND tn.value = agg.t_value"
    )
    engine.execute(
        "UPDATE _identity_links l SET "
        "first_event_id = CASE WHEN (m.first_ts, m.first_event_id) < (l.first_ts, "
        "l.first_event_id) THEN m.first_event_id ELSE l.first_event_id END, "
        "source = CASE WHEN (m.first_ts, m.first_event_id) < (l.first_ts, l.first_event_id) "
        "THEN m.source ELSE l.source END, first_ts = least(l.first_ts, m.first_ts), "
        "last_ts = greatest(l.last_ts, m.last_ts), events = l.events + m.events "
        "FROM _idb_link m WHERE l.u = m.u AND l.a = m.a AND l.t = m.t AND l.reason = m.reason"
    )
    engine.execute(
        "INSERT INTO _identity_links SELECT "
        "(SELECT coalesce(max(link_id) + 1, 0) FROM _identity_links) + row_number() OVER () - 1,"
        " m.u, m.a, m.t, m.reason, m.first_ts, m.first_event_id, m.source, m.last_ts, m.events,"
        " -1, false FROM _idb_link m ANTI JOIN _identity_links l "
        "ON l.u = m.u AND l.a = m.a AND l.t = m.t AND l.reason = m.reason"
    )


def _latest(engine: Engine, target: str, key_columns: str, source_sql: str,
            params: list[object]) -> None:
    """Merge the latest non-empty value per (key columns, trait key) into ``target``."""
    engine.execute(
        f"CREATE OR REPLACE TEMP TABLE _idb_latest AS SELECT {key_columns}, key, "
        "arg_max(value, (ts, event_id)) AS value, max(ts) AS ts, "
        "arg_max(event_id, (ts, event_id)) AS event_id "
        f"FROM ({source_sql}) WHERE {_NONEMPTY} GROUP BY ALL",
        [*params, WHITESPACE],
    )
    match = " AND ".join(f"t.{c.strip()} = m.{c.strip()}" for c in key_columns.split(","))
    engine.execute(
        f"UPDATE {target} t SET value = m.value, ts = m.ts, event_id = m.event_id "
        f"FROM _idb_latest m WHERE {match} AND t.key = m.key "
        "AND (m.ts, m.event_id) > (t.ts, t.event_id)"
    )
    engine.execute(
        f"INSERT INTO {target} SELECT m.* FROM _idb_latest m "
        f"ANTI JOIN {target} t ON {match} AND t.key = m.key"
    )


_KEYS: Final = (
    "SELECT {cols}, ts, event_id, k AS key, "
    "json_extract({obj}, '/' || replace(replace(k, '~', '~0'), '/', '~1')) AS value "
    "FROM (SELECT {cols}, ts, event_id, {obj}, unnest(json_keys({obj})) AS k "
    "FROM _idb_src WHERE json_type({obj}) = 'OBJECT')"
)


def _traits(engine: Engine, config: IdentityConfig) -> None:
    """Person traits per signature and account traits per account, latest non-empty wins.

    With ``hash_identifiers`` the identifier traits (email, phone…) are stored as the hash of
    their normalised value, and not at all when they are not valid identifiers.
    """
    person = _KEYS.format(cols="user_id, anonymous_id", obj="person_traits")
    if config.hash_identifiers:
        person = (
            "SELECT p.user_id, p.anonymous_id, p.ts, p.event_id, p.key, "
            "CASE WHEN p.key IN (SELECT unnest(?::VARCHAR[])) THEN to_json(i.value) "
            "ELSE p.value END AS value "
            f"FROM ({person}) p LEFT JOIN _idb_tid i "
            "ON i.event_id = p.event_id AND i.kind = p.key"
        )
        params: list[object] = [list(config.identifiers)]
    else:
        params = []
    by_sig = (
        "SELECT s.sig_id, p.ts, p.event_id, p.key, p.value "
        f"FROM ({person}) p JOIN _identity_sigs s "
        "ON s.user_id = coalesce(p.user_id, '') AND s.anonymous_id = coalesce(p.anonymous_id, '')"
    )
    _latest(engine, "_identity_traits", "sig_id", by_sig, params)
    account = _KEYS.format(cols="group_id", obj="account_traits")
    account = (
        "SELECT group_id AS account_id, ts, event_id, key, value "
        f"FROM ({account}) WHERE group_id IS NOT NULL"
    )
    _latest(engine, "_identity_account_traits", "account_id", account, [])
