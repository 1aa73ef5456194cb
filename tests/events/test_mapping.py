"""Mapping files: validation when loading, with the file and the key named exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeylens import MappingError
from journeylens.events.mapping import (
    FieldSpec,
    canonical_mapping,
    ensure_columns,
    load_mapping,
    shipped_mappings,
)

EVENTS = "events:\n  type: identify\n  timestamp: modificato\n  user_id: id\n"

CASES = [
    (
        "source: crm\nevents:\n  type: identify\n  timestamp: {format: '%d/%m/%Y'}\n"
        "  user_id: id\n",
        "crm.yaml: events.timestamp.column: required",
        "events.timestamp.column",
    ),
    (
        "source: crm\nevents:\n  type: identify\n  user_id: id\n",
        "crm.yaml: events.timestamp.column: required",
        "events.timestamp.column",
    ),
    (
        "source: crm\nevents:\n  type: identify\n  timestmp: x\n  user_id: id\n",
        "crm.yaml: events.timestmp: unknown key (did you mean timestamp? allowed: type, event, id, "
        "timestamp, user_id, anonymous_id, group_id, previous_id, revenue, cost, currency, "
        "channel, source, data_party, properties, traits, context, properties_json, traits_json, "
        "context_json)",
        "events.timestmp",
    ),
    ("kind: crm\n" + EVENTS, "crm.yaml: source: required", "source"),
    ("", "crm.yaml: source: required (the mapping file is empty)", "source"),
    ("source: [a, b]\n" + EVENTS, "crm.yaml: source: expected text, got a list", "source"),
    (
        "source: crm\nfile: {skip_rows: two}\n" + EVENTS,
        "crm.yaml: file.skip_rows: expected a whole number ≥ 0, got 'two'",
        "file.skip_rows",
    ),
    (
        "source: crm\nfile: {delimiter: ';;'}\n" + EVENTS,
        "crm.yaml: file.delimiter: ';;' must be one character (e.g. \";\" or tab)",
        "file.delimiter",
    ),
    (
        "source: crm\nfile: {encoding: cp-1252x}\n" + EVENTS,
        "crm.yaml: file.encoding: unknown encoding 'cp-1252x' (e.g. utf-8, cp1252, latin-1)",
        "file.encoding",
    ),
    (
        "source: crm\ndata_party: fist\n" + EVENTS,
        "crm.yaml: data_party: 'fist' is not one of first, second, third",
        "data_party",
    ),
    (
        "source: crm\nevents:\n  type: identify\n  timestamp: {column: t, timezone: Europe/Roma}\n"
        "  user_id: id\n",
        "crm.yaml: events.timestamp.timezone: unknown time zone 'Europe/Roma' (an IANA name such "
        "as Europe/Rome)",
        "events.timestamp.timezone",
    ),
    (
        "source: crm\nevents:\n  type: purchase\n  timestamp: t\n  user_id: id\n",
        "crm.yaml: events.type: unknown event type 'purchase' (one of track, page, screen, "
        "identify, group, alias)",
        "events.type",
    ),
    (
        "source: shop\nevents:\n  timestamp: t\n  user_id: id\n",
        "crm.yaml: events.event: required for track events (a fixed name such as purchase, or "
        "{column: ...})",
        "events.event",
    ),
    (
        "source: shop\nevents:\n  event: purchase\n  timestamp: t\n  user_id: id\n  revenue: tot\n",
        "crm.yaml: events.currency: required when revenue or cost is given (a code such as EUR, "
        "or {column: ...})",
        "events.currency",
    ),
    (
        "source: shop\nevents:\n  event: purchase\n  timestamp: t\n"
        "  user_id: {column: a, value: b}\n",
        "crm.yaml: events.user_id: give exactly one of column, value or template",
        "events.user_id",
    ),
    (
        "source: shop\nevents:\n  event: purchase\n  timestamp: t\n  user_id: a\n"
        "  id: {template: ord}\n",
        "crm.yaml: events.id.template: names no column (write columns in braces, e.g. "
        '"ord-{order_number}")',
        "events.id.template",
    ),
    (
        "source: shop\nevents:\n  event: purchase\n  timestamp: t\n",
        "crm.yaml: events.user_id: required: give user_id or anonymous_id (or both)",
        "events.user_id",
    ),
    (
        "source: shop\nevents:\n  event: x\n  timestamp: t\n  user_id: a\n"
        "  properties: {score: {column: s, type: float}}\n",
        "crm.yaml: events.properties.score.type: 'float' is not one of string, number, integer, "
        "boolean, timestamp",
        "events.properties.score.type",
    ),
    (
        "source: s\nevents:\n  event: {column: e, values: {NPS: a, nps: b}}\n  timestamp: t\n"
        "  user_id: a\n",
        "crm.yaml: events.event.values: 'nps' is listed twice (values are compared ignoring case)",
        "events.event.values",
    ),
    (
        "source: web\nfile: {format: jsonl}\nevents: {event: x}\n",
        "crm.yaml: events.event: unknown key (allowed: channel)",
        "events.event",
    ),
    (
        "source: s\nevents: [1]\n",
        "crm.yaml: events: expected a mapping of keys (type, event, id, timestamp, user_id, "
        "anonymous_id, group_id, previous_id, revenue, cost, currency, channel, source, "
        "data_party, properties, traits, context, properties_json, traits_json, context_json), "
        "got a list",
        "events",
    ),
    (
        "source: s\nevents: {type: identify, timestamp: {column: t, format: dd/mm/yyyy}, "
        "user_id: a}\n",
        "crm.yaml: events.timestamp.format: 'dd/mm/yyyy' has no % codes (e.g. \"%d/%m/%Y %H:%M\"; "
        "or iso, unix, unix_ms)",
        "events.timestamp.format",
    ),
    ("source: s\n  bad: [\n", None, None),
]


@pytest.mark.parametrize(("text", "message", "field"), CASES)
def test_invalid_mapping_names_file_and_key(
    tmp_path: Path, text: str, message: str | None, field: str | None
) -> None:
    path = tmp_path / "crm.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    if message is None:
        assert caught.value.message.startswith("crm.yaml: not valid YAML: ")
    else:
        assert caught.value.message == message
        assert caught.value.field == field
    assert caught.value.file == str(path)


def test_short_and_long_forms(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "source: shop\nevents:\n  event: purchase\n  timestamp: creato\n  user_id: cliente\n"
        "  currency: EUR\n  revenue: {column: totale}\n  channel: {column: canale}\n"
        "  properties: [colore, taglia]\n  traits: {email: {column: Email}}\n",
        encoding="utf-8",
    )
    m = load_mapping(path)
    assert m.event == FieldSpec("events.event", value="purchase")  # what: a fixed value
    assert m.user_id == FieldSpec("events.user_id", column="cliente")  # who: a column
    assert m.revenue == FieldSpec("events.revenue", column="totale")
    assert m.channel == FieldSpec("events.channel", column="canale")
    assert m.currency == FieldSpec("events.currency", value="EUR")
    assert list(m.properties) == ["colore", "taglia"]
    assert m.columns() == {
        "creato": "events.timestamp",
        "cliente": "events.user_id",
        "totale": "events.revenue",
        "canale": "events.channel",
        "colore": "events.properties.colore",
        "taglia": "events.properties.taglia",
        "Email": "events.traits.email",
    }


def test_shipped_mapping_by_name() -> None:
    names = set(shipped_mappings())
    assert {
        "crm_contacts",
        "shop_orders",
        "pos_receipts",
        "survey_answers",
        "reviews",
        "ad_interactions",
        "website",
    } <= names
    assert load_mapping("crm_contacts").file.encoding == "cp1252"
    with pytest.raises(MappingError, match="no such mapping file"):
        load_mapping("nonexistent_mapping")


def test_missing_column_suggests_a_close_name(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "source: s\nevents: {type: identify, timestamp: ts, user_id: Email}\n", encoding="utf-8"
    )
    with pytest.raises(MappingError) as caught:
        ensure_columns(load_mapping(path), ["ts", "email"], "contatti.csv")
    assert caught.value.message == (
        "m.yaml: events.user_id: column 'Email' is not in contatti.csv (its columns: ts, "
        "email); did you mean 'email'?"
    )


def test_canonical_columns_are_recognised() -> None:
    m = canonical_mapping(
        [
            "messageId",
            "type",
            "event",
            "userId",
            "timestamp",
            "revenue",
            "currency",
            "colour",
            "received_at",
        ],
        file_name="x.csv",
        source="x",
    )
    assert m.id == FieldSpec("events.id", column="messageId")
    assert m.user_id == FieldSpec("events.user_id", column="userId")
    assert m.timestamp is not None and m.timestamp.column == "timestamp"
    assert list(m.properties) == ["colour"]  # received_at is a journeylens column, not a property
    with pytest.raises(MappingError) as caught:
        canonical_mapping(["id", "user_id", "event"], file_name="x.csv", source="x")
    assert caught.value.message == (
        "x.csv: no timestamp column (ts or timestamp). Without a mapping, a file needs canonical "
        "column names (see docs/import.md: event_id, type, event, user_id, anonymous_id, ts, "
        "...); otherwise give a mapping file"
    )
