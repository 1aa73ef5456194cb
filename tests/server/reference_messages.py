"""The reference for tests/server/test_normalise_equivalence.py: ``normalise_message`` as it was
before the ingestion speed work (commit e306240), kept verbatim apart from this docstring.

The fast version must give the same rows and the same errors, except that JSON is written
compactly and dates that leave the calendar are RecordErrors instead of OverflowError.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from journeylens.errors import RecordError
from journeylens.schema import DATA_PARTIES, EVENT_TYPES, PAGE_EVENT, SCREEN_EVENT

__all__ = [
    "PURCHASE_EVENTS",
    "MessageDefaults",
    "message_hash_id",
    "normalise_message",
    "parse_timestamp",
]

MAX_ID_LENGTH: Final = 100
PURCHASE_EVENTS: Final = frozenset(
    {"purchase", "purchased", "order completed", "order_completed", "order placed",
     "order_placed", "checkout completed", "checkout_completed"}
)  # fmt: skip
"""Event names (compared in lower case) on which ``total`` or ``value`` count as revenue."""

_TRANSPORT_FIELDS: Final = frozenset({"sentAt", "receivedAt", "writeKey", "_metadata"})
_UTM_KEYS: Final = {
    "utm_source": "source",
    "utm_medium": "medium",
    "utm_campaign": "name",
    "utm_term": "term",
    "utm_content": "content",
    "utm_id": "id",
}
_EPOCH_MS_FROM: Final = 10**11
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_TYPES = ", ".join(EVENT_TYPES)


@dataclass(frozen=True)
class MessageDefaults:
    """What the delivering system says about every message it delivers."""

    source: str
    data_party: str = "first"
    channel: str | None = None
    """An explicit channel for every message of this source (e.g. ``Store`` for a POS)."""
    import_id: str | None = None


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def parse_timestamp(value: Any, *, field: str, row: int | None = None) -> datetime:
    """ISO-8601 text, a datetime, or epoch seconds/milliseconds → naive UTC datetime.

    >>> parse_timestamp("2026-11-22T10:15:00+01:00", field="timestamp")
    datetime.datetime(2026, 11, 22, 9, 15)

    Anything else raises :class:`RecordError` naming ``field`` and ``row``.
    """
    example = "e.g. 2026-11-22T10:15:00Z"
    if isinstance(value, datetime):
        return _naive_utc(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) >= _EPOCH_MS_FROM else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            raise RecordError(
                f"{field}: {value!r} is not a usable epoch time; send ISO-8601 ({example})",
                row=row,
                field=field,
                value=value,
            ) from None
    if not isinstance(value, str) or not value.strip():
        raise RecordError(
            f"{field}: expected an ISO-8601 timestamp ({example}), got {value!r}",
            row=row,
            field=field,
            value=value,
        )
    text = value.strip()
    if text[-1] in "Zz":
        text = text[:-1] + "+00:00"
    try:
        return _naive_utc(datetime.fromisoformat(text))
    except ValueError:
        raise RecordError(
            f"{field}: {value!r} is not an ISO-8601 timestamp ({example})",
            row=row,
            field=field,
            value=value,
        ) from None


def message_hash_id(message: dict[str, Any]) -> str:
    """Deterministic id of a message that came without ``messageId``: ``h-`` and 32 hex digits
    of the SHA-256 of its content, transport fields (``sentAt``, ``receivedAt``…) left out."""
    content = {k: v for k, v in message.items() if k not in _TRANSPORT_FIELDS}
    canonical = json.dumps(content, sort_keys=True, default=str, separators=(",", ":"))
    return "h-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _text(message: dict[str, Any], key: str, row: int | None) -> str | None:
    value = message.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecordError(
            f"{key}: expected text, got {type(value).__name__} {value!r}",
            row=row,
            field=key,
            value=value,
        )
    return str(value)


def _object(message: dict[str, Any], key: str, row: int | None, path: str = "") -> dict[str, Any]:
    value = message.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(
            f"{path}{key}: expected an object ({{...}}), got {type(value).__name__}",
            row=row,
            field=path + key,
            value=value,
        )
    return value


def _money(value: Any, field: str, row: int | None) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise RecordError(
            f"{field}: expected a number, got {value!r}", row=row, field=field, value=value
        )
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise RecordError(
            f"{field}: {value!r} is not a number (write 1234.56, with a dot and no separators)",
            row=row,
            field=field,
            value=value,
        ) from None
    if not amount.is_finite():
        raise RecordError(
            f"{field}: {value!r} is not a finite number", row=row, field=field, value=value
        )
    if abs(amount) >= Decimal(10) ** 14:
        raise RecordError(
            f"{field}: {value!r} is out of range (at most 14 digits before the point)",
            row=row,
            field=field,
            value=value,
        )
    return amount.quantize(Decimal("0.0001"))


def _json(value: dict[str, Any], field: str, row: int | None) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str, allow_nan=False)
    except ValueError:
        raise RecordError(
            f"{field}: contains NaN or Infinity, which JSON cannot hold; send null instead",
            row=row,
            field=field,
        ) from None


def _page_context(kind: str, properties: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """``context`` with ``page.url``/``page.referrer`` from a page's properties and
    ``campaign`` from the URL's ``utm_*`` parameters, where the message lacks them."""
    found = context.get("page")
    page: dict[str, Any] = found if isinstance(found, dict) else {}
    if kind == "page":
        missing = {
            k: properties[k]
            for k in ("url", "referrer")
            if not page.get(k) and isinstance(properties.get(k), str) and properties[k]
        }
        if missing:
            page = {**page, **missing}
            context = {**context, "page": page}
    url = page.get("url")
    if context.get("campaign") or not isinstance(url, str) or "utm_" not in url.lower():
        return context
    try:
        query = urlsplit(url).query
    except ValueError:
        return context
    campaign = {
        _UTM_KEYS[key.lower()]: value
        for key, value in parse_qsl(query)
        if key.lower() in _UTM_KEYS and value
    }
    return {**context, "campaign": campaign} if campaign else context


