"""Segment-Spec messages → canonical event rows.

One function, :func:`normalise_message`, turns a message as the Segment, RudderStack or
journeylens JSON-lines formats write it into a canonical row (the columns of
:data:`journeylens.schema.EVENT_SCHEMA`, less ``channel``, which :mod:`journeylens.events.channels`
derives in SQL for a whole batch). File import (JSON lines) and, later, HTTP ingestion share it.

Rules (see docs/events.md):

* ``type`` is one of track, page, screen, identify, group, alias (case-insensitive).
* Every message needs ``userId`` or ``anonymousId``; ``track`` needs ``event``; ``group`` needs
  ``groupId``; ``alias`` needs ``previousId`` and ``userId``.
* ``messageId`` (at most 100 characters) is the dedupe key. A message without one gets a
  deterministic id: a hash of its content, so importing the same file again stores nothing new.
* ``timestamp`` is corrected for client clock skew when ``sentAt`` is given and the receiver
  supplies ``received_at``: ``ts = received_at − (sentAt − timestamp)`` (Segment's rule). File
  imports pass no ``received_at``: their timestamps are taken as written.
* Timestamps without a zone are read as UTC.
* ``page`` → event ``page_viewed``, ``screen`` → ``screen_viewed`` (their ``name`` goes to
  ``properties.name``); identify/group/alias use the type as event name.
* ``properties.revenue`` (or ``total``/``value`` when the event is a purchase) and
  ``properties.currency`` fill ``revenue`` and ``currency``; ``properties.cost`` fills ``cost``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from journeylens.errors import RecordError
from journeylens.schema import DATA_PARTIES, EVENT_TYPES, PAGE_EVENT, SCREEN_EVENT

__all__ = ["MessageDefaults", "normalise_message", "parse_timestamp", "message_hash_id"]

_MAX_ID = 100
_PURCHASE_EVENTS = frozenset({"purchase", "order completed", "order_completed", "checkout completed"})


@dataclass(frozen=True)
class MessageDefaults:
    """What the delivering system says about every message it delivers."""

    source: str
    data_party: str = "first"
    channel: str | None = None
    """An explicit channel for every message of this source (e.g. ``Store`` for a POS)."""
    import_id: str | None = None


def parse_timestamp(value: Any, *, field: str, row: int | None = None) -> datetime:
    """ISO-8601 text (or epoch seconds) → naive UTC datetime; a RecordError otherwise."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        parsed = datetime.fromtimestamp(value, tz=UTC)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise RecordError(
                f"{field}: {value!r} is not an ISO-8601 timestamp (e.g. 2026-11-22T10:15:00Z)",
                row=row, field=field, value=value,
            ) from None
    else:
        raise RecordError(
            f"{field}: expected an ISO-8601 timestamp, got {value!r}",
            row=row, field=field, value=value,
        )
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def message_hash_id(message: dict[str, Any]) -> str:
    """Deterministic id of a message that came without ``messageId``."""
    canonical = json.dumps(message, sort_keys=True, default=str, separators=(",", ":"))
    return "h-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _text(message: dict[str, Any], key: str, row: int | None) -> str | None:
    value = message.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecordError(
            f"{key}: expected a string, got {type(value).__name__}",
            row=row, field=key, value=value,
        )
    return str(value)


def _object(message: dict[str, Any], key: str, row: int | None) -> dict[str, Any]:
    value = message.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(
            f"{key}: expected an object, got {type(value).__name__}",
            row=row, field=key, value=value,
        )
    return value


def _money(value: Any, field: str, row: int | None) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordError(f"{field}: expected a number, got {value!r}", row=row, field=field)
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise RecordError(
            f"{field}: {value!r} is not a number", row=row, field=field, value=value
        ) from None
    if not amount.is_finite() or abs(amount) >= Decimal(10) ** 14:
        raise RecordError(f"{field}: {value!r} is out of range", row=row, field=field, value=value)
    return amount.quantize(Decimal("0.0001"))


