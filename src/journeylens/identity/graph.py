"""From the stored evidence to customers: the runaway-merge guard, the links actually used,
connected components, and the customer id of each component.

Runs over the whole identity state on every resolve (its size is the number of identifiers, not
of events): the guard depends on all evidence, so an identifier that crosses ``max_links``
today un-links what it linked yesterday, exactly as a full rebuild would. The work is NumPy and
SciPy on integer arrays; SQL only fetches the keys and writes the results back.

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

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from journeylens.config import IdentityConfig
from journeylens.engines.base import Engine
from journeylens.identity.identifiers import blocklist_table

__all__ = ["GraphOutcome", "link"]

USER, ANON, TRAIT = 0, 1, 2
PAIR, ALIAS, TRAIT_LINK = 0, 1, 2
BLOCKED, OVER_CAP = 1, 2

Ints = npt.NDArray[np.int64]
Keys = npt.NDArray[np.uint64]
Bools = npt.NDArray[np.bool_]

_KIND_CODE: Final = "CASE n.kind WHEN 'user_id' THEN 0 WHEN 'anonymous_id' THEN 1 ELSE 2 END"


@dataclass(frozen=True)
class GraphOutcome:
    nodes: int
    links_used: int
    customers: int


class _Index:
    """Dense positions 0..n-1 of the node keys (64-bit hashes); unknown keys and key 0 ("none")
    give -1. A hash table (pandas), not a sorted search: random lookups in 10M sorted keys
    miss the cache at every step."""

    def __init__(self, keys: Keys) -> None:
        self.index = pd.Index(keys)
        # build the hash table now: lookups may then run in several threads (pandas releases
        # the GIL while it looks keys up)
        self.index.get_indexer(pd.Index(keys[:1]))

    def __call__(self, keys: Keys) -> Ints:
        found: Ints = self.index.get_indexer(pd.Index(keys)).astype(np.int64)
        return found


def _col(table: pa.Table, name: str) -> npt.NDArray[np.generic]:
    values: npt.NDArray[np.generic] = table.column(name).to_numpy(zero_copy_only=False)
    return values


def _fetch_nodes(engine: Engine, config: IdentityConfig) -> tuple[pa.Table, Bools]:
    """Every node with its kind code, flags and its previous state; whether it is blocked
    (a placeholder value, flagged when the node was stored, or in the blocklist: looked up by
    key, then checked by value)."""
    nodes = engine.arrow(
        f"SELECT n.node, {_KIND_CODE} AS k, n.observed, n.placeholder, "
        "coalesce(s.rep, 0) AS old_rep, coalesce(s.quarantine, 0) AS old_q, "
        "coalesce(s.degree, 0) AS old_degree, coalesce(s.alone, false) AS old_alone, "
        "s.node IS NULL AS fresh FROM _identity_nodes n "
        "LEFT JOIN _identity_node_state s USING (node)"
    )
    with engine.registered("_g_block", blocklist_table(config)):
        listed = engine.arrow(
            "SELECT DISTINCT n.node FROM _g_block b JOIN _identity_nodes n "
            "ON n.node = _jl_node(b.kind, b.value) AND n.kind = b.kind AND n.value = b.value"
        )
    keys = _col(nodes, "node").astype(np.uint64)
    blocked: Bools = _col(nodes, "placeholder").astype(bool) | np.isin(
        keys, _col(listed, "node").astype(np.uint64)
    )
    return nodes, blocked


def _fetch_links(engine: Engine) -> pa.Table:
    """Every link with its type and, for aliases, whether its previous-id node is the one used:
    the anonymous and/or user id of that value seen in events, or the anonymous id when
    neither is."""
    return engine.arrow(
        "SELECT l.link, l.u, l.a, l.t, CASE WHEN l.t = 0 THEN 0 WHEN l.reason = 'alias' "
        "THEN 1 ELSE 2 END AS rtype, "
        "coalesce(al.active, true) AS active, coalesce(ls.anchor, 0) AS old_anchor, "
        "coalesce(ls.used, false) AS old_used, ls.link IS NULL AS fresh "
        "FROM _identity_links l LEFT JOIN _identity_link_state ls USING (link) LEFT JOIN ("
        " SELECT l2.link, tn.observed OR (tn.kind = 'anonymous_id' "
        " AND NOT coalesce(cp.observed, false)) AS active FROM _identity_links l2"
        " JOIN _identity_nodes tn ON tn.node = l2.t"
        " LEFT JOIN _identity_nodes cp ON tn.kind = 'anonymous_id'"
        " AND cp.node = _jl_node('user_id', tn.value) WHERE l2.reason = 'alias' AND l2.t <> 0"
        ") al USING (link)"
    )


def _not_quarantined(nodes: Ints, q: Bools) -> Bools:
    ok: Bools = (nodes >= 0) & ~q[np.maximum(nodes, 0)]
    return ok


def _distinct_pairs(x: Ints, y: Ints, n: int) -> tuple[Ints, Ints]:
    """The distinct (x, y) pairs (hash-based: much faster than sorting at 10M rows)."""
    key: Ints = pd.unique(x * n + y)
    return key // n, key % n


@dataclass
class _Guarded:
    q: Bools
    reason: npt.NDArray[np.int8]
    degree: Ints
    anchor: Ints
    other: Ints
    used: Bools


def _guard(
    kind: Ints,
    blocked: Bools,
    u: Ints,
    a: Ints,
    t: Ints,
    rtype: Ints,
    active: Bools,
    config: IdentityConfig,
) -> _Guarded:
    """Quarantine flags, reasons and degrees; each link's anchor and whether it is used."""
    n = len(kind)
    other = np.where(rtype == PAIR, a, t)
    ids = (rtype == PAIR) | ((rtype == ALIAS) & active)
    x, y = u[ids], other[ids]
    keep = (x != y) & (x >= 0) & (y >= 0)
    lo, hi = _distinct_pairs(np.minimum(x[keep], y[keep]), np.maximum(x[keep], y[keep]), n)
    degree = np.bincount(lo, minlength=n) + np.bincount(hi, minlength=n)
    limit = np.where(kind == USER, config.max_user_links, config.max_links)
    over = (kind != TRAIT) & (degree > limit)
    q = blocked | over
    traits = rtype == TRAIT_LINK
    anchor = np.where(traits, -1, u)
    tu, ta = u[traits], a[traits]
    anchor[traits] = np.where(
        _not_quarantined(tu, q), tu, np.where(_not_quarantined(ta, q), ta, -1)
    )
    valid = traits & (anchor >= 0) & (t >= 0)
    _, holders = _distinct_pairs(anchor[valid], t[valid], n)
    trait_degree = np.bincount(holders, minlength=n)
    degree = np.where(kind == TRAIT, trait_degree, degree)
    over |= (kind == TRAIT) & (trait_degree > config.max_links)
    q = blocked | over
    reason = np.where(blocked, BLOCKED, np.where(over, OVER_CAP, 0)).astype(np.int8)
    used = (
        _not_quarantined(anchor, q)
        & _not_quarantined(other, q)
        & ((rtype != ALIAS) | active)
        & (anchor != other)
    )
    return _Guarded(q, reason, degree.astype(np.int64), anchor, other, used)


