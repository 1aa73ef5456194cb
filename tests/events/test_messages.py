"""Segment-Spec messages → canonical rows (journeylens.events.messages).

Expected values are worked out by hand in the comments; the end-to-end cases read them back from
a real DuckDB workspace.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from journeylens import RecordError, Workspace
from journeylens.events.messages import (
    PURCHASE_EVENTS,
    MessageDefaults,
    message_hash_id,
    normalise_message,
    parse_timestamp,
)
from journeylens.schema import EVENT_COLUMNS, EVENT_TYPES

WEB = MessageDefaults("website")
TS = "2026-11-22T10:15:00Z"
EXAMPLE = "e.g. 2026-11-22T10:15:00Z"
TYPES = "track, page, screen, identify, group, alias"


def track(**extra: Any) -> dict[str, Any]:
    return {"type": "track", "event": "product_viewed", "userId": "u-1", "timestamp": TS, **extra}


def without(message: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k not in keys}


# -- required fields and bad values: the exact message, field and row -----------------------------

BAD: list[tuple[Any, str, str]] = [
    (without(track(), "type"), "type", f"type: missing; give one of {TYPES}"),
    (track(type="Click"), "type", f"type: unknown message type 'click'; give one of {TYPES}"),
    (without(track(), "userId"), "userId",
     "userId/anonymousId: both missing; a message needs at least one of them"),
    (track(userId="", anonymousId=None), "userId",
     "userId/anonymousId: both missing; a message needs at least one of them"),
    (without(track(), "event"), "event",
     "event: missing; a track message needs an event name (e.g. product_viewed)"),
    ({"type": "group", "userId": "u-1", "timestamp": TS}, "groupId",
     "groupId: missing; a group message needs the account's groupId"),
    ({"type": "alias", "userId": "u-1", "timestamp": TS}, "previousId",
     "previousId: missing; an alias message needs the previousId it links to userId"),
    ({"type": "alias", "anonymousId": "a-1", "previousId": "a-0", "timestamp": TS}, "userId",
     "userId: missing; an alias message links previousId to a userId"),
    (track(timestamp="22/11/2026 10:15"), "timestamp",
     f"timestamp: '22/11/2026 10:15' is not an ISO-8601 timestamp ({EXAMPLE})"),
    (track(timestamp={"at": 1}), "timestamp",
     f"timestamp: expected an ISO-8601 timestamp ({EXAMPLE}), got {{'at': 1}}"),
    (track(timestamp=1e20), "timestamp",
     f"timestamp: 1e+20 is not a usable epoch time; send ISO-8601 ({EXAMPLE})"),
    (without(track(), "timestamp"), "timestamp",
     f"timestamp: missing; say when it happened, in ISO-8601 ({EXAMPLE})"),
    (track(sentAt="yesterday"), "sentAt",
     f"sentAt: 'yesterday' is not an ISO-8601 timestamp ({EXAMPLE})"),
    (track(messageId="m" * 101), "messageId",
     "messageId: 101 characters, at most 100 allowed; shorten it, or leave it out to have an "
     "id made from the content"),
    (track(properties={"revenue": 10, "currency": "euro"}), "properties.currency",
     "properties.currency: 'euro' is not an ISO 4217 code (three letters, e.g. EUR)"),
    (track(properties={"currency": "E1R"}), "properties.currency",
     "properties.currency: 'E1R' is not an ISO 4217 code (three letters, e.g. EUR)"),
    (track(properties={"currency": 978}), "properties.currency",
     "properties.currency: 978 is not an ISO 4217 code (three letters, e.g. EUR)"),
    (track(dataParty="fourth"), "dataParty",
     "dataParty: 'fourth' is not a data party; give one of first, second, third"),
    (track(properties=[1, 2]), "properties", "properties: expected an object ({...}), got list"),
    (track(context="web"), "context", "context: expected an object ({...}), got str"),
    (track(context={"traits": "vip"}), "context.traits",
     "context.traits: expected an object ({...}), got str"),
    (track(userId={"id": 1}), "userId", "userId: expected text, got dict {'id': 1}"),
    (track(channel=["Store"]), "channel", "channel: expected text, got list ['Store']"),
    (track(properties={"revenue": "12,50"}), "properties.revenue",
     "properties.revenue: '12,50' is not a number (write 1234.56, with a dot and no separators)"),
    (track(properties={"revenue": float("nan")}), "properties.revenue",
     "properties.revenue: nan is not a finite number"),
    (track(properties={"cost": 1e15}), "properties.cost",
     "properties.cost: 1000000000000000.0 is out of range (at most 14 digits before the point)"),
    (track(properties={"revenue": [10]}), "properties.revenue",
     "properties.revenue: expected a number, got [10]"),
    (track(properties={"score": float("inf")}), "properties",
     "properties: contains NaN or Infinity, which JSON cannot hold; send null instead"),
    (["not", "an", "object"], "(record)", "expected a JSON object ({...}), got list"),
]  # fmt: skip


@pytest.mark.parametrize(("message", "field", "text"), BAD)
def test_bad_messages_are_refused_naming_row_and_field(message: Any, field: str, text: str) -> None:
    with pytest.raises(RecordError) as caught:
        normalise_message(message, WEB, row=7)
    assert str(caught.value) == text
    assert (caught.value.field, caught.value.row) == (field, 7)


def test_a_bad_data_party_of_the_source_is_refused() -> None:
    with pytest.raises(RecordError, match=r"^dataParty: 'partner' is not a data party"):
        normalise_message(track(), MessageDefaults("crm", data_party="partner"))


def test_bad_messages_are_reported_and_good_ones_stored(workspace: Workspace) -> None:
    messages = [track(messageId="ok-1"), without(track(), "event"), track(messageId="ok-2"), 42]
    report = workspace.append_messages(messages, source="website")
    assert (report.read, report.stored, report.rejected) == (4, 2, 2)
    assert [(e.row, e.field) for e in report.errors] == [(2, "event"), (4, "(record)")]
    stored = workspace.engine.rows("SELECT event_id FROM events ORDER BY 1")
    assert [r["event_id"] for r in stored] == ["ok-1", "ok-2"]


# -- names of page, screen and the other types ------------------------------------------------


def test_page_and_screen_names() -> None:
    page = normalise_message(
        {"type": "page", "name": "Rooms", "category": "Catalogue", "anonymousId": "a",
         "timestamp": TS, "properties": {"path": "/rooms"}},
        WEB,
    )  # fmt: skip
    assert page["event"] == "page_viewed"
    assert json.loads(page["properties"]) == {
        "path": "/rooms", "name": "Rooms", "category": "Catalogue",
    }  # fmt: skip
    screen = normalise_message(
        {"type": "Screen", "name": "Checkout", "anonymousId": "d", "timestamp": TS,
         "properties": {"name": "Checkout step 2"}},
        WEB,
    )  # fmt: skip
    assert (screen["type"], screen["event"]) == ("screen", "screen_viewed")
    assert json.loads(screen["properties"]) == {"name": "Checkout step 2"}  # properties win


@pytest.mark.parametrize(
    ("message", "event"),
    [
        ({"type": "identify", "userId": "u", "traits": {"email": "a@b.it"}}, "identify"),
        ({"type": "group", "userId": "u", "groupId": "acme"}, "group"),
        ({"type": "alias", "userId": "u", "previousId": "a"}, "alias"),
        ({"type": "TRACK", "userId": "u", "event": "Order Completed"}, "Order Completed"),
    ],
)
def test_event_names_of_other_types(message: dict[str, Any], event: str) -> None:
    row = normalise_message({**message, "timestamp": TS}, WEB)
    assert (row["type"], row["event"]) == (message["type"].lower(), event)


def test_traits_come_from_the_message_or_its_context() -> None:
    direct = normalise_message(
        {"type": "identify", "userId": "u", "timestamp": TS, "traits": {"plan": "gold"}}, WEB
    )
    in_context = normalise_message(track(context={"traits": {"email": "anna@example.it"}}), WEB)
    assert json.loads(direct["traits"]) == {"plan": "gold"}
    assert json.loads(in_context["traits"]) == {"email": "anna@example.it"}
    assert normalise_message(track(), WEB)["traits"] is None


# -- revenue, cost, currency ----------------------------------------------------------------------

REVENUE = [
    # Segment's Order Completed carries revenue (without shipping and tax) and total: revenue wins
    ("Order Completed", {"revenue": 100, "total": 122.5}, Decimal("100.0000")),
    ("Order Completed", {"total": 122.5}, Decimal("122.5000")),
    ("purchase", {"value": "59.9"}, Decimal("59.9000")),  # GA4's purchase has value
    ("Checkout_Completed", {"total": 10}, Decimal("10.0000")),  # case does not matter
    ("product_added", {"total": 30}, None),  # total is revenue only on a purchase
    ("subscription_renewed", {"revenue": -12.5}, Decimal("-12.5000")),  # refunds are negative
    ("purchase", {"revenue": 1.23456}, Decimal("1.2346")),  # 4 decimals, half to even
    ("purchase", {"revenue": "0.00005"}, Decimal("0.0000")),
    ("purchase", {"revenue": "0.00015"}, Decimal("0.0002")),
    ("purchase", {"revenue": ""}, None),
]


@pytest.mark.parametrize(("event", "properties", "revenue"), REVENUE)
def test_revenue(event: str, properties: dict[str, Any], revenue: Decimal | None) -> None:
    assert normalise_message(track(event=event, properties=properties), WEB)["revenue"] == revenue


def test_cost_and_currency() -> None:
    row = normalise_message(track(properties={"cost": "2.5", "currency": " eur "}), WEB)
    assert (row["cost"], row["currency"], row["revenue"]) == (Decimal("2.5000"), "EUR", None)
    assert normalise_message(track(properties={"currency": ""}), WEB)["currency"] is None


def test_amounts_are_exact_in_the_store(workspace: Workspace) -> None:
    amounts = ["0.1", "0.2", 19.99, "1234567890123.4567"]
    messages = [
        track(event="purchase", messageId=f"o{i}", properties={"revenue": a, "currency": "EUR"})
        for i, a in enumerate(amounts)
    ]
    workspace.append_messages(messages, source="shop", on_error="stop")
    # 0.1 + 0.2 + 19.99 + 1234567890123.4567 = 1234567890143.7467, exactly
    total = workspace.engine.scalar("SELECT sum(revenue) FROM events")
    assert total == Decimal("1234567890143.7467")
    assert workspace.engine.scalar("SELECT DISTINCT currency FROM events") == "EUR"


# -- time: zones, epoch numbers, clock skew ------------------------------------------------------

ZONES = [
    ("2026-11-22T10:15:00Z", datetime(2026, 11, 22, 10, 15)),
    ("2026-11-22T10:15:00z", datetime(2026, 11, 22, 10, 15)),
    ("2026-11-22T11:15:00+01:00", datetime(2026, 11, 22, 10, 15)),  # Rome in winter
    ("2026-07-01T00:30:00+02:00", datetime(2026, 6, 30, 22, 30)),  # Rome in summer: day before
    ("2026-11-22T05:15:00-05:00", datetime(2026, 11, 22, 10, 15)),  # New York
    ("2026-11-22T15:45:00+0530", datetime(2026, 11, 22, 10, 15)),  # India, no colon
    ("2026-11-22T10:15:00", datetime(2026, 11, 22, 10, 15)),  # no zone: UTC
    ("2026-11-22 10:15:00.123+00:00", datetime(2026, 11, 22, 10, 15, 0, 123000)),
    ("2026-11-22T10:15:00.123456789Z", datetime(2026, 11, 22, 10, 15, 0, 123456)),  # ns cut
    ("2026-11-22", datetime(2026, 11, 22)),
    (1_000_000_000, datetime(2001, 9, 9, 1, 46, 40)),  # epoch seconds
    (1_000_000_000_000, datetime(2001, 9, 9, 1, 46, 40)),  # epoch milliseconds (≥ 10^11)
    (1_000_000_000.5, datetime(2001, 9, 9, 1, 46, 40, 500000)),
    (datetime(2026, 11, 22, 11, 15, tzinfo=ZoneInfo("Europe/Rome")),
     datetime(2026, 11, 22, 10, 15)),
]  # fmt: skip


@pytest.mark.parametrize(("value", "utc"), ZONES)
def test_timestamps_are_stored_in_utc(value: Any, utc: datetime) -> None:
    assert parse_timestamp(value, field="timestamp") == utc


def test_utc_in_the_store(workspace: Workspace) -> None:
    workspace.append_messages(
        [track(messageId="rome", timestamp="2026-03-29T03:30:00+02:00")],  # after the DST jump
        source="website",
        on_error="stop",
    )
    assert workspace.engine.scalar("SELECT ts FROM events") == datetime(2026, 3, 29, 1, 30)


def test_clock_skew_is_corrected_with_sent_at() -> None:
    # The phone's clock is 5 minutes slow: it says the event happened at 10:00:00 and the batch
    # left at 10:00:30; the server got it at 10:05:30. Sent 30 s after it happened, so it
    # happened at 10:05:30 − 30 s = 10:05:00.
    received = datetime(2026, 11, 22, 10, 5, 30)
    row = normalise_message(
        track(timestamp="2026-11-22T10:00:00Z", sentAt="2026-11-22T10:00:30Z"),
        WEB,
        received_at=received,
    )
    assert row["ts"] == datetime(2026, 11, 22, 10, 5)
    assert row["original_ts"] == datetime(2026, 11, 22, 10, 0)
    assert row["sent_at"] == datetime(2026, 11, 22, 10, 0, 30)
    assert row["received_at"] == received


def test_clock_skew_with_zones_and_an_aware_received_at() -> None:
    # Client in Rome (+01:00) whose clock is 2 h fast: event at 13:00:00+01:00 (12:00Z), sent
    # 90 s later at 13:01:30+01:00; received at 11:01:30 Rome time (10:01:30Z).
    # ts = 10:01:30Z − 90 s = 10:00:00Z.
    row = normalise_message(
        track(timestamp="2026-11-22T13:00:00+01:00", sentAt="2026-11-22T13:01:30+01:00"),
        WEB,
        received_at=datetime(2026, 11, 22, 11, 1, 30, tzinfo=ZoneInfo("Europe/Rome")),
    )
    assert row["ts"] == datetime(2026, 11, 22, 10, 0)
    assert row["received_at"] == datetime(2026, 11, 22, 10, 1, 30)


def test_rudderstack_original_timestamp_is_the_client_time() -> None:
    # RudderStack SDKs send originalTimestamp and sentAt; 2 s between them, received at 09:00:02
    row = normalise_message(
        without(track(originalTimestamp="2026-11-22T07:00:00Z", sentAt="2026-11-22T07:00:02Z"),
                "timestamp"),
        WEB,
        received_at=datetime(2026, 11, 22, 9, 0, 2),
    )  # fmt: skip
    assert (row["ts"], row["original_ts"]) == (datetime(2026, 11, 22, 9), datetime(2026, 11, 22, 7))


def test_files_keep_timestamps_as_written() -> None:
    # A Segment export: timestamp is already corrected, originalTimestamp is the client's
    exported = track(
        timestamp="2026-11-22T10:05:00Z",
        originalTimestamp="2026-11-22T10:00:00Z",
        sentAt="2026-11-22T10:00:30Z",
        receivedAt="2026-11-22T10:05:30Z",
    )
    row = normalise_message(exported, WEB)
    assert (row["ts"], row["original_ts"]) == (
        datetime(2026, 11, 22, 10, 5), datetime(2026, 11, 22, 10, 0),
    )  # fmt: skip
    no_sent_at = normalise_message(track(), WEB, received_at=datetime(2026, 11, 23))
    assert no_sent_at["ts"] == datetime(2026, 11, 22, 10, 15)  # nothing to correct with


def test_a_message_without_timestamp_takes_the_receive_time() -> None:
    received = datetime(2026, 11, 22, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    row = normalise_message(without(track(), "timestamp"), WEB, received_at=received)
    assert (row["ts"], row["original_ts"]) == (datetime(2026, 11, 22, 11, 0), None)


def test_corrected_ts_in_the_store(workspace: Workspace) -> None:
    workspace.append_messages(
        [track(messageId="skew", timestamp="2026-11-22T10:00:00Z", sentAt="2026-11-22T10:00:30Z")],
        source="app",
        received_at=datetime(2026, 11, 22, 10, 5, 30),
        on_error="stop",
    )
    row = workspace.engine.rows("SELECT ts, original_ts, sent_at, received_at FROM events")[0]
    assert row == {
        "ts": datetime(2026, 11, 22, 10, 5),
        "original_ts": datetime(2026, 11, 22, 10, 0),
        "sent_at": datetime(2026, 11, 22, 10, 0, 30),
        "received_at": datetime(2026, 11, 22, 10, 5, 30),
    }


# -- ids: messageId and the content hash --------------------------------------------------------


def test_message_without_id_gets_a_content_hash() -> None:
    message = without(track(properties={"sku": "R-12", "price": 89}), "messageId")
    first = normalise_message(message, WEB)["event_id"]
    assert first.startswith("h-") and len(first) == 34 and int(first[2:], 16) >= 0
    reordered = dict(reversed(list(message.items())))
    assert normalise_message(reordered, WEB)["event_id"] == first  # key order does not matter
    resent = {**message, "sentAt": "2026-11-22T10:20:00Z", "receivedAt": "2026-11-22T10:20:01Z"}
    assert message_hash_id(resent) == first  # transport fields do not count
    other = {**message, "properties": {"sku": "R-12", "price": 90}}
    assert message_hash_id(other) != first
    assert normalise_message(track(messageId=12345), WEB)["event_id"] == "12345"


def test_re_sending_a_message_without_id_stores_it_once(workspace: Workspace) -> None:
    message = without(track(), "messageId")
    first = workspace.append_messages([message, message], source="website")
    again = workspace.append_messages([{**message, "sentAt": TS}], source="website")
    assert (first.stored, first.duplicates, again.stored, again.duplicates) == (1, 1, 0, 1)
    assert workspace.engine.scalar("SELECT count(*) FROM events") == 1


# -- context, source, data party, explicit channel ---------------------------------------------


def test_campaign_from_the_page_url() -> None:
    url = "https://www.hotellagoblu.it/?utm_source=Newsletter&utm_medium=email&utm_campaign=Natale+2026&utm_term=spa&UTM_CONTENT=top&utm_id=&lang=it"
    row = normalise_message(track(context={"page": {"url": url}}), WEB)
    assert json.loads(row["context"])["campaign"] == {
        "source": "Newsletter", "medium": "email", "name": "Natale 2026", "term": "spa",
        "content": "top",
    }  # fmt: skip
    tagged = {"page": {"url": url}, "campaign": {"source": "google", "medium": "cpc"}}
    kept = normalise_message(track(context=tagged), WEB)
    assert json.loads(kept["context"])["campaign"] == {"source": "google", "medium": "cpc"}


def test_a_page_fills_context_page_from_its_properties() -> None:
    properties = {"url": "https://x.it/?utm_source=fb&utm_medium=paid", "referrer": "https://a.it/"}
    page = {"type": "page", "anonymousId": "a", "timestamp": TS, "properties": properties}
    context = json.loads(normalise_message(page, WEB)["context"])
    assert context == {
        "page": properties, "campaign": {"source": "fb", "medium": "paid"},
    }  # fmt: skip
    as_track = normalise_message(track(properties=properties), WEB)
    assert as_track["context"] is None  # only a page's url is the page's


def test_source_data_party_and_channel() -> None:
    defaults = MessageDefaults("pos", data_party="first", channel="Store", import_id="imp-1")
    row = normalise_message(track(), defaults)
    assert (row["source"], row["data_party"], row["explicit_channel"], row["import_id"]) == (
        "pos", "first", "Store", "imp-1",
    )  # fmt: skip
    override = normalise_message(
        track(source="partner-crm", dataParty="Second", channel=" Phone "), defaults
    )
    assert (override["source"], override["data_party"], override["explicit_channel"]) == (
        "partner-crm", "second", "Phone",
    )  # fmt: skip
    assert normalise_message(track(channel="  "), WEB)["explicit_channel"] is None


def test_the_row_has_every_stored_column() -> None:
    row = normalise_message(track(), WEB)
    expected = {c.name for c in EVENT_COLUMNS} - {"channel"} | {"explicit_channel"}
    assert set(row) == expected


def test_events_md_documents_every_column_type_and_purchase_event() -> None:
    text = (Path(__file__).parents[2] / "docs" / "events.md").read_text(encoding="utf-8")
    for column in EVENT_COLUMNS:
        assert f"\n| `{column.name}` |" in text, column.name
    for kind in EVENT_TYPES:
        assert f"`{kind}`" in text, kind
    for name in PURCHASE_EVENTS:
        assert f"`{name}`" in text, name
