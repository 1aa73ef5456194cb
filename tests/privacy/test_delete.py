"""Deleting a person: nothing about them is left in any table or column of the store; the
others are untouched; resolving again does not bring them back."""

from __future__ import annotations

from pathlib import Path

import pytest

import journeylens
from journeylens import NotFoundError, StorageError, Workspace
from journeylens.privacy.compact import compact_store
from tests.privacy.conftest import (
    ALL_EVENTS,
    LUIGI_MARKERS,
    MARIO_EMAIL,
    MARIO_EVENTS,
    MARIO_MARKERS,
    MARIO_PHONE,
    build,
)
from tests.privacy.walk import find, relations

MARIO_KEYS = (
    "u-mario",
    "crm-mario",
    "a-mario-1",
    "a-mario-2",
    " Mario.Rossi@EXAMPLE.it",
    "333 123 4567",
    MARIO_PHONE,
)


def test_the_walk_finds_the_person_before_the_delete(shop: Workspace) -> None:
    """The walk can see what it looks for: before the delete Mario is everywhere."""
    found = find(shop, [*MARIO_MARKERS, shop.profile("u-mario").customer_id])
    customer_id = shop.profile("u-mario").customer_id
    hashes = {m for m in MARIO_MARKERS if len(m) == 64}  # only stored with hash_identifiers
    assert set(found) == {m.lower() for m in MARIO_MARKERS} - hashes | {customer_id}
    places = set().union(*found.values())
    for table in ("events", "customer_events", "customer_profiles", "stage_entries"):
        assert any(f'"{table}".' in p for p in places), table
    assert any('"_identity_nodes".' in p for p in places)


@pytest.mark.parametrize(
    "key", ["u-mario", "Mario.Rossi@Example.IT", "a-mario-2", "+39 333 123 4567"]
)
def test_delete_leaves_nothing_in_any_table(shop: Workspace, key: str) -> None:
    customer_id = shop.profile("u-mario").customer_id
    luigi_id = shop.profile("u-luigi").customer_id
    tables_before = set(relations(shop))
    request = shop.privacy.delete(key, requested_by="test")

    # every table and column of the store, the privacy tables included
    assert find(shop, [*MARIO_MARKERS, customer_id]) == {}
    added = set(relations(shop)) - tables_before  # nothing was dropped for good
    assert tables_before <= set(relations(shop))
    assert added == {
        '"main"."suppressions"',
        '"main"."privacy_requests"',
        '"main"."_privacy_settings"',
    }
    # … while the others are all there
    assert set(find(shop, LUIGI_MARKERS)) == {m.lower() for m in LUIGI_MARKERS}
    assert shop.profile("u-luigi").customer_id == luigi_id
    assert shop.profile("a-anna").events == 2

    # the request counts what it removed, checked by hand: Mario has 9 events
    assert request.action == "delete" and request.status == "done"
    assert request.events_deleted == len(MARIO_EVENTS) == 9
    assert request.customers == 1
    # user ids u-mario, crm-mario, old-mario; anonymous ids a-mario-1, a-mario-2; email; phone
    assert request.identifiers == 7
    assert request.rows_deleted["customer_events"] == 9
    assert request.rows_deleted["customer_profiles"] == 1
    assert request.rows_deleted["account_members"] == 1
    assert request.rows_deleted["stage_entries"] >= 1
    assert shop.summary().events == len(ALL_EVENTS) - 9


def test_resolving_again_does_not_resurrect(shop: Workspace) -> None:
    shop.privacy.delete("u-mario")
    for full in (False, True):
        result = shop.resolve_identities(full=full)
        assert result.customers == 2  # Luigi and Anna
        for key in MARIO_KEYS:
            with pytest.raises(NotFoundError):
                shop.profile(key)
    assert find(shop, MARIO_MARKERS) == {}
    # the account keeps its other member, and its history no longer counts Mario
    assert shop.engine.rows("SELECT account_id, members, events FROM accounts") == [
        {"account_id": "acme", "members": 1, "events": 1}
    ]


