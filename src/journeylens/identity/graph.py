"""From the stored evidence to customers: the runaway-merge guard, the links actually used,
connected components, and the customer id of each component.

Runs over the whole identity state on every resolve (its size is the number of identifiers, not
of events): the guard depends on all evidence, so an identifier that crosses ``max_links``
today un-links what it linked yesterday, exactly as a full rebuild would.

Rules, in order (docs/identity.md says them for users):

1. **Blocked**: an identifier whose value is in the blocklist (normalised like its kind) or is a
   placeholder (``undefined``, ``null``…) links nothing.
2. **Degree of user and anonymous ids**: the distinct user/anonymous ids it appears with (on
   one event, or through an alias). An anonymous id over ``max_links`` (a kiosk, a hotel lobby
   PC) or a user id over ``max_user_links`` (a shared login) is quarantined.
3. **Anchor of an event**: its user id unless quarantined, else its anonymous id unless
   quarantined. Trait identifiers link to the anchor of the events that carry them.
4. **Degree of a trait identifier**: the distinct anchors it is linked to; over ``max_links``
   it is quarantined.
5. **Links used**: user↔anonymous id of one event, alias ``previousId``↔``userId`` (the
   previous id is the anonymous id and/or the user id of that value that appear in events; an
   anonymous id when neither does), trait identifier↔anchor — when neither end is quarantined.
6. **Customers**: connected components of the links used that hold the anchor of an event
   (an event whose ids are all quarantined is anchored on its user id, else its anonymous id,
   which then forms a customer on its own).
7. **Customer id**: ``c-`` + the first 16 hex digits of SHA-256 of ``kind:value`` of the
   component's representative: among its user and anonymous ids seen in events, the one first
   seen (by ts, then event id, kind, value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from journeylens.config import IdentityConfig
from journeylens.engines.base import Engine
from journeylens.identity.identifiers import PLACEHOLDERS, WHITESPACE, blocklist_table

__all__ = ["GraphOutcome", "link"]

USER, ANON, TRAIT = 0, 1, 2
PAIR, ALIAS, TRAIT_LINK = 0, 1, 2
BLOCKED, OVER_CAP = 1, 2
QUARANTINE_SQL: Final = "CASE g.quarantine WHEN 1 THEN 'blocklist' WHEN 2 THEN 'max_links' END"

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class GraphOutcome:
    nodes: int
    links_used: int
    components: int


def _fetch_nodes(engine: Engine, config: IdentityConfig) -> tuple[Ints, Bools]:
    """Kind code and "blocked" flag of every node, indexed by node id."""
    with engine.registered("_g_block", blocklist_table(config)):
        table = engine.arrow(
            "SELECT n.node_id, CASE n.kind WHEN 'user_id' THEN 0 WHEN 'anonymous_id' THEN 1 "
            "ELSE 2 END AS k, (b.value IS NOT NULL OR "
            "list_contains(?::VARCHAR[], lower(trim(n.value, ?)))) AS blocked "
            "FROM _identity_nodes n "
            "LEFT JOIN (SELECT DISTINCT kind, value FROM _g_block) b "
            "ON b.kind = n.kind AND b.value = n.value",
            [list(PLACEHOLDERS), WHITESPACE],
        )
    ids = table.column("node_id").to_numpy()
    n = int(ids.max()) + 1 if len(ids) else 0
    kind = np.full(n, TRAIT, dtype=np.int64)
    blocked = np.zeros(n, dtype=bool)
    kind[ids] = table.column("k").to_numpy()
    blocked[ids] = table.column("blocked").to_numpy(zero_copy_only=False)
    return kind, blocked


def _fetch_links(engine: Engine) -> pa.Table:
    """Every link with its type and, for aliases, whether its previous-id node is the one used:
    the anonymous and/or user id of that value seen in events, or the anonymous id when
    neither is."""
    return engine.arrow(
        "SELECT l.link_id, l.u, l.a, l.t, "
        "CASE WHEN l.reason = 'alias' AND l.t >= 0 THEN 1 WHEN l.t >= 0 THEN 2 ELSE 0 END "
        "AS rtype, CASE WHEN l.reason = 'alias' AND l.t >= 0 THEN coalesce(tn.observed OR "
        "(tn.kind = 'anonymous_id' AND NOT coalesce(cp.observed, false)), false) "
        "ELSE true END AS active "
        "FROM _identity_links l "
        "LEFT JOIN _identity_nodes tn ON l.reason = 'alias' AND tn.node_id = l.t "
        "LEFT JOIN _identity_nodes cp ON l.reason = 'alias' AND cp.kind = 'user_id' "
        "AND tn.kind = 'anonymous_id' AND cp.value = tn.value"
    )


def _unique_pairs(x: Ints, y: Ints, n: int) -> tuple[Ints, Ints]:
    key = np.unique(x * n + y)
    return key // n, key % n


def _not_quarantined(nodes: Ints, q: Bools) -> Bools:
    return (nodes >= 0) & ~q[np.maximum(nodes, 0)]


def _guard(
    kind: Ints, blocked: Bools, links: pa.Table, config: IdentityConfig
) -> tuple[Bools, npt.NDArray[np.int8], Ints, Ints, Bools]:
    """Quarantine flags, reasons and degrees; each link's anchor and whether it is used."""
    n = len(kind)
    u = links.column("u").to_numpy()
    a = links.column("a").to_numpy()
    t = links.column("t").to_numpy()
    rtype = links.column("rtype").to_numpy()
    active = links.column("active").to_numpy(zero_copy_only=False)
    # degree of user and anonymous ids: distinct user/anonymous ids they appear with
    pairs = (rtype == PAIR) | ((rtype == ALIAS) & active)
    x, y = u[pairs], np.where(rtype[pairs] == PAIR, a[pairs], t[pairs])
    keep = x != y
    lo, hi = _unique_pairs(np.minimum(x[keep], y[keep]), np.maximum(x[keep], y[keep]), n)
    degree = np.bincount(lo, minlength=n) + np.bincount(hi, minlength=n)
    limit = np.where(kind == USER, config.max_user_links, config.max_links)
    over = (kind != TRAIT) & (degree > limit)
    q = blocked | over
    # trait identifiers link to the anchor of the events that carry them
    traits = rtype == TRAIT_LINK
    anchor = np.where(rtype == TRAIT_LINK, -1, u)
    tu, ta = u[traits], a[traits]
    anchor[traits] = np.where(
        _not_quarantined(tu, q), tu, np.where(_not_quarantined(ta, q), ta, -1)
    )
    valid = traits & (anchor >= 0)
    _, holders = _unique_pairs(anchor[valid], t[valid], n)
    trait_degree = np.bincount(holders, minlength=n)
    degree = np.where(kind == TRAIT, trait_degree, degree)
    over |= (kind == TRAIT) & (trait_degree > config.max_links)
    q = blocked | over
    reason = np.where(blocked, BLOCKED, np.where(over, OVER_CAP, 0)).astype(np.int8)
    other = np.where(rtype == PAIR, a, t)
    used = (
        _not_quarantined(anchor, q)
        & _not_quarantined(other, q)
        & ((rtype != ALIAS) | active)
        & (anchor != other)
    )
    return q, reason, degree.astype(np.int64), anchor, used


