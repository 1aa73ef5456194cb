"""A short pure-Python reference of the identity rules (docs/identity.md), for property tests.

It reads the stored events row by row (fine for the tiny logs of tests) and applies the rules
with a plain union-find: what the SQL + SciPy implementation must agree with.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from journeylens.config import IdentityConfig
from journeylens.identity.identifiers import PLACEHOLDERS, WHITESPACE, normalise

Node = tuple[str, str]


@dataclass
class Reference:
    event_customer: dict[str, str] = field(default_factory=dict)
    traits: dict[str, dict[str, Any]] = field(default_factory=dict)
    identifiers: dict[str, set[Node]] = field(default_factory=dict)
    quarantine: dict[Node, tuple[str, int]] = field(default_factory=dict)
    account_traits: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: set[tuple[str, str]] = field(default_factory=set)


def _stored(kind: str, raw: Any, config: IdentityConfig) -> str | None:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return None
    value = normalise(kind, str(raw), config.phone_region)
    if value is None:
        return None
    return hashlib.sha256(value.encode()).hexdigest() if config.hash_identifiers else value


def _nonempty(value: Any) -> bool:
    if value is None or value == [] or value == {}:
        return False
    return not (isinstance(value, str) and value.strip(WHITESPACE) == "")


def _latest(rows: list[tuple[datetime, str, dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, tuple[tuple[datetime, str], Any]] = {}
    for ts, event_id, traits in rows:
        for key, value in traits.items():
            if _nonempty(value) and (key not in out or (ts, event_id) > out[key][0]):
                out[key] = ((ts, event_id), value)
    return {k: v for k, (_, v) in out.items()}


def resolve(events: list[dict[str, Any]], config: IdentityConfig) -> Reference:
    first: dict[Node, tuple[datetime, str]] = {}
    observed: set[Node] = set()
    pairs: set[tuple[Node, Node]] = set()
    aliases: set[tuple[Node, Node]] = set()
    trait_links: set[tuple[Node | None, Node | None, Node]] = set()
    sigs: dict[str, tuple[Node | None, Node | None]] = {}

    def mention(node: Node, seen: bool, e: dict[str, Any]) -> None:
        key = (e["ts"], e["event_id"])
        first[node] = min(first.get(node, key), key)
        if seen:
            observed.add(node)

    for e in events:
        u = ("user_id", e["user_id"]) if e["user_id"] else None
        a = ("anonymous_id", e["anonymous_id"]) if e["anonymous_id"] else None
        prev = e["previous_id"] or None
        sigs[e["event_id"]] = (u, a)
        for node in (u, a):
            if node:
                mention(node, True, e)
        if u and a:
            pairs.add((u, a))
        if u and prev:
            if prev != e["anonymous_id"]:
                mention(("anonymous_id", prev), False, e)
                aliases.add((u, ("anonymous_id", prev)))
            if prev != e["user_id"]:
                mention(("user_id", prev), False, e)
                aliases.add((u, ("user_id", prev)))
        person = e["person_traits"] or {}
        for kind in config.identifiers:
            value = _stored(kind, person.get(kind), config)
            if value is not None:
                t = (kind, value)
                mention(t, True, e)
                trait_links.add((u, a, t))

    def active(target: Node) -> bool:
        if target in observed:
            return True
        return target[0] == "anonymous_id" and ("user_id", target[1]) not in observed

    blocked_values = {
        (kind, v)
        for entry in config.blocklist
        for kind in ("user_id", "anonymous_id", *config.identifiers)
        if (v := entry if kind in ("user_id", "anonymous_id") else _stored(kind, entry, config))
    }

    def blocked(node: Node) -> bool:
        return node in blocked_values or node[1].strip(WHITESPACE).lower() in PLACEHOLDERS

    neighbours: dict[Node, set[Node]] = {}
    id_edges = list(pairs) + [(u, t) for u, t in aliases if active(t)]
    for x, y in id_edges:
        if x != y:
            neighbours.setdefault(x, set()).add(y)
            neighbours.setdefault(y, set()).add(x)
    q: dict[Node, tuple[str, int]] = {}
    for node in first:
        if node[0] in ("user_id", "anonymous_id"):
            degree = len(neighbours.get(node, ()))
            cap = config.max_user_links if node[0] == "user_id" else config.max_links
            if blocked(node) or degree > cap:
                q[node] = ("blocklist" if blocked(node) else "max_links", degree)

    def anchor(u: Node | None, a: Node | None) -> Node | None:
        if u and u not in q:
            return u
        if a and a not in q:
            return a
        return None

    holders: dict[Node, set[Node]] = {}
    for u, a, t in trait_links:
        if (x := anchor(u, a)) is not None:
            holders.setdefault(t, set()).add(x)
    for node in first:
        if node[0] not in ("user_id", "anonymous_id"):
            degree = len(holders.get(node, ()))
            if blocked(node) or degree > config.max_links:
                q[node] = ("blocklist" if blocked(node) else "max_links", degree)

    parent = {node: node for node in first}

    def find(x: Node) -> Node:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(x: Node, y: Node) -> None:
        if x not in q and y not in q:
            parent[find(x)] = find(y)

    for x, y in id_edges:
        union(x, y)
    for t, xs in holders.items():
        for x in xs:
            union(x, t)

    def event_anchor(u: Node | None, a: Node | None) -> Node:
        found = anchor(u, a) or u or a
        assert found is not None
        return found

    roots = {find(event_anchor(u, a)) for u, a in sigs.values()}
    reps: dict[Node, Node] = {}
    for node in first:
        root = find(node)
        if root in roots and node in observed and node[0] in ("user_id", "anonymous_id"):
            best = reps.get(root)
            key = (*first[node], node[0], node[1])
            if best is None or key < (*first[best], best[0], best[1]):
                reps[root] = node
    cid = {
        root: "c-" + hashlib.sha256(f"{n[0]}:{n[1]}".encode()).hexdigest()[:16]
        for root, n in reps.items()
    }
    ref = Reference(quarantine=q)
    for node in first:
        if find(node) in cid:
            ref.identifiers.setdefault(cid[find(node)], set()).add(node)
    by_customer: dict[str, list[tuple[datetime, str, dict[str, Any]]]] = {}
    accounts: dict[str, list[tuple[datetime, str, dict[str, Any]]]] = {}
    for e in events:
        customer = cid[find(event_anchor(*sigs[e["event_id"]]))]
        ref.event_customer[e["event_id"]] = customer
        person = dict(e["person_traits"] or {})
        if config.hash_identifiers:
            for kind in config.identifiers:
                if kind in person:
                    stored = _stored(kind, person[kind], config)
                    person[kind] = stored
        by_customer.setdefault(customer, []).append((e["ts"], e["event_id"], person))
        if e["group_id"]:
            ref.members.add((e["group_id"], customer))
            if e["type"] == "group":
                accounts.setdefault(e["group_id"], []).append(
                    (e["ts"], e["event_id"], e["account_traits"] or {})
                )
    ref.traits = {c: _latest(rows) for c, rows in by_customer.items()}
    ref.account_traits = {g: _latest(rows) for g, rows in accounts.items()}
    return ref


def stored_events(engine: Any) -> list[dict[str, Any]]:
    """The stored events with their person and account traits parsed (as the rules read them)."""
    rows = engine.rows(
        "SELECT event_id, type, ts, nullif(user_id, '') AS user_id, "
        "nullif(anonymous_id, '') AS anonymous_id, nullif(previous_id, '') AS previous_id, "
        "nullif(group_id, '') AS group_id, traits, context FROM events"
    )
    for row in rows:
        traits = json.loads(row.pop("traits")) if row["traits"] else None
        context = json.loads(row.pop("context")) if row["context"] else {}
        if row["type"] == "group":
            row["person_traits"] = context.get("traits") if isinstance(context, dict) else None
            row["account_traits"] = traits
        else:
            row["person_traits"] = traits
            row["account_traits"] = None
        if not isinstance(row["person_traits"], dict):
            row["person_traits"] = None
    return rows