def _timestamps(
    message: dict[str, Any], row: int | None, received_at: datetime | None
) -> tuple[datetime, datetime | None, datetime | None]:
    """(ts, original_ts, sent_at) of a message; see the module docstring."""
    parsed = {
        key: parse_timestamp(message[key], field=key, row=row)
        for key in ("timestamp", "originalTimestamp", "sentAt")
        if message.get(key) is not None
    }
    client = parsed.get("originalTimestamp", parsed.get("timestamp"))
    sent_at = parsed.get("sentAt")
    if client is None:
        if received_at is None:
            raise RecordError(
                "timestamp: missing; say when it happened, in ISO-8601 (e.g. 2026-11-22T10:15:00Z)",
                row=row,
                field="timestamp",
            )
        return received_at, None, sent_at
    if received_at is not None and sent_at is not None:
        return received_at - (sent_at - client), client, sent_at
    return parsed.get("timestamp", client), client, sent_at


def normalise_message(
    message: Any,
    defaults: MessageDefaults,
    *,
    row: int | None = None,
    received_at: datetime | None = None,
) -> dict[str, Any]:
    """One canonical event row (``explicit_channel`` in place of ``channel``) from one
    Segment-Spec message.

    Raises :class:`RecordError` naming ``row`` and the field at fault.
    """
    if not isinstance(message, dict):
        raise RecordError(
            f"expected a JSON object ({{...}}), got {type(message).__name__}",
            row=row,
            field="(record)",
        )
    kind = _text(message, "type", row)
    if kind is None:
        raise RecordError(f"type: missing; give one of {_TYPES}", row=row, field="type")
    kind = kind.strip().lower()
    if kind not in EVENT_TYPES:
        raise RecordError(
            f"type: unknown message type {kind!r}; give one of {_TYPES}",
            row=row,
            field="type",
            value=kind,
        )
    user_id = _text(message, "userId", row)
    anonymous_id = _text(message, "anonymousId", row)
    if user_id is None and anonymous_id is None:
        raise RecordError(
            "userId/anonymousId: both missing; a message needs at least one of them",
            row=row,
            field="userId",
        )
    group_id = _text(message, "groupId", row)
    previous_id = _text(message, "previousId", row)
    if kind == "group" and group_id is None:
        raise RecordError(
            "groupId: missing; a group message needs the account's groupId",
            row=row,
            field="groupId",
        )
    if kind == "alias" and previous_id is None:
        raise RecordError(
            "previousId: missing; an alias message needs the previousId it links to userId",
            row=row,
            field="previousId",
        )
    if kind == "alias" and user_id is None:
        raise RecordError(
            "userId: missing; an alias message links previousId to a userId",
            row=row,
            field="userId",
        )
    if kind == "track":
        event = _text(message, "event", row)
        if event is None:
            raise RecordError(
                "event: missing; a track message needs an event name (e.g. product_viewed)",
                row=row,
                field="event",
            )
    else:
        event = {"page": PAGE_EVENT, "screen": SCREEN_EVENT}.get(kind, kind)

    message_id = _text(message, "messageId", row) or message_hash_id(message)
    if len(message_id) > MAX_ID_LENGTH:
        raise RecordError(
            f"messageId: {len(message_id)} characters, at most {MAX_ID_LENGTH} allowed; "
            "shorten it, or leave it out to have an id made from the content",
            row=row,
            field="messageId",
            value=message_id,
        )

    properties = _object(message, "properties", row)
    context = _object(message, "context", row)
    traits = _object(message, "traits", row) or _object(context, "traits", row, "context.")
    if kind in ("page", "screen"):
        named = {
            k: message[k] for k in ("name", "category") if message.get(k) and k not in properties
        }
        properties = {**properties, **named}
    context = _page_context(kind, properties, context)

    if received_at is not None:
        received_at = _naive_utc(received_at)
    ts, original_ts, sent_at = _timestamps(message, row, received_at)

    revenue_key = next(
        (
            k
            for k in ("revenue", "total", "value")
            if properties.get(k) not in (None, "")
            and (k == "revenue" or event.lower() in PURCHASE_EVENTS)
        ),
        None,
    )
    revenue = (
        _money(properties[revenue_key], f"properties.{revenue_key}", row) if revenue_key else None
    )
    cost = _money(properties.get("cost"), "properties.cost", row)
    currency = properties.get("currency")
    if currency in (None, ""):
        currency = None
    elif not (isinstance(currency, str) and _CURRENCY.fullmatch(currency.strip())):
        raise RecordError(
            f"properties.currency: {currency!r} is not an ISO 4217 code (three letters, e.g. EUR)",
            row=row,
            field="properties.currency",
            value=currency,
        )
    else:
        currency = currency.strip().upper()

    party = _text(message, "dataParty", row) or defaults.data_party
    if party.strip().lower() not in DATA_PARTIES:
        raise RecordError(
            f"dataParty: {party!r} is not a data party; give one of {', '.join(DATA_PARTIES)}",
            row=row,
            field="dataParty",
            value=party,
        )
    channel = _text(message, "channel", row) or defaults.channel
    return {
        "event_id": message_id,
        "type": kind,
        "event": event,
        "anonymous_id": anonymous_id,
        "user_id": user_id,
        "group_id": group_id,
        "previous_id": previous_id,
        "ts": ts,
        "original_ts": original_ts,
        "sent_at": sent_at,
        "received_at": received_at or datetime.now(UTC).replace(tzinfo=None),
        "explicit_channel": (channel.strip() or None) if channel else None,
        "source": _text(message, "source", row) or defaults.source,
        "data_party": party.strip().lower(),
        "revenue": revenue,
        "cost": cost,
        "currency": currency,
        "properties": _json(properties, "properties", row),
        "traits": _json(traits, "traits", row) if traits else None,
        "context": _json(context, "context", row) if context else None,
        "import_id": defaults.import_id,
    }
