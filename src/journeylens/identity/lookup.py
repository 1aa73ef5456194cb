"""Reading customers back: a profile or a timeline by customer id or any identifier, the
quarantined identifiers, the accounts.

A key is tried as a customer id, then as a user id, as each trait identifier (normalised the
way the last resolve normalised it — ``" Mario.Rossi@Example.IT "`` finds
``mario.rossi@example.it``; with hashing, its hash), then as an anonymous id. Reading never
writes: it works on a workspace opened read-only.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

from journeylens.config import IdentityConfig
from journeylens.engines.base import Engine
from journeylens.errors import NotFoundError
from journeylens.identity.identifiers import candidates
from journeylens.identity.resolve import stored_config
from journeylens.identity.results import Link, Listing, Profile, Timeline
from journeylens.identity.tables import QUARANTINE_REASON

__all__ = ["accounts", "customer_of", "get_profile", "quarantined", "timeline"]

DETAIL_KEYS: Final = (
    "name",
    "title",
    "url",
    "path",
    "query",
    "product_id",
    "sku",
    "category",
    "order_id",
    "campaign",
    "rating",
    "score",
)
"""Properties shown in a timeline's ``details`` column, in this order, when present."""

# ``details``: the key properties present, as "key=value, …". The key list is a constant of
# this module (not user input), spelled out as the constant path list json_extract requires.
_DETAILS: Final = (
    "nullif(array_to_string(list_filter(list_transform(json_extract_string(properties, ["
    + ", ".join(f"'/{k}'" for k in DETAIL_KEYS)
    + "]), lambda v, i: CASE WHEN v IS NOT NULL THEN ["
    + ", ".join(f"'{k}'" for k in DETAIL_KEYS)
    + "][i] || '=' || v END), lambda x: x IS NOT NULL), ', '), '')"
)


def _require_resolved(engine: Engine, key: str) -> IdentityConfig:
    config = stored_config(engine) if engine.table_exists("customer_profiles") else None
    if config is None:
        raise NotFoundError(
            "no customers yet: resolve identities first (`journeylens resolve`, or "
            "Workspace.resolve_identities())",
            kind="customer",
            key=key,
        )
    return config


def customer_of(engine: Engine, key: str) -> str:
    """The customer id that ``key`` (customer id or any identifier) belongs to."""
    config = _require_resolved(engine, key)
    if engine.scalar("SELECT count(*) FROM customer_profiles WHERE customer_id = ?", [key]):
        return key
    options = candidates(key, config)
    table = pa.table(
        {
            "kind": [k for k, _ in options],
            "value": [v for _, v in options],
            "priority": list(range(len(options))),
        }
    )
    with engine.registered("_lookup_keys", table):
        rows = engine.rows(
            f"SELECT n.kind, r.customer_id, {QUARANTINE_REASON} AS quarantine, s.degree "
            "FROM _lookup_keys k JOIN _identity_nodes n ON n.kind = k.kind AND n.value = k.value "
            "JOIN _identity_node_state s USING (node) LEFT JOIN _identity_reps r USING (rep) "
            "ORDER BY r.customer_id IS NULL, k.priority"
        )
    if rows and rows[0]["customer_id"] is not None:
        return str(rows[0]["customer_id"])
    if rows and rows[0]["quarantine"]:
        row = rows[0]
        raise NotFoundError(
            f"{row['kind']} {key!r} belongs to no customer: it is quarantined "
            f"({row['quarantine']}, seen with {row['degree']} distinct user/anonymous ids); "
            "see identity_quarantine",
            kind="customer",
            key=key,
        )
    raise NotFoundError(
        f"no customer with id or identifier {key!r} (tried user id, "
        f"{', '.join(config.identifiers)}, anonymous id); new events need a resolve first",
        kind="customer",
        key=key,
    )


def get_profile(engine: Engine, key: str) -> Profile:
    """The profile of the customer ``key`` belongs to, with the audit of its links."""
    customer_id = customer_of(engine, key)
    row = engine.rows("SELECT * FROM customer_profiles WHERE customer_id = ?", [customer_id])[0]
    links = tuple(
        Link(**r)
        for r in engine.rows(
            "SELECT identifier_kind, identifier, linked_kind, linked_to, reason, "
            "first_event_id, first_ts, source, events FROM identity_links "
            "WHERE customer_id = ? ORDER BY first_ts, first_event_id, identifier_kind, "
            "identifier, reason",
            [customer_id],
        )
    )
    return Profile.from_row(row, links)


def timeline(engine: Engine, key: str, *, limit: int | None = None) -> Timeline:
    """Every event of the customer ``key`` belongs to, in time order (``seq``).

    With ``limit``, the latest ``limit`` events (still in time order).
    """
    customer_id = customer_of(engine, key)
    total = int(
        engine.scalar("SELECT count(*) FROM customer_events WHERE customer_id = ?", [customer_id])
    )
    first = max(total - limit, 0) if limit is not None else 0
    table = engine.arrow(
        "SELECT seq, ts, type, event, channel, source, data_party, revenue, cost, currency, "
        f"group_id AS account_id, {_DETAILS} AS details, properties "
        "FROM customer_events WHERE customer_id = ? AND seq > ? ORDER BY seq",
        [customer_id, first],
    )
    return Timeline(customer_id=customer_id, table=table, total=total)


def quarantined(engine: Engine) -> Listing:
    """Identifiers that link nothing: blocked, or over the cap (largest degree first)."""
    _require_resolved(engine, "")
    table = engine.arrow("SELECT * FROM identity_quarantine ORDER BY degree DESC, kind, value")
    return Listing("identity_quarantine", table)


def accounts(engine: Engine) -> Listing:
    """Every account (group id) with merged traits, activity and member count."""
    _require_resolved(engine, "")
    table = engine.arrow("SELECT * FROM accounts ORDER BY account_id")
    return Listing("accounts", table, json_columns=("traits",))