def _sig_anchors(sigs: pa.Table, q: Bools) -> Ints:
    su = sigs.column("u").to_numpy()
    sa = sigs.column("a").to_numpy()
    fallback = np.where(su >= 0, su, sa)
    anchor: Ints = np.where(
        _not_quarantined(su, q), su, np.where(_not_quarantined(sa, q), sa, fallback)
    )
    return anchor


def link(engine: Engine, config: IdentityConfig, *, full: bool) -> GraphOutcome:
    """Recompute customers from the identity state; write them back.

    Incremental runs (``full=False``) also leave ``_g_affected(customer_id)``: every customer
    id, old or new, whose identifiers or events changed.
    """
    kind, blocked = _fetch_nodes(engine, config)
    n = len(kind)
    links = _fetch_links(engine)
    q, reason, degree, anchor, used = _guard(kind, blocked, links, config)
    other = np.where(links.column("rtype").to_numpy() == PAIR, links.column("a").to_numpy(),
                     links.column("t").to_numpy())
    graph = coo_matrix(
        (np.ones(int(used.sum()), dtype=np.int8), (anchor[used], other[used])), shape=(n, n)
    )
    count, labels = connected_components(graph.tocsr(), directed=False)
    sigs = engine.arrow("SELECT sig_id, u, a FROM _identity_sigs")
    sig_anchor = _sig_anchors(sigs, q)
    has_events = np.zeros(count, dtype=bool)
    has_events[labels[sig_anchor]] = True
    node_label = np.where(has_events[labels], labels, -1).astype(np.int64)
    node_map = pa.table({
        "node_id": pa.array(np.arange(n, dtype=np.int64)),
        "label": pa.array(node_label),
        "quarantine": pa.array(reason),
        "degree": pa.array(degree),
    })
    link_map = pa.table({
        "link_id": links.column("link_id"),
        "anchor": pa.array(anchor),
        "used": pa.array(used),
    })
    sig_map = pa.table({"sig_id": sigs.column("sig_id"), "anchor": pa.array(sig_anchor)})
    with engine.registered("_g_nodes", node_map), engine.registered("_g_links", link_map), \
            engine.registered("_g_sigs", sig_map):
        _customer_ids(engine)
        _write_back(engine, full=full)
    return GraphOutcome(nodes=n, links_used=int(used.sum()), components=int(has_events.sum()))


