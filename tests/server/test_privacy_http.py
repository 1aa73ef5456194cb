"""Privacy requests over HTTP, against events that arrived over HTTP."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import Running


def identify(i: int, user: str, email: str) -> dict[str, Any]:
    return {"type": "identify", "userId": user, "anonymousId": f"anon-{user}", "messageId": f"i{i}",
            "traits": {"email": email}, "timestamp": "2026-11-20T10:00:00Z"}  # fmt: skip


def track(i: int, **ids: str) -> dict[str, Any]:
    return {"type": "track", "event": "viewed", "messageId": f"t{i}",
            "timestamp": "2026-11-20T10:05:00Z", **ids}  # fmt: skip


def admin(
    running: Running, method: str, path: str, body: Any = None, key: str | None = None
) -> Any:
    with running.client() as client:
        headers = {"Authorization": f"Bearer {key or running.admin_key}"}
        return client.request(method, path, json=body, headers=headers)


def test_delete_then_suppress_over_http(server: Running) -> None:
    batch = [identify(1, "mario", "mario@example.it"), track(2, anonymousId="anon-mario"),
             identify(3, "anna", "anna@example.it"), track(4, userId="anna")]  # fmt: skip
    assert server.post("/v1/batch", {"batch": batch}).status_code == 200

    # a read token may query, not run privacy requests
    assert (
        admin(
            server, "POST", "/v1/privacy/export", {"identifier": "x"}, server.read_key
        ).status_code
        == 401
    )
    exported = admin(server, "POST", "/v1/privacy/export", {"identifier": "mario@example.it"})
    assert exported.status_code == 200
    assert "anon-mario" in exported.text and "anna" not in exported.text

    deleted = admin(
        server, "POST", "/v1/privacy/requests/suppress_delete", {"identifier": "MARIO@example.it"}
    )
    assert deleted.status_code == 200, deleted.text
    body = deleted.json()
    assert (body["action"], body["status"], body["events_deleted"]) == (
        "suppress_delete",
        "done",
        2,
    )
    assert "mario" not in deleted.text  # the audit holds tokens, never the identifier

    # the person's new events are answered 200 and dropped; others are stored
    again = server.post(
        "/v1/batch", {"batch": [track(5, anonymousId="anon-mario"), track(6, userId="anna")]}
    )
    assert again.status_code == 200 and again.json()["suppressed"] == 1
    assert sorted(r["event_id"] for r in server.events()) == ["i3", "t4", "t6"]
    with server.open() as ws:
        for table in ("events",):
            text = str(ws.engine.rows(f"SELECT * FROM {table}"))
            assert "mario" not in text.lower()
    assert not any(
        "mario" in p.read_bytes().decode("latin-1")
        for p in (server.folder / "journal").glob("*.seg")
    )

    unknown = admin(
        server, "POST", "/v1/privacy/requests/delete", {"identifier": "nobody@example.it"}
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    log = admin(server, "GET", "/v1/privacy/requests")
    assert [r["action"] for r in log.json()] == ["suppress_delete", "delete"]
    assert [r["status"] for r in log.json()] == ["done", "not_found"]


def test_query_api_needs_a_read_token(server: Running) -> None:
    assert server.post("/v1/batch", {"batch": [track(1, userId="u1")]}).status_code == 200
    with server.client() as client:
        assert client.get("/v1/query/summary").status_code == 401
        wrong = client.get(
            "/v1/query/summary", headers={"Authorization": f"Bearer {server.write_key}"}
        )
        assert wrong.status_code == 401
        ok = client.get("/v1/query/summary", headers={"Authorization": f"Bearer {server.read_key}"})
    assert ok.status_code == 200 and ok.json()["events"] == 1
