"""Extreme dates: a clock-skew correction or a zone conversion that leaves the calendar is a bad
record naming ``timestamp`` (it used to escape as OverflowError, which file import and
``append_messages`` did not catch)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from journeylens import RecordError, Workspace
from journeylens.events.messages import MessageDefaults, normalise_message, parse_timestamp

WEB = MessageDefaults("website")
RECEIVED = datetime(2026, 11, 22, 10, 0)


def track(mid: str, **extra: Any) -> dict[str, Any]:
    return {"type": "track", "event": "viewed", "userId": "u-1", "messageId": mid, **extra}


# ts = received − (sentAt − timestamp): 2026 + (9999 − 1) years, or 2026 − (9999 − 1) years
SKEWED = [
    track("far-future", timestamp="9999-12-31T00:00:00Z", sentAt="0001-01-01T00:00:00Z"),
    track("far-past", timestamp="0001-01-01T00:00:00Z", sentAt="9999-12-31T00:00:00Z"),
    {**track("rudder", originalTimestamp="9000-01-01T00:00:00Z", sentAt="1000-01-01T00:00:00Z")},
]


@pytest.mark.parametrize("message", SKEWED, ids=lambda m: m["messageId"])
def test_skew_correction_out_of_the_calendar_names_timestamp(message: dict[str, Any]) -> None:
    with pytest.raises(RecordError) as caught:
        normalise_message(message, WEB, row=3, received_at=RECEIVED)
    error = caught.value
    client = "originalTimestamp" if "originalTimestamp" in message else "timestamp"
    assert (error.field, error.row, error.value) == ("timestamp", 3, message[client])
    assert error.message == (
        f"timestamp: the clock-skew correction receivedAt − (sentAt − {client}) falls outside "
        f"the years 1 to 9999 (sentAt {message['sentAt']!r}, {client} {message[client]!r}); "
        "send the times of a correctly set clock, in ISO-8601"
    )
    # without a receive time (a file) nothing is corrected, and the times are fine as written
    assert normalise_message(message, WEB)["ts"].year in (1, 9000, 9999)


def test_the_edges_of_the_calendar_are_still_accepted() -> None:
    # sent 1 s after it happened, received at the very end of year 9999: ts = 9999-12-31 23:59:58
    row = normalise_message(
        track("edge", timestamp="2026-01-01T00:00:00Z", sentAt="2026-01-01T00:00:01Z"),
        WEB,
        received_at=datetime(9999, 12, 31, 23, 59, 59),
    )
    assert row["ts"] == datetime(9999, 12, 31, 23, 59, 58)


@pytest.mark.parametrize(
    ("text", "field"),
    [("0001-01-01T00:00:00+01:00", "timestamp"), ("9999-12-31T23:30:00-01:00", "sentAt")],
)
def test_a_zone_conversion_out_of_the_calendar_names_the_field(text: str, field: str) -> None:
    # 0001-01-01 00:00 at +01:00 is 0000-12-31 23:00 in UTC: a year before the calendar starts
    with pytest.raises(RecordError) as caught:
        parse_timestamp(text, field=field, row=2)
    assert caught.value.message == (
        f"{field}: {text!r} falls outside the years 1 to 9999 in UTC; send a time of this era "
        "(e.g. 2026-11-22T10:15:00Z)"
    )
    assert (caught.value.field, caught.value.row, caught.value.value) == (field, 2, text)


def test_append_messages_reports_them_and_stores_the_rest(workspace: Workspace) -> None:
    good = track("ok", timestamp="2026-11-22T09:59:00Z", sentAt="2026-11-22T09:59:30Z")
    report = workspace.append_messages(
        [good, SKEWED[0], SKEWED[1]], source="app", received_at=RECEIVED
    )
    assert (report.read, report.stored, report.rejected) == (3, 1, 2)
    assert [(e.row, e.field) for e in report.errors] == [(2, "timestamp"), (3, "timestamp")]
    # 10:00 − 30 s = 09:59:30
    assert workspace.engine.rows("SELECT event_id, ts FROM events") == [
        {"event_id": "ok", "ts": datetime(2026, 11, 22, 9, 59, 30)}
    ]


def test_file_import_rejects_the_row_naming_timestamp(workspace: Workspace, tmp_path: Path) -> None:
    lines = [
        track("a", timestamp="2026-11-22T10:00:00Z"),
        track("b", timestamp="0001-01-01T00:00:00+01:00"),
        track("c", timestamp="2026-11-22T11:00:00Z"),
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(m) for m in lines) + b"\n")
    with pytest.raises(RecordError) as caught:
        workspace.import_file(path)
    assert caught.value.message == (
        "events.jsonl row 2, timestamp: '0001-01-01T00:00:00+01:00' falls outside the years 1 to "
        "9999 in UTC; send a time of this era (e.g. 2026-11-22T10:15:00Z)"
    )
    assert workspace.engine.scalar("SELECT count(*) FROM events") == 0
    report = workspace.import_file(path, on_error="skip")
    assert (report.stored, report.rejected) == (2, 1)
    assert [(e.row, e.field) for e in report.errors] == [(2, "timestamp")]
