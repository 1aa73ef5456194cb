"""A person suppressed while their events still wait in the journal: the events are not stored
when the journal is loaded (``drop_suppressed`` in the event store catches them)."""

from __future__ import annotations

from typing import Any

from journeylens.events.journal import pending_bytes
from journeylens.server import ServerConfig
from tests.server.conftest import start_server, stop_server


def identify(mid: str, user: str, email: str) -> dict[str, Any]:
    return {"type": "identify", "userId": user, "anonymousId": f"anon-{user}", "messageId": mid,
            "traits": {"email": email}, "timestamp": "2026-11-20T10:00:00Z"}  # fmt: skip


def track(mid: str, **ids: Any) -> dict[str, Any]:
    return {"type": "track", "event": "viewed", "messageId": mid,
            "timestamp": "2026-11-20T10:05:00Z", **ids}  # fmt: skip


def test_suppressed_while_journaled_is_not_stored(ws_folder: Any) -> None:
    # the loader never runs during the test: only the openings below load the journal
    running = start_server(ws_folder, ServerConfig(load_interval_seconds=3600))
    try:
        first = [identify("i1", "mario", "mario@example.it"), identify("i2", "anna", "a@b.it")]
        assert running.post("/v1/batch", {"batch": first}).status_code == 200
        with running.open() as ws:  # loads i1, i2: mario is known with his three identifiers
            assert ws.engine.scalar("SELECT count(*) FROM events") == 2
            # while this process keeps the store, new batches wait in the journal
            batch = [
                track("t1", anonymousId="anon-mario"),  # his cookie
                track("t2", userId="mario"),  # his user id
                identify("i3", "mario-new", "MARIO@example.it"),  # his email, a new user id
                track("t3", userId="anna"),  # someone else
            ]
            answer = running.post("/v1/batch", {"batch": batch})
            assert answer.status_code == 200
            assert answer.json()["accepted"] == 4 and answer.json()["suppressed"] == 0
            journaled = pending_bytes(ws_folder)
            assert journaled > 0
            request = ws.privacy.suppress("mario@example.it")
            assert request.status == "done"
            # still journaled, not stored: the suppression came first
            assert ws.engine.scalar("SELECT count(*) FROM events") == 2
        rows = running.events("event_id, user_id, anonymous_id")
        # loading dropped his three waiting events and kept anna's; his old event stays
        # (suppression stops storing, it does not delete)
        assert [r["event_id"] for r in rows] == ["i1", "i2", "t3"]
        with running.open() as ws:
            loaded = ws.engine.rows(
                "SELECT rows_read, stored FROM imports WHERE kind = 'http' ORDER BY started_at"
            )
        assert loaded[-1] == {"rows_read": 4, "stored": 1}
        # and a new event of his is dropped at ingestion, answered 200
        again = running.post("/v1/batch", {"batch": [track("t4", userId="mario")]})
        assert again.status_code == 200 and again.json()["suppressed"] == 1
    finally:
        stop_server(running)
    assert [r["event_id"] for r in running.events()] == ["i1", "i2", "t3"]
