"""Segment-Spec messages → canonical event rows.

One function, :func:`normalise_message`, turns a message as the Segment, RudderStack or
journeylens JSON-lines formats write it into a canonical row (the columns of
:data:`journeylens.schema.EVENT_SCHEMA`, with ``explicit_channel`` in place of ``channel``, which
:mod:`journeylens.events.channels` derives in SQL for a whole batch). File import (JSON lines)
and HTTP ingestion share it. docs/events.md says the same in plain words, with examples.

Rules:

* ``type`` is one of track, page, screen, identify, group, alias (case-insensitive).
* Every message needs ``userId`` or ``anonymousId``; ``track`` needs ``event``; ``group`` needs
  ``groupId``; ``alias`` needs ``previousId`` and ``userId``. Ids are text (numbers are
  accepted and stored as text).
* ``messageId`` (at most 100 characters) is the dedupe key. A message without one gets a
  deterministic id, ``h-`` and a hash of its content without the transport fields (``sentAt``,
  ``receivedAt``, ``writeKey``, ``_metadata``): sending or importing it again stores nothing new.
* When it happened: the client's time is ``originalTimestamp`` (RudderStack) or ``timestamp``.
  When the receiver supplies ``received_at`` and the message has ``sentAt``, the client clock is
  corrected: ``ts = received_at − (sentAt − client time)`` (Segment's rule). Otherwise ``ts`` is
  ``timestamp`` (or ``originalTimestamp``) as written; a message with neither takes
  ``received_at``, and without ``received_at`` (a file) it is refused.
* A corrected time outside the calendar (years 1 to 9999), from absurd ``sentAt`` or client
  times, is refused naming ``timestamp``.
* Timestamps are ISO-8601; an offset (``+01:00``, ``Z``) is converted to UTC, a timestamp
  without one is read as UTC. Numbers are epoch seconds, or milliseconds from 10^11 on.
  Everything is stored in UTC without a zone.
* ``page`` → event ``page_viewed``, ``screen`` → ``screen_viewed``; their ``name`` and
  ``category`` go to ``properties.name``/``properties.category``. identify/group/alias use the
  type as event name.
* A page's ``properties.url``/``referrer`` fill ``context.page`` where it lacks them, and the
  ``utm_*`` parameters of ``context.page.url`` fill ``context.campaign`` when the message has
  none (as analytics.js does in the browser), so that channels come out the same for messages
  from browsers, servers and files.
* ``properties.revenue`` (or, on a purchase event, ``total`` or ``value``) fills ``revenue``;
  ``properties.cost`` fills ``cost``; ``properties.currency`` (three letters) fills ``currency``.
* ``dataParty`` (``first``, ``second``, ``third``) overrides the source's data party; ``channel``
  gives an explicit channel; ``source`` overrides the delivering source's name.
* ``properties``, ``traits`` and ``context`` are stored as compact JSON text (no spaces after
  ``,`` and ``:``); values JSON has no type for are written as their ``str()``; NaN and Infinity
  are refused.

This runs once per event of every HTTP request, so the common case is kept cheap: ISO times and
the campaign of a page URL are cached per distinct text, JSON is written by orjson, and the
checks that only matter for unusual values run only when such values occur.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import orjson

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
_URL_UNUSUAL = re.compile(r"[\t\r\n\[\]]")
"""What makes ``urlsplit`` clean a URL (tabs, line breaks) or check it (IPv6 brackets)."""
_EPOCH_MS_FROM: Final = 10**11
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_PLAIN_ISO = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,6})?", re.ASCII)
"""Date and time without zone, to the microsecond: read as UTC as it is written."""
_TYPES = ", ".join(EVENT_TYPES)
_KINDS: Final = frozenset(EVENT_TYPES)
_EVENT_OF_KIND: Final = {"page": PAGE_EVENT, "screen": SCREEN_EVENT}
_PARTIES: Final = frozenset(DATA_PARTIES)
_REVENUE_KEYS: Final = ("revenue", "total", "value")


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
    if value.__class__ is str:
        parsed = _parse_iso(value)
        if parsed is not None:
            return parsed
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
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is in year 0 in UTC
        raise RecordError(
            f"{field}: {value!r} falls outside the years 1 to 9999 in UTC; send a time of "
            f"this era ({example})",
            row=row,
            field=field,
            value=value,
        ) from None
    except ValueError:
        raise RecordError(
            f"{field}: {value!r} is not an ISO-8601 timestamp ({example})",
            row=row,
            field=field,
            value=value,
        ) from None


@functools.lru_cache(maxsize=4096)
def _parse_iso(value: str) -> datetime | None:
    """``value`` as a naive UTC datetime, ``None`` when it is no ISO-8601 timestamp (then
    :func:`parse_timestamp` says why). Cached: a batch's ``sentAt`` repeats in every message."""
    text = value.strip()
    if not text:
        return None
    # the common shape in UTC (…Z, …+00:00): read without the zone, which is much cheaper
    plain = text[:-1] if text[-1] in "Zz" else text[:-6] if text.endswith("+00:00") else None
    try:
        if plain is not None and _PLAIN_ISO.fullmatch(plain):
            return datetime.fromisoformat(plain)
        if text[-1] in "Zz":
            text = text[:-1] + "+00:00"
        return _naive_utc(datetime.fromisoformat(text))
    except (ValueError, OverflowError):
        return None


