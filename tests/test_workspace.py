"""Workspace lifecycle and the event store: create, reopen, append, dedupe, atomicity, schema."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import journeylens
from journeylens import ConfigError, NotFoundError, RecordError, StorageError, Workspace
from journeylens.schema import SCHEMA_VERSION


def msg(i: int, **extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "type": "track",
        "event": "product_viewed",
        "userId": f"u{i % 3}",
        "messageId": f"m-{i}",
        "timestamp": f"2026-11-2{i % 9}T10:00:00Z",
    }
    return {**base, **extra}


def test_create_then_reopen_keeps_events_and_settings(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    with journeylens.create_workspace(folder, timezone="Europe/Rome", currency="EUR") as ws:
        assert ws.append_messages([msg(1), msg(2)], source="website").stored == 2
    with journeylens.open_workspace(folder) as ws:
        assert ws.config.timezone == "Europe/Rome"
        assert ws.summary().events == 2
        assert (folder / "events.duckdb").exists()


def test_create_refuses_existing_and_bad_settings(tmp_path: Path) -> None:
    journeylens.create_workspace(tmp_path / "ws").close()
    with pytest.raises(ConfigError, match="already holds a workspace"):
        journeylens.create_workspace(tmp_path / "ws")
    with pytest.raises(ConfigError, match="unknown IANA time zone 'Europe/Roma'"):
        journeylens.create_workspace(tmp_path / "other", timezone="Europe/Roma")


def test_open_missing_workspace_says_how_to_create(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="journeylens init"):
        journeylens.open_workspace(tmp_path / "nothing")


def test_same_message_id_is_stored_once(workspace: Workspace) -> None:
    first = workspace.append_messages([msg(1), msg(2), msg(1)], source="website")
    assert (first.read, first.stored, first.duplicates) == (3, 2, 1)
    assert first.duplicate_ids == ["m-1"]
    again = workspace.append_messages([msg(1), msg(2), msg(3)], source="website")
    assert (again.stored, again.duplicates) == (1, 2)
    assert workspace.engine.scalar("SELECT count(*) FROM events") == 3


def test_first_occurrence_of_a_repeated_id_wins(workspace: Workspace) -> None:
    workspace.append_messages([msg(1, event="first"), msg(1, event="second")], source="web")
    assert workspace.engine.scalar("SELECT event FROM events") == "first"


def test_bad_message_stop_stores_nothing(workspace: Workspace) -> None:
    with pytest.raises(RecordError) as caught:
        workspace.append_messages(
            [msg(1), {"type": "track", "userId": "u"}, msg(2)], source="web", on_error="stop"
        )
    assert caught.value.row == 2 and caught.value.field == "event"
    assert workspace.engine.scalar("SELECT count(*) FROM events") == 0


def test_bad_message_skip_keeps_the_good_ones(workspace: Workspace) -> None:
    report = workspace.append_messages(
        [msg(1), {"type": "bogus", "userId": "u"}, msg(2)], source="web", on_error="skip"
    )
    assert (report.stored, report.rejected) == (2, 1)
    assert report.errors[0].to_dict() == {
        "code": "record_invalid",
        "row": 2,
        "field": "type",
        "value": "bogus",
        "message": "type: unknown message type 'bogus'; give one of track, page, screen, "
        "identify, group, alias",
    }


def test_append_is_atomic(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure after the insert rolls the whole batch back."""
    import journeylens.workspace as module

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    real = module.append_events

    def append_then_fail(*args: object, **kwargs: object) -> object:
        real(*args, **kwargs)  # type: ignore[arg-type]
        boom()
        return None

    monkeypatch.setattr(module, "append_events", append_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        workspace.append_messages([msg(1), msg(2)], source="web")
    assert workspace.engine.scalar("SELECT count(*) FROM events") == 0
    assert workspace.engine.scalar("SELECT count(*) FROM sources") == 0


def test_money_and_sources(workspace: Workspace) -> None:
    workspace.append_messages(
        [
            msg(1, event="purchase", properties={"revenue": "19.90", "currency": "eur"}),
            msg(2, event="purchase", properties={"total": 100, "currency": "EUR"}),
        ],
        source="shop",
        data_party="first",
    )
    assert workspace.engine.scalar("SELECT sum(revenue) FROM events") == Decimal("119.9")
    [source] = workspace.sources()
    assert (source["source"], source["data_party"], source["events"]) == ("shop", "first", 2)


def test_summary_counts_by_hand(workspace: Workspace) -> None:
    workspace.append_messages(
        [
            msg(1),
            msg(2),
            {
                "type": "page",
                "anonymousId": "a1",
                "messageId": "p1",
                "timestamp": "2026-11-01T00:00:00Z",
            },
            {
                "type": "identify",
                "userId": "u1",
                "anonymousId": "a1",
                "messageId": "i1",
                "timestamp": "2026-11-02T00:00:00Z",
                "traits": {"email": "a@b.it"},
            },
        ],
        source="website",
    )
    summary = workspace.summary()
    assert (summary.events, summary.touchpoints) == (4, 3)
    assert (summary.anonymous_ids, summary.user_ids) == (1, 2)
    assert summary.by_type == {"track": 2, "identify": 1, "page": 1}
    assert summary.by_data_party == {"first": 4}


def test_schema_version_recorded_and_newer_store_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    with journeylens.create_workspace(folder) as ws:
        assert ws.engine.scalar("SELECT max(schema_version) FROM meta") == SCHEMA_VERSION
        ws.engine.execute("INSERT INTO meta VALUES (?)", [SCHEMA_VERSION + 1])
    with pytest.raises(StorageError, match="newer than this journeylens understands"):
        journeylens.open_workspace(folder)


def test_second_writer_gets_a_clear_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    folder = tmp_path / "ws"
    with journeylens.create_workspace(folder):
        code = (
            "import journeylens, sys\n"
            "try:\n"
            f"    journeylens.open_workspace({str(folder)!r})\n"
            "except journeylens.StorageError as e:\n"
            "    print(e.code); sys.exit(3)\n"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 3, done.stderr
    assert done.stdout.strip() == "storage_error"