def _sig_anchors(su: Ints, sa: Ints, q: Bools) -> Ints:
    fallback = np.where(su >= 0, su, sa)
    anchor: Ints = np.where(
        _not_quarantined(su, q), su, np.where(_not_quarantined(sa, q), sa, fallback)
    )
    return anchor


def link(engine: Engine, config: IdentityConfig, *, full: bool) -> GraphOutcome:
    """Recompute customers from the identity state and write the state tables back.

    Incremental runs (``full=False``) write only the state rows that changed and leave
    ``_g_affected(customer_id)``: every customer id, old or new, whose identifiers, events or
    traits may have changed.
    """
    nodes, blocked = _fetch_nodes(engine, config)
    keys = _col(nodes, "node").astype(np.uint64)
    n = len(keys)
    index = _Index(keys)
    kind = _col(nodes, "k").astype(np.int64)
    links = _fetch_links(engine)
    batch = "false" if full else "s.sig IN (SELECT sig FROM _idb_sig)"
    sigs = engine.arrow(
        "SELECT s.sig, s.u, s.a, coalesce(x.rep, 0) AS old_rep, "
        f"coalesce(x.alone, false) AS old_alone, x.sig IS NULL AS fresh, {batch} AS in_batch "
        "FROM _identity_sigs s LEFT JOIN _identity_sig_state x USING (sig)"
    )
    # ~40M lookups at 1M customers: two threads halve their time
    with ThreadPoolExecutor(2, thread_name_prefix="journeylens-index") as pool:
        lu, la, lt, su, sa = pool.map(
            index,
            [
                _col(t, c).astype(np.uint64)
                for t, c in ((links, "u"), (links, "a"), (links, "t"), (sigs, "u"), (sigs, "a"))
            ],
        )
    g = _guard(
        kind,
        blocked,
        lu,
        la,
        lt,
        _col(links, "rtype").astype(np.int64),
        _col(links, "active").astype(bool),
        config,
    )
    graph = coo_matrix(
        (np.ones(int(g.used.sum()), dtype=np.int8), (g.anchor[g.used], g.other[g.used])),
        shape=(n, n),
    )
    count, labels = connected_components(graph.tocsr(), directed=False)
    sig_anchor = _sig_anchors(su, sa, g.q)
    has_events = np.zeros(count, dtype=bool)
    has_events[labels[sig_anchor]] = True
    anchor_keys = np.where(g.anchor >= 0, keys[np.maximum(g.anchor, 0)], 0).astype(np.uint64)
    old_anchor = _col(links, "old_anchor").astype(np.uint64)
    link_changed = (
        _col(links, "fresh").astype(bool)
        | (old_anchor != anchor_keys)
        | (_col(links, "old_used").astype(bool) != g.used)
    )
    old_rep = _col(nodes, "old_rep").astype(np.uint64)
    dirty = np.ones(count, dtype=bool)
    if not full:
        mentioned = _col(engine.arrow("SELECT node FROM _idb_mention"), "node").astype(np.uint64)
        touched = np.concatenate(
            [
                g.anchor[link_changed],
                g.other[link_changed],
                index(old_anchor[link_changed]),
                index(mentioned),
                np.flatnonzero(_col(nodes, "fresh").astype(bool)),
            ]
        )
        dirty[:] = False
        dirty[labels[touched[touched >= 0]]] = True
    rep_of_label = _representatives(
        engine, keys, kind, nodes, labels, has_events, _Previous(dirty, old_rep)
    )
    node_rep = rep_of_label[labels]
    sig_rep = node_rep[sig_anchor]
    sig_label = labels[sig_anchor]
    # the only identifier / signature of its customer (profiles of those need no grouping)
    in_customer = node_rep != 0
    node_alone = in_customer & (np.bincount(labels[in_customer], minlength=count) == 1)[labels]
    sig_alone = (np.bincount(sig_label, minlength=count) == 1)[sig_label]
    node_changed = (
        _col(nodes, "fresh").astype(bool)
        | (old_rep != node_rep)
        | (_col(nodes, "old_q").astype(np.int8) != g.reason)
        | (_col(nodes, "old_degree").astype(np.int64) != g.degree)
        | (_col(nodes, "old_alone").astype(bool) != node_alone)
    )
    old_sig_rep = _col(sigs, "old_rep").astype(np.uint64)
    sig_changed = (
        _col(sigs, "fresh").astype(bool)
        | (old_sig_rep != sig_rep)
        | (_col(sigs, "old_alone").astype(bool) != sig_alone)
    )
    _write(
        engine,
        "_identity_node_state",
        "node",
        pa.table(
            {
                "node": pa.array(keys),
                "rep": pa.array(node_rep),
                "quarantine": pa.array(g.reason),
                "degree": pa.array(g.degree),
                "alone": pa.array(node_alone),
            }
        ),
        None if full else node_changed,
    )
    _write(
        engine,
        "_identity_sig_state",
        "sig",
        pa.table(
            {
                "sig": sigs.column("sig"),
                "rep": pa.array(sig_rep),
                "alone": pa.array(sig_alone),
            }
        ),
        None if full else sig_changed,
    )
    _write(
        engine,
        "_identity_link_state",
        "link",
        pa.table(
            {
                "link": links.column("link"),
                "anchor": pa.array(anchor_keys),
                "used": pa.array(g.used),
            }
        ),
        None if full else link_changed,
    )
    _add_customer_ids(engine, pd.unique(node_rep if full else node_rep[node_changed]), full=full)
    if not full:
        in_batch = _col(sigs, "in_batch").astype(bool)
        reps = pd.unique(
            np.concatenate(
                [
                    old_rep[node_changed],
                    node_rep[node_changed],
                    old_sig_rep[sig_changed],
                    sig_rep[sig_changed],
                    sig_rep[in_batch],
                ]
            )
        )
        with engine.registered("_g_reps", pa.table({"rep": pa.array(reps[reps != 0])})):
            engine.execute(
                "CREATE OR REPLACE TEMP TABLE _g_affected AS SELECT DISTINCT r.customer_id "
                "FROM _g_reps g JOIN _identity_reps r USING (rep)"
            )
    return GraphOutcome(nodes=n, links_used=int(g.used.sum()), customers=int(has_events.sum()))


