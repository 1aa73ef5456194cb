"""Canonical names and types of the stored tables, in one place.

The event schema follows the Segment Spec (``messageId`` → ``event_id``, ``userId`` → ``user_id``
…) plus what journeylens adds to every touchpoint: ``channel``, ``source`` and ``data_party``.
Timestamps are UTC, stored without a zone (``TIMESTAMP``) so that every engine reads them alike;
the reporting time zone is applied when days and months are computed.

Other modules never spell a column name or type of these tables on their own: they import it
from here. ``SCHEMA_VERSION`` goes up with every change, and ``engines.migrations`` brings older
stores forward.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pyarrow as pa

__all__ = [
    "CUSTOMER_EVENT_COLUMNS",
    "DATA_PARTIES",
    "EVENT_COLUMNS",
    "EVENT_NAME_COLUMNS",
    "EVENT_SCHEMA",
    "EVENT_TYPES",
    "MONEY_SCALE",
    "PAGE_EVENT",
    "SCHEMA_VERSION",
    "SCREEN_EVENT",
    "Column",
]

SCHEMA_VERSION: Final = 1

EVENT_TYPES: Final = ("track", "page", "screen", "identify", "group", "alias")
"""Segment message types; every stored event has one of them as ``type``."""

DATA_PARTIES: Final = ("first", "second", "third")
"""Who collected the data: the brand itself, a partner, or a provider it was bought from."""

PAGE_EVENT: Final = "page_viewed"
SCREEN_EVENT: Final = "screen_viewed"
"""``page`` and ``screen`` messages are stored with these event names (their own ``name`` goes to
``properties.name``), so that every touchpoint has an event name that analyses can select on.
``identify``, ``group`` and ``alias`` messages are stored with their type as event name."""

MONEY_SCALE: Final = 4
"""Revenue and cost are DECIMAL(18, 4): exact sums, in the event's own currency."""


@dataclass(frozen=True)
class Column:
    name: str
    arrow: pa.DataType
    sql: str
    doc: str
    nullable: bool = True


_MONEY_ARROW = pa.decimal128(18, MONEY_SCALE)
_MONEY_SQL = f"DECIMAL(18, {MONEY_SCALE})"

EVENT_COLUMNS: Final[tuple[Column, ...]] = (
    Column("event_id", pa.string(), "VARCHAR", "messageId: the dedupe key", nullable=False),
    Column("type", pa.string(), "VARCHAR", "Segment message type", nullable=False),
    Column("event", pa.string(), "VARCHAR", "event (touchpoint) name", nullable=False),
    Column("anonymous_id", pa.string(), "VARCHAR", "anonymousId (cookie, device)"),
    Column("user_id", pa.string(), "VARCHAR", "userId given by the brand's systems"),
    Column("group_id", pa.string(), "VARCHAR", "groupId: the account (B2B)"),
    Column("previous_id", pa.string(), "VARCHAR", "previousId of an alias"),
    Column(
        "ts",
        pa.timestamp("us"),
        "TIMESTAMP",
        "when it happened, UTC, skew-corrected",
        nullable=False,
    ),
    Column("original_ts", pa.timestamp("us"), "TIMESTAMP", "timestamp as the client sent it"),
    Column("sent_at", pa.timestamp("us"), "TIMESTAMP", "sentAt, as the client sent it"),
    Column(
        "received_at",
        pa.timestamp("us"),
        "TIMESTAMP",
        "when journeylens received it",
        nullable=False,
    ),
    Column(
        "channel",
        pa.string(),
        "VARCHAR",
        "marketing channel (see docs/channels.md)",
        nullable=False,
    ),
    Column("source", pa.string(), "VARCHAR", "system that delivered the event", nullable=False),
    Column("data_party", pa.string(), "VARCHAR", "first, second or third", nullable=False),
    Column("revenue", _MONEY_ARROW, _MONEY_SQL, "revenue of the event, in `currency`"),
    Column("cost", _MONEY_ARROW, _MONEY_SQL, "cost (ad spend) of the event, in `currency`"),
    Column("currency", pa.string(), "VARCHAR", "ISO 4217 code of revenue and cost"),
    Column("properties", pa.string(), "JSON", "properties of track/page/screen, as JSON"),
    Column("traits", pa.string(), "JSON", "traits of identify/group (and context.traits)"),
    Column("context", pa.string(), "JSON", "Segment context, as JSON"),
    Column("import_id", pa.string(), "VARCHAR", "the import or ingestion batch that stored it"),
)

EVENT_SCHEMA: Final = pa.schema(
    [pa.field(c.name, c.arrow, nullable=c.nullable) for c in EVENT_COLUMNS]
)
"""Arrow schema of a batch of canonical events, as the store's ``append`` takes it."""

_EVENT = {c.name: c for c in EVENT_COLUMNS}

CUSTOMER_EVENT_COLUMNS: Final[tuple[Column, ...]] = (
    Column(
        "customer_id", pa.string(), "VARCHAR", "the customer (see docs/identity.md)", nullable=False
    ),
    _EVENT["ts"],
    Column(
        "seq", pa.int64(), "BIGINT", "1, 2, … per customer in (ts, event_id) order", nullable=False
    ),
    *(_EVENT[n] for n in ("event_id", "type", "event")),
    Column(
        "event_code", pa.int32(), "INTEGER", "the event name's code in event_names", nullable=False
    ),
    *(
        _EVENT[n]
        for n in (
            "channel",
            "source",
            "data_party",
            "revenue",
            "cost",
            "currency",
            "group_id",
            "properties",
        )
    ),
    Column(
        "customer_key",
        pa.int64(),
        "BIGINT",
        "customer_id as an integer (its 16 hex digits, minus 2^63): same order, faster to "
        "join and group by",
    ),
)
"""``customer_events``: the events with their customer, clustered by (customer_id, ts, event_id).
Written by identity resolution; funnels, paths and attribution scan it."""

EVENT_NAME_COLUMNS: Final[tuple[Column, ...]] = (
    Column("event_code", pa.int32(), "INTEGER", "dictionary code", nullable=False),
    Column("event", pa.string(), "VARCHAR", "event name", nullable=False),
)
"""``event_names``: the dictionary of ``customer_events.event_code``."""