def message_hash_id(message: dict[str, Any]) -> str:
    """Deterministic id of a message that came without ``messageId``: ``h-`` and 32 hex digits
    of the SHA-256 of its content, transport fields (``sentAt``, ``receivedAt``…) left out."""
    content = {k: v for k, v in message.items() if k not in _TRANSPORT_FIELDS}
    canonical = json.dumps(content, sort_keys=True, default=str, separators=(",", ":"))
    return "h-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _text(message: dict[str, Any], key: str, row: int | None) -> str | None:
    value = message.get(key)
    if value.__class__ is str:
        return value or None
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
    if value.__class__ is dict:
        return value
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


def _json_default(value: Any) -> Any:
    """What orjson writes for a value it has no JSON type for: a float subclass (NumPy's
    float64) as the number, anything else as its ``str()`` (as ``json.dumps(default=str)``)."""
    if isinstance(value, float):
        return float(value)
    return str(value)


_ORJSON_OPTIONS: Final = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _json(value: dict[str, Any], field: str, row: int | None, nan_free: bool = False) -> str:
    try:
        data = orjson.dumps(value, default=_json_default, option=_ORJSON_OPTIONS)
    except TypeError:  # ints beyond 64 bits, keys that are not text, lone surrogates, cycles
        return _json_strict(value, field, row)
    if not nan_free and b"null" in data:
        _json_strict(value, field, row)  # orjson writes NaN and Infinity as null: judge
    return data.decode()


_STRICT: Final = json.JSONEncoder(
    ensure_ascii=False, default=str, allow_nan=False, separators=(",", ":")
)
"""The standard library's encoder, which refuses NaN and Infinity (built once: it is called for
every event whose JSON has a null in it)."""


def _json_strict(value: dict[str, Any], field: str, row: int | None) -> str:
    try:
        return _STRICT.encode(value)
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
    campaign = _campaign(url)
    return {**context, "campaign": dict(campaign)} if campaign else context


@functools.lru_cache(maxsize=4096)
def _campaign(url: str) -> tuple[tuple[str, str], ...]:
    """The ``utm_*`` parameters of ``url`` as campaign fields (cached: landing URLs repeat)."""
    if url.isascii() and not _URL_UNUSUAL.search(url):
        # what urlsplit(url).query is for a URL that it neither cleans nor refuses
        query = url.partition("#")[0].partition("?")[2]
    else:
        try:
            query = urlsplit(url).query
        except ValueError:
            return ()
    if "%" in query or "+" in query:
        pairs = parse_qsl(query)
    else:  # nothing to decode: parse_qsl's split, without its decoding
        pairs = [
            (key, value)
            for key, _, value in (p.partition("=") for p in query.split("&") if "=" in p)
        ]
    found = {
        _UTM_KEYS[key.lower()]: value for key, value in pairs if key.lower() in _UTM_KEYS and value
    }
    return tuple(found.items())


def _timestamps(
    message: dict[str, Any], row: int | None, received_at: datetime | None
) -> tuple[datetime, datetime | None, datetime | None]:
    """(ts, original_ts, sent_at) of a message; see the module docstring."""
    get = message.get
    written = get("timestamp")
    timestamp = None if written is None else parse_timestamp(written, field="timestamp", row=row)
    original = get("originalTimestamp")
    if original is not None:
        original = parse_timestamp(original, field="originalTimestamp", row=row)
    sent_at = get("sentAt")
    if sent_at is not None:
        sent_at = parse_timestamp(sent_at, field="sentAt", row=row)
    client = original if original is not None else timestamp
    if client is None:
        if received_at is None:
            raise RecordError(
                "timestamp: missing; say when it happened, in ISO-8601 (e.g. 2026-11-22T10:15:00Z)",
                row=row,
                field="timestamp",
            )
        return received_at, None, sent_at
    if received_at is not None and sent_at is not None:
        try:
            return received_at - (sent_at - client), client, sent_at
        except OverflowError:
            client_key = "originalTimestamp" if original is not None else "timestamp"
            raise RecordError(
                f"timestamp: the clock-skew correction receivedAt − (sentAt − {client_key}) "
                f"falls outside the years 1 to 9999 (sentAt {get('sentAt')!r}, {client_key} "
                f"{get(client_key)!r}); send the times of a correctly set clock, in ISO-8601",
                row=row,
                field="timestamp",
                value=get(client_key),
            ) from None
    return timestamp if timestamp is not None else client, client, sent_at


def normalise_message(
    message: Any,
    defaults: MessageDefaults,
    *,
    row: int | None = None,
    received_at: datetime | None = None,
    nan_free: bool = False,
) -> dict[str, Any]:
    """One canonical event row (``explicit_channel`` in place of ``channel``) from one
    Segment-Spec message.

    ``nan_free``: the message was decoded from JSON text by a parser that refuses NaN and
    Infinity (orjson, as the HTTP server does), so the check for them is skipped.

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
    if kind not in _KINDS:
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
        event = _EVENT_OF_KIND.get(kind, kind)

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

    revenue_key = None
    for key in _REVENUE_KEYS:
        if properties.get(key) not in (None, "") and (
            key == "revenue" or event.lower() in PURCHASE_EVENTS
        ):
            revenue_key = key
            break
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
    if party not in _PARTIES and party.strip().lower() not in _PARTIES:
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
        "properties": _json(properties, "properties", row, nan_free),
        "traits": _json(traits, "traits", row, nan_free) if traits else None,
        "context": _json(context, "context", row, nan_free) if context else None,
        "import_id": defaults.import_id,
    }
