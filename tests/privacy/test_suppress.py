"""Suppression: a suppressed person's events are dropped by the event store (messages, files,
every identifier linked to them), the filter a server uses agrees, and unsuppressing lifts it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import journeylens
from journeylens import NotFoundError, Workspace
from journeylens.events.messages import MessageDefaults, normalise_message
from journeylens.events.store import append_events
from journeylens.privacy import SuppressionFilter
from journeylens.privacy.suppression import CACHE_FILE, KEY_FILE
from tests.privacy.conftest import MARIO_EMAIL, msg
from tests.privacy.walk import find

# one message per identifier of Mario's, each written in another way than when first seen
MARIO_AGAIN = [
    msg("new-01", 30, anonymousId="a-mario-1"),
    msg("new-02", 31, anonymousId="a-mario-2"),
    msg("new-03", 32, userId="u-mario"),
    msg("new-04", 33, userId="crm-mario"),
    msg("new-05", 34, userId="old-mario"),
    msg(
        "new-06", 35, "identify", anonymousId="a-new-1", traits={"email": "MARIO.Rossi@example.IT"}
    ),
    msg("new-07", 36, "identify", anonymousId="a-new-2", traits={"phone": "+39 333 123 4567"}),
    msg("new-08", 37, anonymousId="a-new-3", context={"traits": {"phone": "3331234567"}}),
    msg("new-09", 38, "alias", userId="u-new", previousId="a-mario-1"),
    msg(
        "new-10",
        39,
        "group",
        anonymousId="a-new-4",
        groupId="acme",
        context={"traits": {"email": MARIO_EMAIL}},
    ),
]
OTHERS = [
    msg("new-11", 40, userId="u-luigi"),
    msg("new-12", 41, anonymousId="a-new-5", traits={"email": "mario.bianchi@example.it"}),
    msg("new-13", 42, anonymousId="mario"),
]


def test_suppressed_person_is_dropped_on_every_identifier(shop: Workspace) -> None:
    request = shop.privacy.suppress("Mario.Rossi@Example.IT")
    assert (request.action, request.customers, request.identifiers) == ("suppress", 1, 7)
    # the 5 user/anonymous ids in both fields (a previousId may come back as either), the
    # email and the phone
    assert request.suppressions == 12
    events = shop.summary().events
    report = shop.append_messages(MARIO_AGAIN + OTHERS, source="web", on_error="stop")
    assert report.read == 13
    assert report.stored == len(OTHERS)
    assert shop.summary().events == events + len(OTHERS)
    stored = {r["event_id"] for r in shop.engine.rows("SELECT event_id FROM events")}
    assert stored >= {"new-11", "new-12", "new-13"}
    assert not stored & {m["messageId"] for m in MARIO_AGAIN}
    # suppression keeps what was stored before
    assert shop.profile("u-mario").events == 9


def test_the_store_counts_suppressed_rows(shop: Workspace) -> None:
    shop.privacy.suppress("u-mario")
    defaults = MessageDefaults("web", "first", None, "batch-x")
    rows = [normalise_message(m, defaults, row=i) for i, m in enumerate(MARIO_AGAIN + OTHERS, 1)]
    with shop.engine.transaction():
        result = append_events(shop.engine, pa.Table.from_pylist(rows))
    assert (result.stored, result.duplicates, result.suppressed) == (3, 0, 10)
    with shop.engine.transaction():
        again = append_events(shop.engine, pa.Table.from_pylist(rows))
    assert (again.stored, again.duplicates, again.suppressed) == (0, 3, 10)


def test_file_import_drops_suppressed_rows(shop: Workspace, tmp_path: Path) -> None:
    shop.privacy.suppress("a-mario-2")  # any identifier covers the whole person
    lines = tmp_path / "web.jsonl"
    lines.write_text("\n".join(json.dumps(m) for m in MARIO_AGAIN + OTHERS) + "\n")
    report = shop.import_file(lines)
    assert report.stored == 3
    table = tmp_path / "crm.csv"
    table.write_text(
        "event_id,user_id,event,ts,traits\n"
        'c1,crm-mario,purchase,2026-11-05T10:00:00Z,"{}"\n'
        'c2,u-other,purchase,2026-11-05T10:00:00Z,"{""email"": ""mario.rossi@example.it""}"\n'
        'c3,u-other2,purchase,2026-11-05T10:00:00Z,"{""email"": ""other@example.it""}"\n'
    )
    report = shop.import_file(table)
    assert report.stored == 1
    assert shop.engine.scalar("SELECT count(*) FROM events WHERE event_id LIKE 'c_'") == 1


def test_someone_never_seen_can_be_suppressed(workspace: Workspace) -> None:
    request = workspace.privacy.suppress(" New.Person@Example.it ")
    assert (request.customers, request.identifiers) == (0, 0)
    assert request.suppressions == 3  # as a user id, an anonymous id, an email
    report = workspace.append_messages(
        [
            msg("n1", 1, "identify", userId="u9", traits={"email": "new.person@example.it"}),
            msg("n2", 2, userId="New.Person@Example.it"),  # ids are exact: not the same text
            msg("n3", 3, userId=" New.Person@Example.it "),  # … this one is
            msg("n4", 4, userId="u10"),
        ],
        source="web",
    )
    assert report.stored == 2
    stored = {r["event_id"] for r in workspace.engine.rows("SELECT event_id FROM events")}
    assert stored == {"n2", "n4"}


def test_unsuppress_lifts_every_identifier_suppressed_together(shop: Workspace) -> None:
    shop.privacy.suppress("u-mario")
    with pytest.raises(NotFoundError, match="not suppressed"):
        shop.privacy.unsuppress("u-luigi")
    request = shop.privacy.unsuppress("333 123 4567")  # another of Mario's identifiers
    assert request.suppressions == 12
    report = shop.append_messages(MARIO_AGAIN, source="web")
    assert report.stored == len(MARIO_AGAIN)
    assert [r.action for r in shop.privacy.requests()] == ["suppress", "unsuppress", "unsuppress"]
    assert [r.status for r in shop.privacy.requests()] == ["done", "not_found", "done"]


def test_suppress_and_delete(shop: Workspace) -> None:
    customer_id = shop.profile("u-mario").customer_id
    request = shop.privacy.suppress_and_delete("crm-mario")
    assert (request.events_deleted, request.suppressions) == (9, 12)
    report = shop.append_messages(MARIO_AGAIN, source="web")
    assert report.stored == 0
    shop.resolve_identities(full=True)
    with pytest.raises(NotFoundError):
        shop.profile("u-mario")
    # only keyed hashes remain: no identifier, no customer id, no plain hash of the email
    assert find(shop, ["a-mario", "u-mario", "crm-mario", MARIO_EMAIL, customer_id]) == {}


def test_suppress_and_delete_someone_never_seen(workspace: Workspace) -> None:
    request = workspace.privacy.suppress_and_delete("ghost@example.it")
    assert (request.status, request.events_deleted, request.suppressions) == ("done", 0, 3)


def _mario(**extra: Any) -> dict[str, Any]:
    return {"type": "track", "event": "x", **extra}


@pytest.mark.parametrize(
    ("message", "suppressed"),
    [
        (_mario(userId="u-mario"), True),
        (_mario(anonymousId="a-mario-2"), True),
        (_mario(user_id="crm-mario"), True),
        (_mario(userId="U-MARIO"), False),  # ids are case-sensitive
        (_mario(previousId="old-mario", userId="u-x"), True),
        (_mario(anonymousId="z", traits={"email": " MARIO.ROSSI@example.it"}), True),
        (_mario(anonymousId="z", context={"traits": {"phone": "333-123-4567"}}), True),
        ({"distinct_id": "a-mario-1", "event": "$pageview"}, True),  # PostHog
        ({"distinct_id": "z", "$set": {"email": MARIO_EMAIL}}, True),
        ({"distinct_id": "z", "properties": {"$set": {"email": MARIO_EMAIL}}}, True),
        (_mario(anonymousId="z", traits={"email": "luigi.verdi@example.it"}), False),
        (_mario(userId=12345), False),
        ("not a dict", False),
    ],
)
def test_filter_checks_sdk_messages(shop: Workspace, message: Any, suppressed: bool) -> None:
    shop.privacy.suppress("u-mario")
    assert SuppressionFilter.for_workspace(shop.path).is_suppressed(message) is suppressed


def test_filter_refreshes_and_files_hold_no_identifier(shop: Workspace) -> None:
    f = SuppressionFilter.for_workspace(shop.path)
    assert len(f) == 0 and not f.is_suppressed({"userId": "u-luigi"})
    shop.privacy.suppress("u-luigi")
    f.refresh()
    assert len(f) == 5 and f.is_suppressed({"userId": "u-luigi"})  # 2 ids x 2 kinds, email
    text = (shop.path / CACHE_FILE).read_text()
    assert "luigi" not in text.lower()
    assert json.loads(text)["identifiers"] == ["email", "phone"]
    assert oct((shop.path / KEY_FILE).stat().st_mode & 0o777) == "0o600"
    assert not list(shop.path.glob(".*.tmp"))  # atomic writes leave nothing behind
    shop.privacy.unsuppress("u-luigi")
    f.refresh()
    assert len(f) == 0


def test_cache_is_rebuilt_from_the_store(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    with journeylens.create_workspace(folder) as ws:
        ws.privacy.suppress("someone@example.it")
    (folder / CACHE_FILE).unlink()
    (folder / KEY_FILE).unlink()
    assert not SuppressionFilter.for_workspace(folder).is_suppressed({"userId": "x"})
    with journeylens.open_workspace(folder):
        pass
    f = SuppressionFilter.for_workspace(folder)
    assert f.is_suppressed({"anonymousId": "a", "traits": {"email": "SOMEONE@example.it"}})
