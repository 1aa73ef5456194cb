"""The real Python SDKs, pointed at a real server on loopback by host only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.server.conftest import Running, start_server, stop_server

WHEN = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def _stored(running: Running) -> list[dict[str, Any]]:
    return running.events(
        "event_id, type, event, user_id, anonymous_id, group_id, previous_id, ts, channel, "
        "source, revenue, currency, traits"
    )


def _profile_ids(running: Running, key: str) -> dict[str, list[str]]:
    with running.open() as ws:
        ws.resolve_identities()
        ids: dict[str, list[str]] = ws.profile(key).to_dict()["identifiers"]
    return {k: sorted(v) for k, v in ids.items()}


def _send_segment_like(client: Any) -> None:
    client.identify(
        "u1", {"email": "Mario.Rossi@example.it"}, anonymous_id="anon-1", timestamp=WHEN
    )
    client.track(
        "u1",
        "Order Completed",
        {"revenue": 49.9, "currency": "EUR"},
        timestamp=WHEN + timedelta(minutes=5),
    )
    client.page(
        anonymous_id="anon-1",
        name="Home",
        properties={"url": "https://shop.example/?utm_source=newsletter&utm_medium=email"},
        timestamp=WHEN - timedelta(minutes=5),
    )
    client.group("u1", "acme", {"name": "ACME"}, timestamp=WHEN + timedelta(minutes=6))
    client.alias("anon-2", "u1", timestamp=WHEN + timedelta(minutes=7))
    client.flush()


def _check_segment_like(running: Running) -> None:
    rows = _stored(running)
    assert [r["type"] for r in rows] == ["page", "identify", "track", "group", "alias"]
    assert all(r["source"] == "website" for r in rows)
    page, identify, track, group, alias = rows
    # the SDK sends the explicit timestamp; the server corrects it by the (tiny) clock skew
    assert abs(identify["ts"] - WHEN.replace(tzinfo=None)) < timedelta(seconds=5)
    assert page["channel"] == "Email" and page["anonymous_id"] == "anon-1"
    assert identify["user_id"] == "u1" and "Mario.Rossi@example.it" in identify["traits"]
    assert track["event"] == "Order Completed" and float(track["revenue"]) == 49.9
    assert track["currency"] == "EUR"
    assert group["group_id"] == "acme" and alias["previous_id"] == "anon-2"
    ids = _profile_ids(running, "mario.rossi@example.it")
    assert ids["user_id"] == ["u1"]
    assert ids["anonymous_id"] == ["anon-1", "anon-2"]


def test_segment_sdk(server: Running) -> None:
    from segment.analytics import Client

    errors: list[Any] = []
    client = Client(
        server.write_key, host=server.url, on_error=lambda e, b: errors.append(e), max_retries=1
    )
    _send_segment_like(client)
    client.shutdown()
    assert errors == []
    _check_segment_like(server)


def test_segment_sdk_gzip(server: Running) -> None:
    from segment.analytics import Client

    errors: list[Any] = []
    client = Client(
        server.write_key, host=server.url, gzip=True, on_error=lambda e, b: errors.append(e)
    )
    client.track("u9", "Signed Up", timestamp=WHEN)
    client.flush()
    client.shutdown()
    assert errors == []
    assert [r["event"] for r in _stored(server)] == ["Signed Up"]


def test_rudderstack_sdk(server: Running) -> None:
    from rudderstack.analytics import Client

    errors: list[Any] = []
    client = Client(
        server.write_key, host=server.url, on_error=lambda e, b: errors.append(e), max_retries=1
    )
    _send_segment_like(client)
    client.shutdown()
    assert errors == []
    _check_segment_like(server)


def test_posthog_sdk(server: Running) -> None:
    from posthog import Posthog

    client = Posthog(
        server.write_key, host=server.url, max_retries=1, enable_exception_autocapture=False
    )
    client.capture(
        "$pageview",
        distinct_id="anon-7",
        properties={"$current_url": "https://shop.example/?utm_source=google&utm_medium=cpc"},
        timestamp=WHEN,
    )
    client.set(
        distinct_id="u7",
        properties={"email": "anna@example.it"},
        timestamp=WHEN + timedelta(minutes=1),
    )
    client.capture(
        "purchase",
        distinct_id="u7",
        properties={"revenue": 20, "currency": "EUR"},
        timestamp=WHEN + timedelta(minutes=2),
    )
    client.alias(previous_id="anon-7", distinct_id="u7", timestamp=WHEN + timedelta(minutes=3))
    client.group_identify(
        "company", "acme", {"name": "ACME"}, timestamp=WHEN + timedelta(minutes=4), distinct_id="u7"
    )
    client.flush()
    client.shutdown()
    rows = _stored(server)
    assert [r["type"] for r in rows] == ["page", "identify", "track", "alias", "group"]
    page, identify, track, alias, group = rows
    assert page["channel"] == "Paid Search" and page["user_id"] == "anon-7"
    assert json.loads(identify["traits"]) == {"email": "anna@example.it"}
    assert track["event"] == "purchase" and float(track["revenue"]) == 20
    assert (alias["previous_id"], alias["user_id"]) == ("anon-7", "u7")
    assert group["group_id"] == "acme"
    ids = _profile_ids(server, "anna@example.it")
    assert ids["user_id"] == ["anon-7", "u7"]


class FailOnce:
    """ASGI wrapper: the first ingestion request runs (and is journaled) but answers 500."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.failed = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.failed or scope["path"] not in ("/v1/batch", "/batch/"):
            await self.app(scope, receive, send)
            return
        self.failed += 1
        statuses: list[int] = []

        async def swallow(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await self.app(scope, receive, swallow)
        assert statuses == [200]
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send(
            {"type": "http.response.body", "body": b'{"code":"internal_error","message":"forced"}'}
        )


@pytest.mark.parametrize("sdk", ["segment", "rudderstack", "posthog"])
def test_forced_500_then_sdk_retry_stores_once(ws_folder: Any, sdk: str) -> None:
    wrapper: list[FailOnce] = []

    def wrap(app: Any) -> Any:
        wrapper.append(FailOnce(app))
        return wrapper[0]

    running = start_server(ws_folder, wrap=wrap)
    try:
        if sdk == "posthog":
            from posthog import Posthog

            client: Any = Posthog(
                running.write_key,
                host=running.url,
                max_retries=2,
                enable_exception_autocapture=False,
            )
            for i in range(3):
                client.capture("clicked", distinct_id=f"u{i}", timestamp=WHEN)
        else:
            module = __import__(f"{sdk}.analytics", fromlist=["Client"])
            client = module.Client(running.write_key, host=running.url, max_retries=2)
            for i in range(3):
                client.track(f"u{i}", "clicked", timestamp=WHEN)
        client.flush()
        client.shutdown()
        assert wrapper[0].failed == 1
        rows = running.events("event_id, user_id")
        assert sorted(r["user_id"] for r in rows) == ["u0", "u1", "u2"]
        with running.open() as ws:
            ledger = ws.engine.rows(
                "SELECT sum(stored) AS s, sum(duplicates) AS d FROM imports WHERE kind = 'http'"
            )[0]
        assert (ledger["s"], ledger["d"]) == (3, 3)  # the retry was journaled and deduplicated
    finally:
        stop_server(running)