def test_delete_with_hashed_identifiers(hashed_shop: Workspace) -> None:
    customer_id = hashed_shop.profile(MARIO_EMAIL).customer_id
    request = hashed_shop.privacy.delete("MARIO.ROSSI@example.it")
    assert request.events_deleted == 9
    assert find(hashed_shop, [*MARIO_MARKERS, customer_id]) == {}
    assert hashed_shop.profile("luigi.verdi@example.it").events == 4


def test_delete_covers_events_stored_after_the_last_resolve(shop: Workspace) -> None:
    """Events of Mario's ids that no resolve has seen yet go too."""
    report = shop.append_messages(
        [
            {
                "type": "track",
                "event": "late",
                "userId": "u-mario",
                "messageId": "late-1",
                "timestamp": "2026-11-03T10:00:00Z",
            },
            {
                "type": "identify",
                "anonymousId": "a-mario-3",
                "userId": "u-mario",
                "messageId": "late-2",
                "timestamp": "2026-11-03T10:01:00Z",
            },
        ],
        source="web",
    )
    assert report.stored == 2
    request = shop.privacy.delete("crm-mario")
    assert request.events_deleted == 11
    assert find(shop, [*MARIO_MARKERS, "a-mario-3", "late-1", "late-2"]) == {}


def _file_text(folder: Path) -> bytes:
    data = b""
    for name in ("events.duckdb", "events.duckdb.wal"):
        if (folder / name).exists():
            data += (folder / name).read_bytes().lower()
    return data


def test_compaction_removes_the_deleted_bytes_from_the_file(tmp_path: Path) -> None:
    """DuckDB leaves freed blocks as they were; compacting rewrites the file without them."""
    folder = tmp_path / "ws"
    with journeylens.create_workspace(folder) as ws:
        build(ws)
        ws.engine.execute("CHECKPOINT")
        assert b"zebedeo" in _file_text(folder)  # the check can see stored text
        ws.privacy.delete("u-mario")
        luigi = ws.profile("u-luigi").to_dict()
        tables = ws.engine.rows("SELECT table_name FROM duckdb_tables() ORDER BY 1")
    result = compact_store(folder)
    assert result.bytes_before > 0 and result.bytes_after > 0
    data = _file_text(folder)
    for marker in ("zebedeo", MARIO_EMAIL, "crm-mario", "a-mario-1"):
        assert marker.encode() not in data, marker
    assert b"luigi verdi" in data
    with journeylens.open_workspace(folder) as ws:  # the compacted store is the same store
        assert ws.profile("u-luigi").to_dict() == luigi
        assert ws.engine.rows("SELECT table_name FROM duckdb_tables() ORDER BY 1") == tables
        assert find(ws, MARIO_MARKERS) == {}


def test_compaction_refuses_a_store_in_use(shop: Workspace) -> None:
    with pytest.raises(StorageError, match="Stop the server"):
        compact_store(shop.path)


def test_unknown_identifier_is_not_found_and_logged(shop: Workspace) -> None:
    events = shop.summary().events
    with pytest.raises(NotFoundError, match=r"nobody@example\.it.*nothing was deleted"):
        shop.privacy.delete("nobody@example.it")
    assert shop.summary().events == events
    (request,) = shop.privacy.requests()
    assert (request.action, request.status, request.events_deleted) == ("delete", "not_found", 0)


def test_delete_on_a_workspace_never_resolved(tmp_path: Path) -> None:
    with journeylens.create_workspace(f"{tmp_path}/ws") as ws:
        ws.append_messages(ALL_EVENTS, source="web", on_error="stop")
        request = ws.privacy.delete("a-mario-1")
        assert request.events_deleted == 9
        assert ws.summary().events == len(ALL_EVENTS) - 9
        assert find(ws, MARIO_MARKERS) == {}