@dataclass(frozen=True)
class _Previous:
    """What the last run decided: ``dirty`` components may differ from it (they hold a node
    the batch mentions, a new node, or an end of a link whose use or anchor changed: all of
    them in a full run); every other component is one of the last run's customers, unchanged,
    and keeps its representative ``old_rep``."""

    dirty: Bools
    old_rep: Keys


def _representatives(
    engine: Engine,
    keys: Keys,
    kind: Ints,
    nodes: pa.Table,
    labels: Ints,
    has_events: Bools,
    previous: _Previous,
) -> Keys:
    """Key of each component's representative (0 for components without events): among its
    observed user and anonymous ids, the first seen (ts, event id, kind, value). A component
    with one such id (most: visitors who never log in) needs no comparison, nor does an
    unchanged one."""
    count = len(has_events)
    eligible = (kind != TRAIT) & _col(nodes, "observed").astype(bool) & has_events[labels]
    out = np.zeros(count, dtype=np.uint64)
    kept = eligible & ~previous.dirty[labels]
    out[labels[kept]] = previous.old_rep[kept]
    redo = eligible & (previous.dirty[labels] | (out[labels] == 0))
    candidates = np.bincount(labels[redo], minlength=count)
    alone = redo & (candidates[labels] == 1)
    out[labels[alone]] = keys[alone]
    several = redo & ~alone
    table = pa.table(
        {
            "node": pa.array(keys[several]),
            "label": pa.array(labels[several].astype(np.int64)),
        }
    )
    with engine.registered("_g_labels", table):
        reps = engine.arrow(
            "SELECT g.label, min({'ts': n.first_ts, 'e': n.first_event_id, 'k': n.kind, "
            "'v': n.value, 'node': n.node})['node'] AS rep FROM _g_labels g "
            "JOIN _identity_nodes n USING (node) GROUP BY g.label"
        )
    out[_col(reps, "label").astype(np.int64)] = _col(reps, "rep").astype(np.uint64)
    return out


