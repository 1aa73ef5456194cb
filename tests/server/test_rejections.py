"""Every answer of the ingestion routes, with its body: 200, 400 (each kind), 401, 413, 429."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from journeylens.server import KeyStore, ServerConfig
from tests.server.conftest import Running, start_server, stop_server


def track(i: int, **extra: Any) -> dict[str, Any]:
    return {"type": "track", "event": "clicked", "userId": f"u{i}", "messageId": f"m{i}",
            "timestamp": "2026-11-20T10:00:00Z", **extra}  # fmt: skip


@pytest.fixture
def small(ws_folder: Path) -> Iterator[Running]:
    """A server with small limits, so that oversized bodies are cheap to build."""
    running = start_server(
        ws_folder,
        ServerConfig(max_body_bytes=20_000, max_event_bytes=2_000, load_interval_seconds=0.05),
    )
    yield running
    stop_server(running)


def raw(running: Running, path: str, content: bytes, **headers: str) -> httpx.Response:
    with running.client() as client:
        return client.post(path, content=content, auth=(running.write_key, ""), headers=headers)


def test_ok_is_exactly_200_with_counts(server: Running) -> None:
    response = server.post("/v1/batch", {"batch": [track(1), track(2)]})
    assert response.status_code == 200
    assert response.json() == {"success": True, "received": 2, "accepted": 2, "suppressed": 0}
    assert [r["event_id"] for r in server.events()] == ["m1", "m2"]


def test_malformed_json(server: Running) -> None:
    response = raw(server, "/v1/batch", b'{"batch": [')
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "input_invalid" and body["field"] == "body"
    assert body["message"].startswith("body: not valid JSON")


@pytest.mark.parametrize(
    ("body", "field"),
    [({"batch": {"type": "track"}}, "batch"), ([1, 2], "body"), ({"nobatch": []}, "batch")],
)
def test_body_of_the_wrong_shape(server: Running, body: Any, field: str) -> None:
    response = server.post("/v1/batch", body)
    assert response.status_code == 400
    assert response.json()["code"] == "input_invalid" and response.json()["field"] == field


@pytest.mark.parametrize(
    ("bad", "code", "field", "says"),
    [
        (
            {"type": "track", "event": "x", "messageId": "bad"},
            "record_invalid",
            "userId",
            "both missing",
        ),
        (track(9, userId={"id": 1}, messageId="bad"), "record_invalid", "userId", "expected text"),
        (
            track(9, timestamp="yesterday", messageId="bad"),
            "record_invalid",
            "timestamp",
            "ISO-8601",
        ),
        (
            track(9, type="purchase", messageId="bad"),
            "record_invalid",
            "type",
            "unknown message type",
        ),
        (track(9, event=None, messageId="bad"), "record_invalid", "event", "needs an event name"),
        (
            {"type": "group", "userId": "u", "messageId": "bad"},
            "record_invalid",
            "groupId",
            "groupId",
        ),
        (
            track(9, properties=[1], messageId="bad"),
            "record_invalid",
            "properties",
            "expected an object",
        ),
        ("not an object", "record_invalid", "(record)", "expected a JSON object"),
    ],
)
def test_each_rejected_event_is_listed_and_the_others_stored(
    server: Running, bad: Any, code: str, field: str, says: str
) -> None:
    response = server.post("/v1/batch", {"batch": [track(1), bad, track(2)]})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "events_rejected"
    assert (body["received"], body["accepted"]) == (3, 2)
    assert len(body["rejected"]) == 1
    rejected = body["rejected"][0]
    assert rejected["index"] == 1 and rejected["code"] == code and rejected["field"] == field
    assert says in rejected["message"]
    assert rejected["messageId"] == ("bad" if isinstance(bad, dict) else None)
    assert [r["event_id"] for r in server.events()] == ["m1", "m2"]


def test_oversized_event_is_rejected_alone(small: Running) -> None:
    big = track(3, properties={"blob": "x" * 3_000})
    response = small.post("/v1/batch", {"batch": [track(1), big]})
    assert response.status_code == 400
    rejected = response.json()["rejected"]
    assert [(r["index"], r["code"], r["messageId"]) for r in rejected] == [
        (1, "event_too_large", "m3")
    ]
    assert "above the limit of 2000 bytes" in rejected[0]["message"]
    assert [r["event_id"] for r in small.events()] == ["m1"]


def test_oversized_batch_is_413(small: Running) -> None:
    body = {"batch": [track(i, properties={"pad": "y" * 1_000}) for i in range(30)]}
    response = small.post("/v1/batch", body)
    assert response.status_code == 413
    assert response.json() == {
        "code": "payload_too_large",
        "message": "the body is above the limit of 20000 bytes; send smaller batches",
        "limit": 20_000,
    }
    # a small gzip body that inflates past the limit is refused the same way
    bomb = gzip.compress(orjson.dumps({"batch": [track(1, properties={"pad": "z" * 50_000})]}))
    assert len(bomb) < 20_000
    response = raw(small, "/v1/batch", bomb, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert small.events() == []


def test_gzip_and_key_in_body(server: Running) -> None:
    body = orjson.dumps({"batch": [track(1)], "writeKey": server.write_key})
    with server.client() as client:
        response = client.post(
            "/v1/batch", content=gzip.compress(body), headers={"Content-Encoding": "gzip"}
        )
    assert response.status_code == 200
    response = raw(server, "/v1/batch", b"\x1f\x8bnot gzip", **{"Content-Encoding": "gzip"})
    assert response.status_code == 400 and response.json()["field"] == "body"
    assert [r["event_id"] for r in server.events()] == ["m1"]


def test_bad_missing_and_revoked_keys_are_401(server: Running) -> None:
    response = server.post("/v1/batch", {"batch": [track(1)]}, key="jlw_not-a-key")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response.json()["message"].startswith("the write key is not valid")
    with server.client() as client:
        response = client.post("/v1/batch", json={"batch": [track(1)]})
    assert response.status_code == 401
    assert response.json()["message"].startswith("no write key was given")
    # a read token is no write key
    assert server.post("/v1/batch", {"batch": [track(1)]}, key=server.read_key).status_code == 401
    keys = KeyStore(server.folder)
    write = next(k for k in keys.list() if k.kind == "write")
    keys.revoke(write.id)
    assert server.post("/v1/batch", {"batch": [track(1)]}).status_code == 401
    assert server.events() == []


def test_overloaded_is_429_with_retry_after(ws_folder: Path) -> None:
    running = start_server(ws_folder, ServerConfig(max_inflight=0, retry_after_seconds=3))
    try:
        response = running.post("/v1/batch", {"batch": [track(1)]})
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"
        assert response.json()["code"] == "overloaded"
        assert running.events() == []
    finally:
        stop_server(running)


def test_batch_context_merged_and_single_routes(server: Running) -> None:
    body = {
        "batch": [track(1), track(2, context={"locale": "it-IT"})],
        "context": {"locale": "en-GB", "ip": "10.0.0.1"},
    }
    assert server.post("/v1/batch", body).status_code == 200
    assert (
        server.post(
            "/v1/identify", {"userId": "u3", "messageId": "m3", "traits": {"a": 1}}
        ).status_code
        == 200
    )
    assert (
        server.post("/v1/p", {"anonymousId": "a4", "messageId": "m4", "name": "Home"}).status_code
        == 200
    )
    rows = server.events("event_id, type, context::VARCHAR AS context")
    contexts = {r["event_id"]: orjson.loads(r["context"] or "{}") for r in rows}
    assert contexts["m1"] == {"locale": "en-GB", "ip": "10.0.0.1"}
    assert contexts["m2"] == {"locale": "it-IT", "ip": "10.0.0.1"}
    assert {r["event_id"]: r["type"] for r in rows} == {
        "m1": "track",
        "m2": "track",
        "m3": "identify",
        "m4": "page",
    }


def test_clock_skew_is_corrected(server: Running) -> None:
    # the client's clock is 3 hours ahead: the event happened 10 minutes before it was sent
    body = {"batch": [track(1, timestamp="2030-01-01T12:50:00Z")], "sentAt": "2030-01-01T13:00:00Z"}
    assert server.post("/v1/batch", body).status_code == 200
    row = server.events("ts, received_at, original_ts")[0]
    assert row["received_at"] - row["ts"] == timedelta(minutes=10)
    assert str(row["original_ts"]) == "2030-01-01 12:50:00"


def test_posthog_rejections_and_key(server: Running) -> None:
    with server.client() as client:
        ok = client.post("/batch/", json={"api_key": server.write_key, "batch": [
            {"event": "clicked", "distinct_id": "d1", "uuid": "p1", "timestamp": "2026-11-20"},
            {"event": "clicked", "uuid": "p2"},
        ]})  # fmt: skip
        assert ok.status_code == 400
        assert [(r["index"], r["field"]) for r in ok.json()["rejected"]] == [(1, "userId")]
        single = client.post(
            "/capture/", json={"api_key": server.write_key, "event": "x", "distinct_id": "d2"}
        )
        assert single.status_code == 200
        assert client.post("/i/v0/e/", json={"api_key": "nope", "event": "x"}).status_code == 401
    ids = [r["event_id"] for r in server.events()]
    assert len(ids) == 2 and "p1" in ids and "p2" not in ids