def _customer_ids(engine: Engine) -> None:
    """``_g_map(node_id, customer_id, quarantine, degree)`` and ``_g_sigmap(sig_id, customer_id)``."""
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _g_rep AS SELECT g.label, 'c-' || left(sha256("
        "arg_min(n.kind || ':' || n.value, (n.first_ts, n.first_event_id, n.kind, n.value))"
        "), 16) AS customer_id FROM _g_nodes g JOIN _identity_nodes n USING (node_id) "
        "WHERE g.label >= 0 AND n.observed AND n.kind IN ('user_id', 'anonymous_id') "
        "GROUP BY g.label"
    )
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _g_map AS SELECT g.node_id, r.customer_id, "
        f"{QUARANTINE_SQL} AS quarantine, g.degree "
        "FROM _g_nodes g LEFT JOIN _g_rep r USING (label)"
    )
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _g_sigmap AS SELECT s.sig_id, m.customer_id "
        "FROM _g_sigs s JOIN _g_map m ON m.node_id = s.anchor"
    )


def _write_back(engine: Engine, *, full: bool) -> None:
    if full:
        _replace(engine, "_identity_nodes", "node_id", "_g_map",
                 "m.customer_id AS customer_id, m.quarantine AS quarantine, m.degree AS degree")
        _replace(engine, "_identity_links", "link_id", "_g_links",
                 "m.anchor AS anchor, m.used AS used")
        _replace(engine, "_identity_sigs", "sig_id", "_g_sigmap", "m.customer_id AS customer_id")
        return
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _g_changed AS "
        "SELECT m.node_id, n.customer_id AS old_id, m.customer_id AS new_id, m.quarantine, "
        "m.degree FROM _g_map m JOIN _identity_nodes n USING (node_id) "
        "WHERE m.customer_id IS DISTINCT FROM n.customer_id "
        "OR m.quarantine IS DISTINCT FROM n.quarantine OR m.degree <> n.degree"
    )
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _g_sigchanged AS "
        "SELECT m.sig_id, s.customer_id AS old_id, m.customer_id AS new_id "
        "FROM _g_sigmap m JOIN _identity_sigs s USING (sig_id) "
        "WHERE m.customer_id IS DISTINCT FROM s.customer_id"
    )
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE _g_affected AS SELECT DISTINCT customer_id FROM ("
        "SELECT old_id AS customer_id FROM _g_changed UNION ALL SELECT new_id FROM _g_changed "
        "UNION ALL SELECT old_id FROM _g_sigchanged UNION ALL SELECT new_id FROM _g_sigchanged"
        ") WHERE customer_id IS NOT NULL"
    )
    engine.execute(
        "UPDATE _identity_nodes n SET customer_id = c.new_id, quarantine = c.quarantine, "
        "degree = c.degree FROM _g_changed c WHERE n.node_id = c.node_id"
    )
    engine.execute(
        "UPDATE _identity_sigs s SET customer_id = c.new_id FROM _g_sigchanged c "
        "WHERE s.sig_id = c.sig_id"
    )
    engine.execute(
        "UPDATE _identity_links l SET anchor = m.anchor, used = m.used FROM _g_links m "
        "WHERE l.link_id = m.link_id AND (l.anchor <> m.anchor OR l.used <> m.used)"
    )


def _replace(engine: Engine, table: str, key: str, mapping: str, columns: str) -> None:
    """Rewrite ``table`` with some columns taken from ``mapping`` (a full run)."""
    engine.execute(
        f"CREATE OR REPLACE TEMP TABLE _g_new AS SELECT t.* REPLACE ({columns}) "
        f"FROM {table} t LEFT JOIN {mapping} m USING ({key})"
    )
    engine.execute(f"DELETE FROM {table}")
    engine.execute(f"INSERT INTO {table} SELECT * FROM _g_new")
    engine.execute("DROP TABLE _g_new")
