"""Files without a mapping: canonical column names → the mapping that imports them as is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from journeylens.errors import MappingError
from journeylens.events.mapspec import FieldSpec, Mapping, TimestampSpec

__all__ = ["CANONICAL_NAMES", "IGNORED_CANONICAL", "canonical_mapping"]

CANONICAL_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "id": ("event_id", "messageId", "message_id"),
    "type": ("type",),
    "event": ("event", "event_name"),
    "user_id": ("user_id", "userId"),
    "anonymous_id": ("anonymous_id", "anonymousId"),
    "group_id": ("group_id", "groupId"),
    "previous_id": ("previous_id", "previousId"),
    "timestamp": ("ts", "timestamp", "original_ts", "originalTimestamp"),
    "channel": ("channel",),
    "source": ("source",),
    "data_party": ("data_party", "dataParty"),
    "revenue": ("revenue",),
    "cost": ("cost",),
    "currency": ("currency",),
    "properties_json": ("properties",),
    "traits_json": ("traits",),
    "context_json": ("context",),
}
"""Column names recognised in a file imported without a mapping (first match wins)."""

IGNORED_CANONICAL: Final = (
    "received_at",
    "receivedAt",
    "sent_at",
    "sentAt",
    "import_id",
    "original_ts",
    "originalTimestamp",
    "timestamp",
    "ts",
)
"""Columns of a journeylens export that are not carried into ``properties``."""


def canonical_mapping(columns: Sequence[str], *, file_name: str, source: str) -> Mapping:
    """The mapping of a file whose columns already have canonical names.

    Other columns become properties of the same name. Raises MappingError when the file lacks
    a timestamp, an event name or both user ids.
    """
    present = set(columns)
    found: dict[str, str] = {}
    for key, names in CANONICAL_NAMES.items():
        for name in names:
            if name in present:
                found[key] = name
                break

    def fail(problem: str, key: str) -> MappingError:
        return MappingError(
            f"{file_name}: {problem}. Without a mapping, a file needs canonical column names "
            "(see docs/import.md: event_id, type, event, user_id, anonymous_id, ts, ...); "
            "otherwise give a mapping file",
            file=file_name,
            field=key,
        )

    if "timestamp" not in found:
        raise fail("no timestamp column (ts or timestamp)", "ts")
    if "user_id" not in found and "anonymous_id" not in found:
        raise fail("no user_id or anonymous_id column", "user_id")
    if "event" not in found and "type" not in found:
        raise fail("no event column", "event")

    def col(key: str) -> FieldSpec | None:
        return FieldSpec(f"events.{key}", column=found[key]) if key in found else None

    used = set(found.values()) | set(IGNORED_CANONICAL)
    properties = {
        c: FieldSpec(f"events.properties.{c}", column=c) for c in columns if c not in used
    }
    kind = col("type") or FieldSpec("events.type", value="track")
    event = col("event")
    if event is None:
        # Without an event column, only non-track types can be stored; track rows will fail.
        event = FieldSpec("events.event", value=None, column=None)
    return Mapping(
        source=source,
        name=file_name,
        path=None,
        type=kind,
        event=event if event.column else None,
        id=col("id"),
        timestamp=TimestampSpec("events.timestamp", column=found["timestamp"]),
        user_id=col("user_id"),
        anonymous_id=col("anonymous_id"),
        group_id=col("group_id"),
        previous_id=col("previous_id"),
        revenue=col("revenue"),
        cost=col("cost"),
        currency=col("currency"),
        channel=col("channel"),
        row_source=col("source"),
        row_data_party=col("data_party"),
        properties=properties,
        properties_json=found.get("properties_json"),
        traits_json=found.get("traits_json"),
        context_json=found.get("context_json"),
    )
