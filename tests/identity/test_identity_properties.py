"""Property tests: random event logs, split into random increments.

* incremental runs give exactly what one full rebuild gives (customer ids, groups, traits,
  identifiers, audit, quarantine, accounts, customer_events);
* every event lands in exactly one customer, ``seq`` numbers each customer's events 1..n in
  (ts, event_id) order;
* customers, ids and traits equal those of a pure-Python union-find reference.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import journeylens
from journeylens import Workspace
from journeylens.config import WorkspaceConfig, save_workspace_config
from tests.identity.reference import resolve as reference
from tests.identity.reference import stored_events

USERS = ["u0", "u1", "u2", "u3", "undefined"]
ANONS = ["a0", "a1", "a2", "kiosk"]
EMAILS = [" Ann@X.it ", "ann@x.it", "bob@x.it", "info@shop.it", "not-an-email", ""]
PHONES = ["+39 333 111 2222", "3331112222", "333 999 0000", "n/a", 3339990000]


@st.composite
def messages(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 14))
    order = draw(st.permutations(range(count)))
    out = []
    for i in range(count):
        kind = draw(st.sampled_from(["track", "page", "identify", "alias", "group"]))
        user = draw(st.none() | st.sampled_from(USERS))
        anon = draw(st.none() | st.sampled_from(ANONS))
        if kind == "alias":
            user = user or "u0"
        if user is None and anon is None:
            anon = "a0"
        message: dict[str, Any] = {
            "type": kind,
            "messageId": f"m{order[i]:02d}",
            "timestamp": f"2026-11-02T10:0{draw(st.integers(0, 3))}:00Z",
        }
        if user:
            message["userId"] = user
        if anon:
            message["anonymousId"] = anon
        if kind == "track":
            message["event"] = draw(st.sampled_from(["view", "purchase"]))
        if kind == "alias":
            message["previousId"] = draw(st.sampled_from(["a0", "a1", "u1", "u2", "old"]))
        traits = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "email": st.sampled_from(EMAILS),
                    "phone": st.sampled_from(PHONES),
                    "name": st.sampled_from(["Ann", "Bob", "", None]),
                    "card": st.sampled_from(["C1", " C1 ", "C2"]),
                },
            )
        )
        if kind == "group":
            message["groupId"] = draw(st.sampled_from(["g0", "g1"]))
            message["traits"] = draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "name": st.sampled_from(["Acme", "ACME srl", ""]),
                        "email": st.just("ann@x.it"),
                    },
                )
            )
            if traits:
                message["context"] = {"traits": traits}
        elif traits and kind != "alias":
            message["traits"] = traits
        out.append(message)
    return out


def snapshot(ws: Workspace) -> dict[str, Any]:
    """Everything identity resolution writes, order-independent."""
    q = ws.engine.rows
    return {
        "events": q(
            "SELECT customer_id, seq, event_id, event, group_id "
            "FROM customer_events ORDER BY customer_id, seq"
        ),
        "codes_ok": q(
            "SELECT count(*) AS bad FROM customer_events c "
            "JOIN event_names n USING (event_code) WHERE n.event <> c.event"
        )[0],
        "profiles": q("SELECT * FROM customer_profiles ORDER BY customer_id"),
        "identifiers": q("SELECT * FROM identity_identifiers ORDER BY kind, value"),
        "links": q("SELECT * EXCLUDE (first_ts, last_ts) FROM identity_links ORDER BY ALL"),
        "quarantine": q("SELECT * FROM identity_quarantine ORDER BY kind, value"),
        "accounts": q("SELECT * FROM accounts ORDER BY account_id"),
        "members": q("SELECT * FROM account_members ORDER BY ALL"),
    }


CONFIGS = st.fixed_dictionaries(
    {
        "identifiers": st.sampled_from([("email", "phone"), ("email", "phone", "card")]),
        "blocklist": st.sampled_from([(), ("info@shop.it",), ("u3", "ann@x.it")]),
        "max_links": st.integers(1, 3),
        "max_user_links": st.integers(1, 3),
        "hash_identifiers": st.booleans(),
    }
)


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=messages(), cuts=st.lists(st.integers(0, 14), max_size=3), identity=CONFIGS)
def test_incremental_equals_full_and_the_reference(
    log: list[dict[str, Any]], cuts: list[int], identity: dict[str, Any]
) -> None:
    bounds = sorted({0, len(log), *(c for c in cuts if c < len(log))})
    with (
        tempfile.TemporaryDirectory() as folder,
        journeylens.create_workspace(Path(folder) / "ws", identity=identity) as ws,
    ):
        for start, end in itertools.pairwise(bounds):
            ws.append_messages(log[start:end], source="web", on_error="stop")
            ws.resolve_identities()
        incremental = snapshot(ws)
        ws.resolve_identities(full=True)
        full = snapshot(ws)
        assert incremental == full
        check_invariants(ws, full)
        check_reference(ws, full)


def check_invariants(ws: Workspace, snap: dict[str, Any]) -> None:
    stored = ws.engine.rows("SELECT event_id, ts FROM events ORDER BY event_id")
    assert sorted(r["event_id"] for r in snap["events"]) == [r["event_id"] for r in stored]
    assert snap["codes_ok"]["bad"] == 0
    ts = {r["event_id"]: r["ts"] for r in stored}
    by_customer: dict[str, list[dict[str, Any]]] = {}
    for row in snap["events"]:
        by_customer.setdefault(row["customer_id"], []).append(row)
    assert set(by_customer) == {p["customer_id"] for p in snap["profiles"]}
    for rows in by_customer.values():
        assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
        keys = [(ts[r["event_id"]], r["event_id"]) for r in rows]
        assert keys == sorted(keys)


def check_reference(ws: Workspace, snap: dict[str, Any]) -> None:
    config = ws.config.identity
    ref = reference(stored_events(ws.engine), config)
    assert {r["event_id"]: r["customer_id"] for r in snap["events"]} == ref.event_customer
    traits = {p["customer_id"]: json.loads(p["traits"]) for p in snap["profiles"]}
    assert traits == ref.traits
    identifiers: dict[str, set[tuple[str, str]]] = {}
    for row in snap["identifiers"]:
        identifiers.setdefault(row["customer_id"], set()).add((row["kind"], row["value"]))
    assert identifiers == ref.identifiers
    quarantine = {(r["kind"], r["value"]): (r["reason"], r["degree"]) for r in snap["quarantine"]}
    assert quarantine == ref.quarantine
    accounts = {a["account_id"]: json.loads(a["traits"]) for a in snap["accounts"]}
    assert accounts == {g: ref.account_traits.get(g, {}) for g, _ in ref.members}
    assert {(m["account_id"], m["customer_id"]) for m in snap["members"]} == ref.members


GUARDS = st.fixed_dictionaries(
    {
        "blocklist": st.sampled_from([(), ("info@shop.it",), ("u3", "ann@x.it"), ("a1",)]),
        "max_links": st.integers(1, 3),
        "max_user_links": st.integers(1, 3),
    }
)


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=messages(), cut=st.integers(0, 14), identity=CONFIGS, guard=GUARDS)
def test_guard_changed_between_incremental_runs_equals_full(
    log: list[dict[str, Any]], cut: int, identity: dict[str, Any], guard: dict[str, Any]
) -> None:
    """An incremental run after the blocklist or a cap changed (with or without new events)
    keeps unchanged customers as they were and redoes the rest: the same as a full rebuild."""
    with tempfile.TemporaryDirectory() as base:
        folder = Path(base) / "ws"
        with journeylens.create_workspace(folder, identity=identity) as ws:
            ws.append_messages(log[:cut], source="web", on_error="stop")
            ws.resolve_identities()
        changed = {**ws.config.model_dump(mode="json"), "identity": {**identity, **guard}}
        save_workspace_config(folder, WorkspaceConfig.model_validate(changed))
        with journeylens.open_workspace(folder) as ws:
            ws.append_messages(log[cut:], source="web", on_error="stop")
            ws.resolve_identities()
            incremental = snapshot(ws)
            ws.resolve_identities(full=True)
            assert incremental == snapshot(ws)