def normalise_message(
    message: Any,
    defaults: MessageDefaults,
    *,
    row: int | None = None,
    received_at: datetime | None = None,
) -> dict[str, Any]:
    """One canonical event row (without ``channel``) from one Segment-Spec message.

    Raises :class:`RecordError` naming ``row`` and the field at fault.
    """
    if not isinstance(message, dict):
        raise RecordError(
            f"expected a JSON object, got {type(message).__name__}", row=row, field="(record)"
        )
    kind = _text(message, "type", row)
    if kind is None:
        raise RecordError("type: missing (one of " + ", ".join(EVENT_TYPES) + ")",
                          row=row, field="type")
    kind = kind.lower()
    if kind not in EVENT_TYPES:
        raise RecordError(
            f"type: unknown message type {kind!r} (one of {', '.join(EVENT_TYPES)})",
            row=row, field="type", value=kind,
        )
    user_id = _text(message, "userId", row)
    anonymous_id = _text(message, "anonymousId", row)
    if user_id is None and anonymous_id is None:
        raise RecordError("userId/anonymousId: one of them is required", row=row, field="userId")
    properties = _object(message, "properties", row)
    context = _object(message, "context", row)
    traits = _object(message, "traits", row) or _object(context, "traits", row)
    group_id = _text(message, "groupId", row)
    previous_id = _text(message, "previousId", row)
    if kind == "track":
        event = _text(message, "event", row)
        if event is None:
            raise RecordError("event: a track message needs an event name", row=row, field="event")
    elif kind == "page":
        event = PAGE_EVENT
    elif kind == "screen":
        event = SCREEN_EVENT
    else:
        event = kind
    if kind in ("page", "screen") and message.get("name") and "name" not in properties:
        properties = {**properties, "name": message["name"]}
    if kind == "group" and group_id is None:
        raise RecordError("groupId: a group message needs a groupId", row=row, field="groupId")
    if kind == "alias" and (previous_id is None or user_id is None):
        raise RecordError(
            "previousId: an alias message needs previousId and userId", row=row, field="previousId"
        )
    message_id = _text(message, "messageId", row) or message_hash_id(message)
    if len(message_id) > _MAX_ID:
        raise RecordError(
            f"messageId: longer than {_MAX_ID} characters", row=row, field="messageId"
        )
    stamp_key = "timestamp" if message.get("timestamp") is not None else "originalTimestamp"
    raw_ts = message.get(stamp_key)
    if raw_ts is None:
        if received_at is None:
            raise RecordError("timestamp: missing", row=row, field="timestamp")
        original = received_at
    else:
        original = parse_timestamp(raw_ts, field=stamp_key, row=row)
    sent_at = (
        parse_timestamp(message["sentAt"], field="sentAt", row=row)
        if message.get("sentAt") is not None else None
    )
    ts = original
    if received_at is not None and sent_at is not None:
        ts = received_at - (sent_at - original)
    revenue_key = next(
        (k for k in ("revenue", "total", "value") if properties.get(k) not in (None, "")
         and (k == "revenue" or event.lower() in _PURCHASE_EVENTS)),
        None,
    )
    revenue = _money(properties.get(revenue_key), f"properties.{revenue_key}", row) \
        if revenue_key else None
    cost = _money(properties.get("cost"), "properties.cost", row)
    currency = properties.get("currency")
    if currency is not None and not (isinstance(currency, str) and len(currency) == 3):
        raise RecordError(
            f"properties.currency: {currency!r} is not an ISO 4217 code (e.g. EUR)",
            row=row, field="properties.currency", value=currency,
        )
    party = str(message.get("dataParty") or defaults.data_party).lower()
    if party not in DATA_PARTIES:
        raise RecordError(
            f"dataParty: {party!r} is not one of {', '.join(DATA_PARTIES)}",
            row=row, field="dataParty", value=party,
        )
    return {
        "event_id": message_id,
        "type": kind,
        "event": event,
        "anonymous_id": anonymous_id,
        "user_id": user_id,
        "group_id": group_id,
        "previous_id": previous_id,
        "ts": ts,
        "original_ts": original,
        "sent_at": sent_at,
        "received_at": received_at or datetime.now(UTC).replace(tzinfo=None),
        "explicit_channel": message.get("channel") or defaults.channel,
        "source": str(message.get("source") or defaults.source),
        "data_party": party,
        "revenue": revenue,
        "cost": cost,
        "currency": currency.upper() if isinstance(currency, str) else None,
        "properties": json.dumps(properties, ensure_ascii=False, default=str),
        "traits": json.dumps(traits, ensure_ascii=False, default=str) if traits else None,
        "context": json.dumps(context, ensure_ascii=False, default=str) if context else None,
        "import_id": defaults.import_id,
    }