def _write(engine: Engine, name: str, key: str, data: pa.Table, rows: Bools | None) -> None:
    """Write a state table: all of ``data`` (``rows`` None, a full run) or only the ``rows``
    that changed (replacing their previous version)."""
    if rows is None:
        with engine.registered("_g_state", data):
            engine.execute(f"DELETE FROM {name}")
            engine.execute(f"INSERT INTO {name} SELECT * FROM _g_state")
        return
    changed = data.filter(pa.array(rows))
    if not changed.num_rows:
        return
    with engine.registered("_g_state", changed):
        engine.execute(f"DELETE FROM {name} WHERE {key} IN (SELECT {key} FROM _g_state)")
        engine.execute(f"INSERT INTO {name} SELECT * FROM _g_state")


def _add_customer_ids(engine: Engine, reps: Keys, *, full: bool) -> None:
    """A customer id for every new representative: c- + 16 hex of SHA-256(kind:value)."""
    if full:
        engine.execute("DELETE FROM _identity_reps")
    with engine.registered("_g_new_reps", pa.table({"rep": pa.array(reps[reps != 0])})):
        engine.execute(
            "INSERT INTO _identity_reps SELECT rep, 'c-' || h, "
            "(('0x' || h)::UBIGINT::HUGEINT - 9223372036854775808)::BIGINT FROM ("
            "SELECT r.rep, left(sha256(n.kind || ':' || n.value), 16) AS h FROM _g_new_reps r "
            "JOIN _identity_nodes n ON n.node = r.rep ANTI JOIN _identity_reps x USING (rep))"
        )
