"""Blocks of generated events, and their assembly into one canonical Arrow table per batch.

Generators return :class:`Block` objects: NumPy codes for the small columns (event, source,
channel, currency), Arrow strings for ids and JSON. :func:`assemble` concatenates them, sorts by
(person, time), keeps the window, numbers the events and decodes the codes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeylens.demo.catalogue import EVENT_INDEX, EVENTS, SOURCE_INDEX, SOURCES
from journeylens.demo.columns import concat, decimal_money, int_text, take
from journeylens.events.channels import CHANNELS
from journeylens.schema import EVENT_SCHEMA

__all__ = [
    "CHANNEL_INDEX",
    "CURRENCIES",
    "Attempts",
    "Block",
    "Conversions",
    "assemble",
    "block",
]

CHANNEL_INDEX = {name: i for i, name in enumerate(CHANNELS)}
CURRENCIES = ("", "EUR", "CHF", "USD")
EUR = 1
_EVENT_NAMES = pa.array([e.name for e in EVENTS])
_EVENT_TYPES = pa.array([e.type for e in EVENTS])
_SOURCE_NAMES = pa.array([s.name for s in SOURCES])
_SOURCE_PARTIES = pa.array([s.data_party for s in SOURCES])
_CHANNEL_NAMES = pa.array(list(CHANNELS))
_CURRENCY_NAMES = pa.array([c or None for c in CURRENCIES])


@dataclass
class Block:
    """Events of one kind of generator; every array has the same length."""

    person: np.ndarray
    ts: np.ndarray
    event: np.ndarray
    source: np.ndarray
    channel: np.ndarray
    """The designed channel (what the default grouping makes of the context), as a code."""
    explicit: np.ndarray
    """The channel is sent explicitly (offline touchpoints) rather than derived."""
    properties: pa.Array
    context: pa.Array | None = None
    traits: pa.Array | None = None
    anonymous_id: pa.Array | None = None
    user_id: pa.Array | None = None
    group_id: pa.Array | None = None
    previous_id: pa.Array | None = None
    revenue: np.ndarray | None = None
    """Ten-thousandths of the currency; -1 where absent."""
    cost: np.ndarray | None = None
    currency: np.ndarray | None = None
    """Code into CURRENCIES of ``properties.currency`` (0 where the properties have none)."""

    def __len__(self) -> int:
        return len(self.ts)


@dataclass
class Conversions:
    """Purchases and bookings of the batch, wherever they happened."""

    person: np.ndarray
    intent: np.ndarray
    ts: np.ndarray
    mode: np.ndarray
    error: np.ndarray
    """The payment failed at least once before it succeeded."""

    def __len__(self) -> int:
        return len(self.person)


@dataclass
class Attempts:
    """Checkout results on the website and the app (successes and errors)."""

    person: np.ndarray
    intent: np.ndarray
    ts: np.ndarray
    device: np.ndarray
    error: np.ndarray


def block(
    person: np.ndarray,
    ts: np.ndarray,
    event: str | np.ndarray,
    source: str | np.ndarray,
    channel: str | np.ndarray,
    properties: pa.Array,
    *,
    explicit: bool | np.ndarray = False,
    **columns: object,
) -> Block:
    """A Block, with names accepted for constant event, source and channel."""
    n = len(ts)

    def codes(value: str | np.ndarray, index: dict[str, int], dtype: type) -> np.ndarray:
        if isinstance(value, str):
            return np.full(n, index[value], dtype=dtype)
        return value.astype(dtype, copy=False)

    explicit_array = np.full(n, explicit) if isinstance(explicit, bool) else explicit
    return Block(
        person=person.astype(np.int64, copy=False),
        ts=ts.astype(np.int64, copy=False),
        event=codes(event, EVENT_INDEX, np.int16),
        source=codes(source, SOURCE_INDEX, np.int8),
        channel=codes(channel, CHANNEL_INDEX, np.int8),
        explicit=explicit_array,
        properties=properties,
        **columns,  # type: ignore[arg-type]
    )


def _strings(blocks: list[Block], name: str) -> pa.Array:
    parts = []
    for b in blocks:
        value = getattr(b, name)
        parts.append(pa.nulls(len(b), pa.string()) if value is None else value)
    return pa.concat_arrays(parts)


def _numbers(blocks: list[Block], name: str, fill: int) -> np.ndarray:
    return np.concatenate(
        [
            np.full(len(b), fill, dtype=np.int64)
            if getattr(b, name) is None
            else getattr(b, name).astype(np.int64, copy=False)
            for b in blocks
        ]
    )


def assemble(
    blocks: list[Block],
    *,
    start_us: int,
    end_us: int,
    id_prefix: str,
    first_number: int,
    import_id: str,
    rng: np.random.Generator,
    designed_channel: bool = False,
) -> tuple[pa.Table, np.ndarray]:
    """One canonical table (``explicit_channel`` staged, or ``channel`` when designed) from the
    blocks; also returns the batch-local person of each row."""
    blocks = [b for b in blocks if len(b)]
    person = np.concatenate([b.person for b in blocks])
    ts = np.concatenate([b.ts for b in blocks])
    keep = (ts >= start_us) & (ts < end_us)
    order = np.lexsort((ts, person))
    order = order[keep[order]]
    take_index = pa.array(order)
    n = len(order)

    def pick(array: pa.Array) -> pa.Array:
        return array.take(take_index)

    event = np.concatenate([b.event for b in blocks])[order]
    source = np.concatenate([b.source for b in blocks])[order]
    channel = np.concatenate([b.channel for b in blocks])[order]
    explicit = np.concatenate([b.explicit for b in blocks])[order]
    revenue = _numbers(blocks, "revenue", -1)[order]
    cost = _numbers(blocks, "cost", -1)[order]
    currency = _numbers(blocks, "currency", 0)[order]
    ts = ts[order]
    currency = np.where(((revenue >= 0) | (cost >= 0)) & (currency == 0), EUR, currency)
    delay = rng.integers(80_000, 2_500_000, n)
    stamps = pa.array(ts, pa.timestamp("us"))
    channel_names = take(_CHANNEL_NAMES, channel)
    columns: dict[str, pa.Array] = {
        "event_id": concat(id_prefix, int_text(np.arange(first_number, first_number + n))),
        "type": take(_EVENT_TYPES, event),
        "event": take(_EVENT_NAMES, event),
        "anonymous_id": pick(_strings(blocks, "anonymous_id")),
        "user_id": pick(_strings(blocks, "user_id")),
        "group_id": pick(_strings(blocks, "group_id")),
        "previous_id": pick(_strings(blocks, "previous_id")),
        "ts": stamps,
        "original_ts": stamps,
        "sent_at": stamps,
        "received_at": pa.array(ts + delay, pa.timestamp("us")),
        "channel": channel_names
        if designed_channel
        else pc.if_else(pa.array(explicit), channel_names, pa.scalar(None, pa.string())),
        "source": take(_SOURCE_NAMES, source),
        "data_party": take(_SOURCE_PARTIES, source),
        "revenue": decimal_money(np.maximum(revenue, 0), revenue >= 0),
        "cost": decimal_money(np.maximum(cost, 0), cost >= 0),
        "currency": take(_CURRENCY_NAMES, currency),
        "properties": pick(_strings(blocks, "properties")),
        "traits": pick(_strings(blocks, "traits")),
        "context": pick(_strings(blocks, "context")),
        "import_id": pc.fill_null(pa.nulls(n, pa.string()), import_id),
    }
    names = list(EVENT_SCHEMA.names)
    schema = EVENT_SCHEMA
    if not designed_channel:
        schema = pa.schema(
            [
                pa.field("explicit_channel", pa.string()) if f.name == "channel" else f
                for f in EVENT_SCHEMA
            ]
        )
        columns["explicit_channel"] = columns.pop("channel")
        names = schema.names
    table = pa.Table.from_arrays([columns[c] for c in names], schema=schema)
    return table, person[order]
