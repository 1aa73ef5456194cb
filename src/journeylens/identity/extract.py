"""Read a batch of events into the identity state: identifiers, links, signatures and traits.

A batch is every event (full run) or the events stored since the last run (incremental). It is
reduced in SQL to aggregates that merge associatively with what earlier runs stored, so the
state after several incremental runs equals the state of one full run:

* ``_identity_sigs`` — one row per distinct ``(user_id, anonymous_id)`` of events (a
  *signature*: the unit events are assigned to customers by), with its activity;
* ``_identity_nodes`` — one row per identifier ``(kind, value)``: first/last event, events;
* ``_identity_links`` — one row per ``(user node, anonymous node, other node, reason)``: the
  evidence that identifiers belong together, with its first event and source;
* ``_identity_traits`` / ``_identity_account_traits`` — the latest non-empty value of each
  trait per signature / per account; ``_identity_groups`` — group ids per signature.

Rows are keyed by salted 64-bit hashes (the ``_jl_*`` macros), so no step looks keys up.
Signatures and identifiers are grouped by their values, not by their keys, so two values that
share a key give two rows with one key: that is checked (then the caller re-salts).
Two passes read the events: one grouped by signature, one over the traits JSON. Only the
distinct phone texts of the batch reach Python (``phonenumbers`` parses them, in a thread, while
DuckDB reads the signatures).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Final

import pyarrow as pa

from journeylens.config import IdentityConfig
from journeylens.engines.base import Engine
from journeylens.errors import StorageError
from journeylens.identity.identifiers import EMAIL, PHONE, PLACEHOLDERS, WHITESPACE, phone_table

__all__ = [
    "PERSON_TRAITS",
    "KeyCollision",
    "define_keys",
    "deleted_imports",
    "extract_batch",
    "select_batch",
]

# The person traits of an event: an identify/track/… message's traits; a group message's
# traits describe the account, so its person traits are those of its context.
PERSON_TRAITS: Final = (
    "CASE WHEN type = 'group' THEN json_extract(context, '$.traits') ELSE traits END"
)
_POINTER: Final = "'/' || replace(replace(k, '~', '~0'), '/', '~1')"
_NONEMPTY: Final = (
    "value IS NOT NULL AND json_type(value) <> 'NULL' AND value NOT IN ('[]', '{}') "
    "AND NOT (json_type(value) = 'VARCHAR' AND trim(value ->> '$', ?) = '')"
)
_FIRST_MERGE: Final = (
    "CASE WHEN (m.first_ts, m.first_event_id) < (t.first_ts, t.first_event_id) "
    "THEN m.{col} ELSE t.{col} END"
)


class KeyCollision(StorageError):
    """Two different values got the same 64-bit key; resolve again with another salt."""


def define_keys(engine: Engine, salt: int) -> None:
    """The key macros, salted: ``_jl_node(kind, value)`` (0 for a null value),
    ``_jl_sig(user_id, anonymous_id)`` and ``_jl_link(u, a, t, reason)``.

    DuckDB hashes each argument and combines the hashes, so a salt passed as an argument
    leaves two texts with the same 64-bit hash colliding under every salt. After a collision
    (salt > 0) the salt is therefore appended to the texts themselves, which changes their
    hashes; the first run keeps the cheaper form.
    """
    s = int(salt)
    if s == 0:
        node, uid, aid = "hash(0, k, v)", "coalesce(u, '')", "coalesce(a, '')"
    else:
        tail = f"'~{s}'"
        node = f"hash({s}, k, v || {tail})"
        uid, aid = f"coalesce(u, '') || {tail}", f"coalesce(a, '') || {tail}"
    engine.execute(
        f"CREATE OR REPLACE TEMP MACRO _jl_node(k, v) AS "
        f"CASE WHEN v IS NULL THEN 0::UBIGINT ELSE {node} END"
    )
    engine.execute(f"CREATE OR REPLACE TEMP MACRO _jl_sig(u, a) AS hash({s}, 'sig', {uid}, {aid})")
    engine.execute(
        f"CREATE OR REPLACE TEMP MACRO _jl_link(u, a, t, r) AS hash({s}, 'link', u, a, t, r)"
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
        "CREATE OR REPLACE TEMP VIEW _idb_src AS SELECT event_id, ts, source, type, channel, "
        "user_id, anonymous_id, nullif(previous_id, '') AS previous_id, "
        "nullif(group_id, '') AS group_id, "
        f"{PERSON_TRAITS} AS person_traits, "
        "CASE WHEN type = 'group' THEN traits END AS account_traits, "
        "_jl_sig(user_id, anonymous_id) AS sig "
        "FROM (SELECT * REPLACE (nullif(user_id, '') AS user_id, "
        f"nullif(anonymous_id, '') AS anonymous_id) FROM {source})"
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


def extract_batch(engine: Engine, config: IdentityConfig, *, full: bool) -> None:
    """Merge the batch in ``_idb_src`` into the identity state tables (``full``: the state is
    empty, so rows are inserted without merging).

    The distinct phone texts are parsed in a thread while DuckDB (which releases the GIL) reads
    the signatures. Raises :class:`KeyCollision` when two values share a key (astronomically
    rare).
    """
    raws = _trait_rows(engine, config)
    with ThreadPoolExecutor(1, thread_name_prefix="journeylens-phones") as pool:
        parsed = pool.submit(phone_table, raws, config.phone_region)
        _signatures(engine)
        _account_traits(engine)
        phones = parsed.result()
    _trait_identifiers(engine, config, phones)
    _nodes(engine, full=full)
    _links(engine, full=full)
    _merge_state(engine, full=full)
    engine.execute("CREATE OR REPLACE TABLE _identity_imports AS SELECT * FROM _idb_counts")


def _signatures(engine: Engine) -> None:
    """Pass 1: the batch grouped by signature; pairs of ids per reason; aliases; groups."""
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _idb_sig AS SELECT sig, user_id, anonymous_id, "
        "min((ts, event_id)) AS first, max(ts) AS last_ts, count(*) AS events, "
        "count(*) FILTER (WHERE type IN ('track', 'page', 'screen')) AS touchpoints "
        "FROM _idb_src GROUP BY sig, user_id, anonymous_id"
    )
    # grouped by value: a key shared by two signatures shows as two rows, in the batch or
    # against a stored signature (whose ids are keyed by nodes, themselves checked)
    if engine.scalar(
        "SELECT (SELECT count(*) - count(DISTINCT sig) FROM _idb_sig) + (SELECT count(*) "
        "FROM _idb_sig m JOIN _identity_sigs s USING (sig) "
        "WHERE s.u <> coalesce(_jl_node('user_id', m.user_id), 0) "
        "OR s.a <> coalesce(_jl_node('anonymous_id', m.anonymous_id), 0))"
    ):
        raise KeyCollision("two signatures share a key")
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _idb_pair AS SELECT any_value(user_id) AS user_id, "
        "any_value(anonymous_id) AS anonymous_id, reason, min((ts, event_id, source)) AS first,"
        " max(ts) AS last_ts, count(*) AS events FROM (SELECT sig, user_id, anonymous_id, ts, "
        "event_id, source, CASE type WHEN 'identify' THEN 'identify' WHEN 'alias' THEN 'alias' "
        "ELSE 'same_event' END AS reason FROM _idb_src "
        "WHERE user_id IS NOT NULL AND anonymous_id IS NOT NULL) GROUP BY sig, reason"
    )
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _idb_prev AS SELECT user_id, anonymous_id, previous_id, "
        "min((ts, event_id, source)) AS first, max(ts) AS last_ts, count(*) AS events "
        "FROM _idb_src WHERE previous_id IS NOT NULL AND user_id IS NOT NULL GROUP BY 1, 2, 3"
    )
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _idb_group AS SELECT sig, group_id AS account_id, "
        "min(ts) AS first_ts, max(ts) AS last_ts, count(*) AS events FROM _idb_src "
        "WHERE group_id IS NOT NULL GROUP BY 1, 2"
    )


def _trait_rows(engine: Engine, config: IdentityConfig) -> list[str | None]:
    """Pass 2: every (event, trait key, value); the identifier occurrences among them; return
    the distinct phone texts (parsed in Python)."""
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _idb_kv AS SELECT sig, user_id, anonymous_id, ts, "
        f"event_id, source, k AS key, json_extract(person_traits, {_POINTER}) AS value "
        "FROM (SELECT *, unnest(json_keys(person_traits)) AS k FROM _idb_src "
        "WHERE json_type(person_traits) = 'OBJECT')"
    )
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _idb_occ AS SELECT sig, user_id, anonymous_id, ts, "
        "event_id, source, key AS kind, value ->> '$' AS raw FROM _idb_kv "
        "WHERE list_contains(?::VARCHAR[], key) "
        "AND json_type(value) IN ('VARCHAR', 'BIGINT', 'UBIGINT')",
        [list(config.identifiers)],
    )
    raws = engine.arrow("SELECT DISTINCT raw FROM _idb_occ WHERE kind = ?", [PHONE])
    values: list[str | None] = raws.column("raw").to_pylist()
    return values


def _trait_identifiers(engine: Engine, config: IdentityConfig, phones: pa.Table) -> None:
    """Identifier occurrences normalised (``phones``: the parsed phone texts); the latest
    value of every trait per signature."""
    identifiers = list(config.identifiers)
    with engine.registered("_idb_phones", phones):
        # each distinct text is normalised (and hashed) once: ~4M occurrences, ~0.8M texts
        engine.execute(
            "CREATE OR REPLACE TEMP TABLE _idb_tid AS WITH norm AS ("
            "SELECT kind, raw, CASE WHEN ? THEN sha256(v) ELSE v END AS value FROM ("
            "  SELECT o.kind, o.raw, CASE"
            "    WHEN o.kind = ? THEN CASE WHEN regexp_full_match(lower(trim(o.raw, ?)),"
            "      '[^@ \t\n\r\f\v]+@[^@ \t\n\r\f\v]+') THEN lower(trim(o.raw, ?)) END"
            "    WHEN o.kind = ? THEN p.e164"
            "    ELSE nullif(trim(o.raw, ?), '') END AS v"
            "  FROM (SELECT DISTINCT kind, raw FROM _idb_occ) o"
            "  LEFT JOIN _idb_phones p ON o.kind = ? AND p.raw = o.raw"
            ") WHERE v IS NOT NULL) "
            "SELECT o.sig, o.user_id, o.anonymous_id, o.ts, o.event_id, o.source, o.kind, "
            "n.value FROM _idb_occ o JOIN norm n USING (kind, raw)",
            [config.hash_identifiers, EMAIL, WHITESPACE, WHITESPACE, PHONE, WHITESPACE, PHONE],
        )
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _idb_tagg AS SELECT user_id, anonymous_id, kind, value, "
        "min((ts, event_id, source)) AS first, max(ts) AS last_ts, count(*) AS events "
        "FROM _idb_tid GROUP BY 1, 2, 3, 4"
    )
    # With hashing, identifier traits keep only the hash of their valid value.
    value = (
        "CASE WHEN list_contains(?::VARCHAR[], p.key) THEN to_json(i.value) ELSE p.value END"
        if config.hash_identifiers
        else "p.value"
    )
    join = (
        "LEFT JOIN _idb_tid i ON i.event_id = p.event_id AND i.kind = p.key"
        if config.hash_identifiers
        else ""
    )
    params: list[object] = [identifiers] if config.hash_identifiers else []
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _idb_traits AS SELECT sig, key, "
        "max((ts, event_id, value)) AS latest FROM ("
        f"SELECT p.sig, p.key, p.ts, p.event_id, {value} AS value FROM _idb_kv p {join}"
        f") WHERE {_NONEMPTY} GROUP BY 1, 2",
        [*params, WHITESPACE],
    )


def _account_traits(engine: Engine) -> None:
    """The latest value of every trait of each account (from ``group`` calls)."""
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _idb_account_traits AS SELECT account_id, key, "
        "max((ts, event_id, value)) AS latest FROM ("
        f"SELECT group_id AS account_id, ts, event_id, k AS key, "
        f"json_extract(account_traits, {_POINTER}) AS value FROM (SELECT *, "
        "unnest(json_keys(account_traits)) AS k FROM _idb_src WHERE group_id IS NOT NULL "
        f"AND json_type(account_traits) = 'OBJECT')) WHERE {_NONEMPTY} GROUP BY 1, 2",
        [WHITESPACE],
    )


def _nodes(engine: Engine, *, full: bool) -> None:
    """Every identifier the batch mentions, merged into ``_identity_nodes``.

    A ``previousId`` is mentioned as an anonymous id and as a user id (not observed: only an
    alias names it); which of the two it links is decided when linking.
    """
    stats = "first, last_ts, events"
    stats3 = "(first[1], first[2]) AS first, last_ts, events"
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _idb_mention AS SELECT _jl_node(kind, value) AS node, "
        "kind, value, bool_or(observed) AS observed, min(first) AS first, max(last_ts) AS last_ts, "
        "sum(events)::BIGINT AS events FROM ("
        f" SELECT 'user_id' AS kind, user_id AS value, true AS observed, {stats}"
        " FROM _idb_sig WHERE user_id IS NOT NULL"
        f" UNION ALL SELECT 'anonymous_id', anonymous_id, true, {stats}"
        " FROM _idb_sig WHERE anonymous_id IS NOT NULL"
        f" UNION ALL SELECT 'anonymous_id', previous_id, false, {stats3} FROM _idb_prev"
        " WHERE previous_id IS DISTINCT FROM anonymous_id"
        f" UNION ALL SELECT 'user_id', previous_id, false, {stats3} FROM _idb_prev"
        " WHERE previous_id <> user_id"
        f" UNION ALL SELECT kind, value, true, {stats3} FROM _idb_tagg"
        ") GROUP BY kind, value"
    )
    # grouped by value: two identifiers sharing a key are two rows with one key
    collisions = engine.scalar(
        "SELECT (SELECT count(*) - count(DISTINCT node) FROM _idb_mention) + (SELECT count(*) "
        "FROM _idb_mention m LEFT JOIN _identity_nodes n USING (node) "
        "WHERE m.node = 0 OR (n.node IS NOT NULL AND (n.kind <> m.kind OR n.value <> m.value)))"
    )
    if collisions:
        raise KeyCollision("two identifiers share a key")
    _update(
        engine,
        full,
        "UPDATE _identity_nodes t SET observed = t.observed OR m.observed, "
        f"first_event_id = {_FIRST_MERGE.format(col='first_event_id')}, "
        "first_ts = least(t.first_ts, m.first_ts), last_ts = greatest(t.last_ts, m.last_ts), "
        "events = t.events + m.events FROM (SELECT node, observed, first[1] AS first_ts, "
        "first[2] AS first_event_id, last_ts, events FROM _idb_mention) m WHERE t.node = m.node",
    )
    engine.execute(
        "INSERT INTO _identity_nodes SELECT m.node, m.kind, m.value, m.observed, "
        "list_contains(?::VARCHAR[], lower(trim(m.value, ?))), m.first[1], "
        "m.first[2], m.last_ts, m.events FROM _idb_mention m "
        "ANTI JOIN _identity_nodes n USING (node)",
        [list(PLACEHOLDERS), WHITESPACE],
    )


def _links(engine: Engine, *, full: bool) -> None:
    """The evidence of the batch, one row per (u, a, t, reason), merged into the links."""
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _idb_link AS SELECT "
        "_jl_link(u, a, t, reason) AS link, * FROM ("
        " SELECT coalesce(_jl_node('user_id', user_id), 0) AS u,"
        " coalesce(_jl_node('anonymous_id', anonymous_id), 0) AS a,"
        " coalesce(_jl_node(t_kind, t_value), 0) AS t, reason, first[1] AS first_ts,"
        " first[2] AS first_event_id, first[3] AS source, last_ts, events FROM ("
        " SELECT user_id, anonymous_id, NULL AS t_kind, NULL AS t_value, reason, first,"
        "  last_ts, events FROM _idb_pair"
        " UNION ALL SELECT user_id, NULL, 'anonymous_id', previous_id, 'alias', first,"
        "  last_ts, events FROM _idb_prev WHERE previous_id IS DISTINCT FROM anonymous_id"
        " UNION ALL SELECT user_id, NULL, 'user_id', previous_id, 'alias', first, last_ts,"
        "  events FROM _idb_prev WHERE previous_id <> user_id"
        " UNION ALL SELECT user_id, anonymous_id, kind, value, 'trait:' || kind, first,"
        "  last_ts, events FROM _idb_tagg))"
    )
    # several previous ids may repeat a (u, t) pair: aggregate before merging
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _idb_link AS SELECT link, any_value(u) AS u, "
        "any_value(a) AS a, any_value(t) AS t, any_value(reason) AS reason, "
        "min((first_ts, first_event_id, source)) AS first, max(last_ts) AS last_ts, "
        "sum(events)::BIGINT AS events FROM _idb_link GROUP BY link"
    )
    _update(
        engine,
        full,
        "UPDATE _identity_links t SET "
        f"first_event_id = {_FIRST_MERGE.format(col='first_event_id')}, "
        f"source = {_FIRST_MERGE.format(col='source')}, "
        "first_ts = least(t.first_ts, m.first_ts), last_ts = greatest(t.last_ts, m.last_ts), "
        "events = t.events + m.events FROM (SELECT link, first[1] AS first_ts, "
        "first[2] AS first_event_id, first[3] AS source, last_ts, events FROM _idb_link) m "
        "WHERE t.link = m.link",
    )
    engine.execute(
        "INSERT INTO _identity_links SELECT m.link, m.u, m.a, m.t, m.reason, m.first[1], "
        "m.first[2], m.first[3], m.last_ts, m.events FROM _idb_link m "
        "ANTI JOIN _identity_links l USING (link)"
    )


def _merge_state(engine: Engine, *, full: bool) -> None:
    """Signatures, traits and group memberships of the batch, merged into the state."""
    _update(
        engine,
        full,
        "UPDATE _identity_sigs t SET first_ts = least(t.first_ts, m.first[1]), "
        "last_ts = greatest(t.last_ts, m.last_ts), events = t.events + m.events, "
        "touchpoints = t.touchpoints + m.touchpoints "
        "FROM _idb_sig m WHERE t.sig = m.sig",
    )
    engine.execute(
        "INSERT INTO _identity_sigs SELECT m.sig, coalesce(_jl_node('user_id', m.user_id), 0), "
        "coalesce(_jl_node('anonymous_id', m.anonymous_id), 0), m.first[1], "
        "m.last_ts, m.events, m.touchpoints FROM _idb_sig m "
        "ANTI JOIN _identity_sigs s USING (sig)"
    )
    for target, key in (("_identity_traits", "sig"), ("_identity_account_traits", "account_id")):
        source = "_idb_traits" if key == "sig" else "_idb_account_traits"
        _update(
            engine,
            full,
            f"UPDATE {target} t SET value = m.latest[3], ts = m.latest[1], "
            f"event_id = m.latest[2] FROM {source} m WHERE t.{key} = m.{key} "
            "AND t.key = m.key AND m.latest > (t.ts, t.event_id, t.value)",
        )
        engine.execute(
            f"INSERT INTO {target} SELECT m.{key}, m.key, m.latest[3], m.latest[1], "
            f"m.latest[2] FROM {source} m ANTI JOIN {target} t USING ({key}, key)"
        )
    _update(
        engine,
        full,
        "UPDATE _identity_groups t SET first_ts = least(t.first_ts, m.first_ts), "
        "last_ts = greatest(t.last_ts, m.last_ts), events = t.events + m.events "
        "FROM _idb_group m WHERE t.sig = m.sig AND t.account_id = m.account_id",
    )
    engine.execute(
        "INSERT INTO _identity_groups SELECT m.* FROM _idb_group m "
        "ANTI JOIN _identity_groups t USING (sig, account_id)"
    )


def _update(engine: Engine, full: bool, statement: str) -> None:
    """Merge the batch into existing state rows (a full run starts from empty tables: none)."""
    if not full:
        engine.execute(statement)
