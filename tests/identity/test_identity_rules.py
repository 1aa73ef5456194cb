"""Hand-checked identity rules: stitching, aliases, identifiers across sources, the guard,
accounts, hashing, lookups, timelines, trait merging and incremental runs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import journeylens
from journeylens import NotFoundError, Workspace
from journeylens.identity import accounts, quarantined

MINUTE = 0


def ev(mid: str, minute: int, **fields: Any) -> dict[str, Any]:
    """A track message at 2026-11-02 10:<minute> UTC (other types via ``type=``)."""
    message: dict[str, Any] = {
        "type": "track",
        "event": "product_viewed",
        "messageId": mid,
        "timestamp": f"2026-11-02T10:{minute:02d}:00Z",
    }
    message.update(fields)
    return message


def cid(kind: str, value: str) -> str:
    """The documented customer id rule, computed independently."""
    return "c-" + hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:16]


def customers(ws: Workspace) -> dict[str, list[str]]:
    """customer id → its event ids (sorted by seq)."""
    out: dict[str, list[str]] = {}
    for row in ws.engine.rows(
        "SELECT customer_id, event_id FROM customer_events ORDER BY customer_id, seq"
    ):
        out.setdefault(row["customer_id"], []).append(row["event_id"])
    return out


def groups(ws: Workspace) -> set[frozenset[str]]:
    return {frozenset(events) for events in customers(ws).values()}


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    with journeylens.create_workspace(tmp_path / "ws", identity={"max_links": 3}) as workspace:
        yield workspace


# -- stitching -----------------------------------------------------------------------------


def test_anonymous_visitor_is_stitched_when_identified(ws: Workspace) -> None:
    ws.append_messages(
        [
            ev("m1", 1, type="page", anonymousId="a1"),
            ev("m2", 2, anonymousId="a1"),
            ev("m3", 3, type="identify", anonymousId="a1", userId="u1"),
            ev("m4", 4, userId="u1", event="purchase"),
            ev("m5", 5, anonymousId="a2"),
        ],
        source="web",
    )
    result = ws.resolve_identities()
    assert (result.customers, result.identified_customers, result.events) == (2, 1, 5)
    assert groups(ws) == {frozenset({"m1", "m2", "m3", "m4"}), frozenset({"m5"})}
    # a1 is the identifier seen first: it names the customer, before and after identification
    profile = ws.profile("u1")
    assert profile.customer_id == cid("anonymous_id", "a1")
    assert profile.identifiers == {"anonymous_id": ("a1",), "user_id": ("u1",)}
    assert (profile.events, profile.touchpoints, profile.is_identified) == (4, 3, True)
    assert [(k.identifier, k.linked_to, k.reason, k.first_event_id) for k in profile.links] == [
        ("a1", "u1", "identify", "m3")
    ]
    assert ws.profile("a2").is_identified is False


def test_any_event_with_both_ids_links_them(ws: Workspace) -> None:
    ws.append_messages(
        [
            ev("m1", 1, anonymousId="a1"),
            ev("m2", 2, anonymousId="a1", userId="u1"),
            ev("m3", 3, userId="u1"),
        ],
        source="app",
    )
    ws.resolve_identities()
    assert groups(ws) == {frozenset({"m1", "m2", "m3"})}
    (link,) = ws.profile("a1").links
    assert (link.reason, link.source, link.events) == ("same_event", "app", 1)


def test_alias_chain_links_every_previous_id(ws: Workspace) -> None:
    ws.append_messages(
        [
            ev("m1", 1, userId="a"),
            ev("m2", 2, type="alias", previousId="a", userId="b"),
            ev("m3", 3, type="alias", previousId="b", userId="c"),
            ev("m4", 4, userId="c", event="purchase"),
            ev("m5", 5, type="alias", previousId="cookie-9", userId="c"),
            ev("m6", 6, userId="z"),
        ],
        source="web",
    )
    ws.resolve_identities()
    assert groups(ws) == {frozenset({"m1", "m2", "m3", "m4", "m5"}), frozenset({"m6"})}
    profile = ws.profile("a")
    assert profile == ws.profile("c")
    assert profile.customer_id == cid("user_id", "a")
    # previous ids that are user ids link as user ids; one seen nowhere else as an anonymous id
    assert profile.identifiers == {"anonymous_id": ("cookie-9",), "user_id": ("a", "b", "c")}
    assert {(k.identifier, k.linked_to, k.reason) for k in profile.links} == {
        ("a", "b", "alias"),
        ("b", "c", "alias"),
        ("cookie-9", "c", "alias"),
    }


def test_email_and_phone_link_across_sources_after_normalisation(ws: Workspace) -> None:
    ws.append_messages(
        [
            ev(
                "crm-1",
                1,
                type="identify",
                userId="crm-100",
                traits={"email": " Mario.Rossi@Example.IT ", "phone": "+39 333 123 4567"},
            ),
        ],
        source="crm",
    )
    ws.append_messages(
        [
            ev("web-1", 2, type="page", anonymousId="w1"),
            ev(
                "web-2",
                3,
                type="identify",
                anonymousId="w1",
                userId="web-7",
                traits={"email": "mario.rossi@example.it"},
            ),
        ],
        source="web",
    )
    ws.append_messages(
        [ev("pos-1", 4, userId="card-5", traits={"phone": "3331234567"})], source="pos"
    )
    ws.append_messages(
        [ev("other", 5, userId="x", traits={"email": "mario.rossi@example.com"})], source="web"
    )
    ws.resolve_identities()
    assert groups(ws) == {frozenset({"crm-1", "web-1", "web-2", "pos-1"}), frozenset({"other"})}
    profile = ws.profile("MARIO.ROSSI@example.it")
    assert profile.identifiers["email"] == ("mario.rossi@example.it",)
    assert profile.identifiers["phone"] == ("+393331234567",)
    assert profile.identifiers["user_id"] == ("card-5", "crm-100", "web-7")
    assert profile.sources == ("crm", "pos", "web")
    audit = {
        (k.identifier_kind, k.identifier, k.linked_to, k.reason, k.source) for k in profile.links
    }
    assert audit == {
        ("email", "mario.rossi@example.it", "crm-100", "trait:email", "crm"),
        ("email", "mario.rossi@example.it", "web-7", "trait:email", "web"),
        ("phone", "+393331234567", "crm-100", "trait:phone", "crm"),
        ("phone", "+393331234567", "card-5", "trait:phone", "pos"),
        ("anonymous_id", "w1", "web-7", "identify", "web"),
    }
    assert ws.profile("+39 333 1234567").customer_id == profile.customer_id
    assert ws.profile("333-123-4567").customer_id == profile.customer_id


def test_custom_identifier_links_and_group_traits_do_not(tmp_path: Path) -> None:
    config = {"identifiers": ["email", "loyalty_card"]}
    with journeylens.create_workspace(tmp_path / "ws", identity=config) as ws:
        ws.append_messages(
            [
                ev("m1", 1, userId="u1", traits={"loyalty_card": " LC-42 "}),
                ev("m2", 2, userId="u2", traits={"loyalty_card": 42}),
                ev("m3", 3, userId="u3", traits={"loyalty_card": "LC-42"}),
                # an account's email describes the company, not a person
                ev("m4", 4, type="group", userId="u4", groupId="g1", traits={"email": "a@co.it"}),
                ev("m5", 5, type="group", userId="u5", groupId="g1", traits={"email": "a@co.it"}),
            ],
            source="crm",
        )
        ws.resolve_identities()
        assert groups(ws) == {
            frozenset({"m1", "m3"}),
            frozenset({"m2"}),
            frozenset({"m4"}),
            frozenset({"m5"}),
        }
        assert ws.profile("LC-42").identifiers["loyalty_card"] == ("LC-42",)
        assert ws.profile("42").identifiers["user_id"] == ("u2",)


# -- the runaway-merge guard ---------------------------------------------------------------


def test_blocklisted_and_placeholder_values_never_link(tmp_path: Path) -> None:
    config = {"blocklist": ["INFO@shop.it", "+39 02 1234567"]}
    with journeylens.create_workspace(tmp_path / "ws", identity=config) as ws:
        ws.append_messages(
            [
                ev("m1", 1, userId="u1", traits={"email": "info@shop.it", "phone": "021234567"}),
                ev(
                    "m2", 2, userId="u2", traits={"email": " Info@Shop.it", "phone": "+39021234567"}
                ),
                ev("m3", 3, anonymousId="a3", userId="undefined"),
                ev("m4", 4, anonymousId="a4", userId="undefined"),
            ],
            source="crm",
        )
        result = ws.resolve_identities()
        assert groups(ws) == {frozenset({e}) for e in ("m1", "m2", "m3", "m4")}
        assert result.warnings == ()  # blocking is intended: no warning
        rows = {
            (r["kind"], r["value"], r["reason"]) for r in quarantined(ws.engine).to_dict()["rows"]
        }
        assert rows == {
            ("email", "info@shop.it", "blocklist"),
            ("phone", "+39021234567", "blocklist"),
            ("user_id", "undefined", "blocklist"),
        }
        with pytest.raises(NotFoundError, match="quarantined"):
            ws.profile("info@shop.it")


def test_cap_quarantines_a_shared_kiosk_id_and_warns(ws: Workspace, caplog: Any) -> None:
    kiosk = [ev(f"k{i}", i, anonymousId="kiosk", userId=f"guest{i}") for i in range(1, 5)]
    ws.append_messages(
        [*kiosk, ev("k9", 9, anonymousId="kiosk", event="map_viewed")], source="lobby"
    )
    with caplog.at_level("WARNING", logger="journeylens.identity"):
        result = ws.resolve_identities()
    # max_links is 3: four users on one anonymous id is one too many
    assert groups(ws) == {frozenset({e}) for e in ("k1", "k2", "k3", "k4", "k9")}
    assert result.quarantined == 1 and len(result.warnings) == 1
    assert "'kiosk'" in result.warnings[0] and "4 distinct" in result.warnings[0]
    assert result.warnings[0] in caplog.text
    (row,) = quarantined(ws.engine).to_dict()["rows"]
    assert (row["kind"], row["value"], row["reason"], row["degree"]) == (
        "anonymous_id",
        "kiosk",
        "max_links",
        4,
    )
    # the kiosk's anonymous-only event is a customer of its own, unidentified
    assert ws.profile("kiosk").events == 1


def test_cap_allows_exactly_max_links(ws: Workspace) -> None:
    ws.append_messages(
        [ev(f"k{i}", i, anonymousId="kiosk", userId=f"guest{i}") for i in range(1, 4)],
        source="lobby",
    )
    result = ws.resolve_identities()
    assert (result.customers, result.quarantined) == (1, 0)


def test_cap_on_a_shared_email_and_a_later_unlink(ws: Workspace) -> None:
    ws.append_messages(
        [ev(f"m{i}", i, userId=f"u{i}", traits={"email": "team@co.it"}) for i in range(1, 4)],
        source="crm",
    )
    assert ws.resolve_identities().customers == 1
    ws.append_messages([ev("m4", 4, userId="u4", traits={"email": "team@co.it"})], source="crm")
    result = ws.resolve_identities()
    assert not result.full and result.customers == 4
    assert groups(ws) == {frozenset({f"m{i}"}) for i in range(1, 5)}


# -- accounts --------------------------------------------------------------------------------


def test_group_calls_make_accounts_with_members_and_merged_traits(ws: Workspace) -> None:
    ws.append_messages(
        [
            ev(
                "g1",
                1,
                type="group",
                userId="u1",
                groupId="acme",
                traits={"name": "Acme", "industry": "retail"},
            ),
            ev(
                "g2",
                2,
                type="group",
                userId="u2",
                groupId="acme",
                traits={"name": "Acme S.p.A.", "industry": "", "employees": 120},
            ),
            ev("t1", 3, userId="u1", groupId="acme", event="demo_requested"),
            ev("g3", 4, type="group", userId="u1", groupId="beta", traits={"name": "Beta"}),
        ],
        source="crm",
    )
    ws.resolve_identities()
    rows = accounts(ws.engine).to_dict()["rows"]
    assert [(r["account_id"], r["traits"], r["events"], r["members"]) for r in rows] == [
        ("acme", {"employees": 120, "industry": "retail", "name": "Acme S.p.A."}, 3, 2),
        ("beta", {"name": "Beta"}, 1, 1),
    ]
    members = ws.engine.rows(
        "SELECT account_id, customer_id, first_seen, last_seen, events FROM account_members "
        "ORDER BY account_id, first_seen"
    )
    u1, u2 = cid("user_id", "u1"), cid("user_id", "u2")
    assert [
        (
            m["account_id"],
            m["customer_id"],
            m["first_seen"].minute,
            m["last_seen"].minute,
            m["events"],
        )
        for m in members
    ] == [
        ("acme", u1, 1, 3, 2),
        ("acme", u2, 2, 2, 1),
        ("beta", u1, 4, 4, 1),
    ]
    assert ws.profile("u1").accounts == ("acme", "beta")


# -- hashing, lookups ------------------------------------------------------------------------


def test_hashed_identifiers_keep_no_clear_values(tmp_path: Path) -> None:
    with journeylens.create_workspace(tmp_path / "ws", identity={"hash_identifiers": True}) as ws:
        ws.append_messages(
            [
                ev(
                    "m1",
                    1,
                    userId="u1",
                    traits={
                        "email": " Mario.Rossi@Example.IT ",
                        "phone": "333 123 4567",
                        "name": "Mario",
                    },
                ),
                ev("m2", 2, userId="u2", traits={"email": "mario.rossi@example.it"}),
            ],
            source="crm",
        )
        ws.resolve_identities()
        email = hashlib.sha256(b"mario.rossi@example.it").hexdigest()
        phone = hashlib.sha256(b"+393331234567").hexdigest()
        profile = ws.profile("Mario.Rossi@example.it")
        assert profile.identifiers == {
            "email": (email,),
            "phone": (phone,),
            "user_id": ("u1", "u2"),
        }
        assert profile.traits == {"email": email, "name": "Mario", "phone": phone}
        assert ws.profile(email).customer_id == ws.profile("3331234567").customer_id
        tables = [
            r["table_name"]
            for r in ws.engine.rows(
                "SELECT table_name FROM information_schema.tables WHERE table_name NOT IN "
                "('events', 'imports', 'sources', 'meta')"
            )
        ]
        for name in tables:
            text = json.dumps(ws.engine.rows(f"SELECT * FROM {name}"), default=str).lower()
            assert "mario.rossi" not in text and "3331234567" not in text, name


def test_profile_lookup_by_every_kind_of_key(ws: Workspace) -> None:
    ws.append_messages(
        [
            ev("m1", 1, anonymousId="a1"),
            ev(
                "m2",
                2,
                type="identify",
                anonymousId="a1",
                userId="u1",
                traits={"email": "ann@x.it", "phone": "+39 347 000 1111"},
            ),
        ],
        source="web",
    )
    with pytest.raises(NotFoundError, match="resolve identities first"):
        ws.profile("u1")
    ws.resolve_identities()
    expected = cid("anonymous_id", "a1")
    for key in (expected, "u1", "a1", "ANN@x.it ", "3470001111", "+393470001111"):
        assert ws.profile(key).customer_id == expected, key
        assert ws.timeline(key).customer_id == expected, key
    with pytest.raises(NotFoundError, match="no customer with id or identifier 'nobody'"):
        ws.profile("nobody")


# -- timeline, traits ------------------------------------------------------------------------


def test_timeline_is_in_time_order_with_event_id_breaking_ties(ws: Workspace) -> None:
    ws.append_messages(
        [
            ev(
                "m9",
                5,
                userId="u1",
                event="purchase",
                properties={"revenue": 30, "currency": "EUR", "order_id": "o-1"},
            ),
            ev("m2", 1, type="page", userId="u1", properties={"path": "/", "title": "Home"}),
            ev("m5", 3, userId="u1", event="cart_viewed"),
            ev("m3", 3, userId="u1", event="product_viewed", properties={"sku": "S1"}),
        ],
        source="shop",
    )
    ws.resolve_identities()
    timeline = ws.timeline("u1")
    rows = timeline.to_dict()["events"]
    assert [(r["seq"], r["event"]) for r in rows] == [
        (1, "page_viewed"),
        (2, "product_viewed"),
        (3, "cart_viewed"),
        (4, "purchase"),
    ]
    assert rows[0]["details"] == "title=Home, path=/"
    assert (str(rows[3]["revenue"]), rows[3]["currency"], rows[3]["details"]) == (
        "30.0000",
        "EUR",
        "order_id=o-1",
    )
    latest = ws.timeline("u1", limit=2)
    assert [r["event"] for r in latest.to_dict()["events"]] == ["cart_viewed", "purchase"]
    assert (len(latest), latest.total) == (2, 4)
    assert list(latest.to_pandas()["seq"]) == [3, 4]


def test_traits_latest_non_empty_value_wins(ws: Workspace) -> None:
    ws.append_messages(
        [
            ev("m1", 1, type="identify", userId="u1", traits={"name": "Ann", "city": "Roma"}),
            ev("m2", 2, type="identify", userId="u1", traits={"name": "Anna", "city": ""}),
            ev("m3", 3, type="identify", userId="u1", traits={"city": None, "tags": []}),
            # same second: the larger event id wins
            ev("m5", 4, type="identify", userId="u1", traits={"plan": "gold"}),
            ev("m4", 4, type="identify", userId="u1", traits={"plan": "silver"}),
        ],
        source="crm",
    )
    ws.resolve_identities()
    assert ws.profile("u1").traits == {"city": "Roma", "name": "Anna", "plan": "gold"}


# -- customer_events, incremental runs -------------------------------------------------------


def test_customer_events_are_clustered_and_dictionary_encoded(ws: Workspace) -> None:
    ws.append_messages(
        [
            ev(f"m{i}", i % 4, userId=f"u{i % 3}", event=["view", "cart", "buy"][i % 3])
            for i in range(12)
        ],
        source="web",
    )
    ws.resolve_identities()
    rows = ws.engine.rows(
        "SELECT c.customer_id, c.ts, c.event_id, c.seq, c.event, n.event AS name "
        "FROM customer_events c JOIN event_names n USING (event_code) ORDER BY c.rowid"
    )
    assert all(r["event"] == r["name"] for r in rows)
    keys = [(r["customer_id"], r["ts"], r["event_id"]) for r in rows]
    assert keys == sorted(keys)
    assert ws.engine.rows("SELECT event_code, event FROM event_names ORDER BY 1") == [
        {"event_code": 1, "event": "buy"},
        {"event_code": 2, "event": "cart"},
        {"event_code": 3, "event": "view"},
    ]


def test_incremental_run_reads_only_new_events_and_merges(ws: Workspace) -> None:
    ws.append_messages([ev("m1", 1, anonymousId="a1"), ev("m2", 2, userId="u1")], source="web")
    first = ws.resolve_identities()
    assert (first.full, first.reason, first.customers) == (True, "first run", 2)
    again = ws.resolve_identities()
    assert (again.full, again.events_read, again.affected_customers) == (False, 0, 0)
    ws.append_messages([ev("m3", 3, type="identify", anonymousId="a1", userId="u1")], source="web")
    merged = ws.resolve_identities()
    assert (merged.full, merged.events_read, merged.customers) == (False, 1, 1)
    assert customers(ws) == {cid("anonymous_id", "a1"): ["m1", "m2", "m3"]}
    assert ws.engine.scalar("SELECT count(*) FROM customer_profiles") == 1
    ws.append_messages([ev("m4", 4, anonymousId="a9")], source="web")
    assert ws.resolve_identities().affected_customers == 1


def test_changed_identifier_settings_rebuild_everything(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    with journeylens.create_workspace(folder) as ws:
        ws.append_messages(
            [
                ev("m1", 1, userId="u1", traits={"card": "C1"}),
                ev("m2", 2, userId="u2", traits={"card": "C1"}),
            ],
            source="crm",
        )
        assert ws.resolve_identities().customers == 2
    (folder / "journeylens.yaml").write_text(
        "identity:\n  identifiers: [email, phone, card]\n", encoding="utf-8"
    )
    with journeylens.open_workspace(folder) as ws:
        result = ws.resolve_identities()
        assert (result.full, result.reason, result.customers) == (
            True,
            "identifier settings changed",
            1,
        )


def test_an_import_that_grows_is_read_again_and_deletions_rebuild(ws: Workspace) -> None:
    first = ws.append_messages([ev("m1", 1, anonymousId="a1")], source="web")
    ws.resolve_identities()
    later = ws.append_messages([ev("m2", 2, anonymousId="a1", userId="u1")], source="web")
    # the same import stored in two writes (e.g. a file imported in chunks)
    ws.engine.execute(
        "UPDATE events SET import_id = ? WHERE import_id = ?", [first.import_id, later.import_id]
    )
    grown = ws.resolve_identities()
    assert (grown.full, grown.events_read, grown.events) == (False, 1, 2)
    assert groups(ws) == {frozenset({"m1", "m2"})}
    ws.engine.execute("DELETE FROM events WHERE event_id = 'm2'")
    rebuilt = ws.resolve_identities()
    assert (rebuilt.full, rebuilt.reason) == (True, "events were deleted since the last run")
    assert groups(ws) == {frozenset({"m1"})}


def test_empty_store_and_a_changed_blocklist_without_new_events(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    with journeylens.create_workspace(folder) as ws:
        empty = ws.resolve_identities()
        assert (empty.customers, empty.events) == (0, 0)
        ws.append_messages(
            [ev(f"m{i}", i, userId=f"u{i}", traits={"email": "desk@shop.it"}) for i in (1, 2)],
            source="pos",
        )
        assert ws.resolve_identities().customers == 1
    (folder / "journeylens.yaml").write_text(
        "identity:\n  blocklist: [desk@shop.it]\n", encoding="utf-8"
    )
    with journeylens.open_workspace(folder) as ws:
        result = ws.resolve_identities()  # no new events, but the guard changed
        assert (result.full, result.events_read, result.customers) == (False, 0, 2)
        assert groups(ws) == {frozenset({"m1"}), frozenset({"m2"})}
