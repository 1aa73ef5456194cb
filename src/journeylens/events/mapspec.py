"""The parts of a column mapping, as validated data (see :mod:`journeylens.events.mapping`
for the YAML file they come from, and docs/import.md)."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any, Final, Literal

__all__ = [
    "FORMATS",
    "VALUE_TYPES",
    "FieldSpec",
    "FileOptions",
    "Mapping",
    "TimestampSpec",
    "template_parts",
]

FORMATS: Final = ("csv", "parquet", "jsonl")
VALUE_TYPES: Final = ("string", "number", "integer", "boolean", "timestamp")

ValueType = Literal["string", "number", "integer", "boolean", "timestamp"]


@dataclass(frozen=True)
class FieldSpec:
    """Where one value of the event comes from: a column, a fixed value or an id template.

    ``values`` maps what the file says (compared case-insensitively, spaces trimmed) to what is
    stored; ``default`` is used when the cell is empty or, with ``values``, not in the map.
    """

    key: str
    """Dotted mapping key (``events.traits.email``), for messages."""
    column: str | None = None
    value: Any = None
    template: str | None = None
    values: dict[str, str] | None = None
    default: str | None = None
    type: ValueType = "string"

    @property
    def columns(self) -> tuple[str, ...]:
        if self.column is not None:
            return (self.column,)
        if self.template is not None:
            return tuple(part for _, part in template_parts(self.template) if part is not None)
        return ()


@dataclass(frozen=True)
class TimestampSpec:
    key: str
    column: str
    format: tuple[str, ...] = ()
    """strptime formats tried in order; empty means ISO-8601 (or a typed timestamp column)."""
    unix: Literal["s", "ms"] | None = None
    timezone: str = "UTC"
    """Zone of local times written without an offset (Europe/Rome); offsets win."""


@dataclass(frozen=True)
class FileOptions:
    format: str | None = None
    delimiter: str = ","
    quote: str = '"'
    encoding: str = "utf-8"
    decimal: str = "."
    thousands: str | None = None
    null_values: tuple[str, ...] = ("",)
    skip_rows: int = 0


@dataclass(frozen=True)
class Mapping:
    """A validated mapping. ``events`` is None for JSON lines of Segment messages."""

    source: str
    name: str = "mapping"
    """File name of the mapping (for messages)."""
    path: str | None = None
    kind: str | None = None
    data_party: str = "first"
    description: str | None = None
    file: FileOptions = FileOptions()
    type: FieldSpec = FieldSpec("events.type", value="track")
    event: FieldSpec | None = None
    id: FieldSpec | None = None
    timestamp: TimestampSpec | None = None
    user_id: FieldSpec | None = None
    anonymous_id: FieldSpec | None = None
    group_id: FieldSpec | None = None
    previous_id: FieldSpec | None = None
    revenue: FieldSpec | None = None
    cost: FieldSpec | None = None
    currency: FieldSpec | None = None
    channel: FieldSpec | None = None
    row_source: FieldSpec | None = None
    row_data_party: FieldSpec | None = None
    properties: dict[str, FieldSpec] = field(default_factory=dict)
    traits: dict[str, FieldSpec] = field(default_factory=dict)
    context: dict[str, FieldSpec | dict[str, FieldSpec]] = field(default_factory=dict)
    properties_json: str | None = None
    traits_json: str | None = None
    context_json: str | None = None
    has_events: bool = True

    def fields(self) -> list[FieldSpec]:
        """Every field spec of the mapping, in a stable order."""
        out = [
            f
            for f in (
                self.type,
                self.event,
                self.id,
                self.user_id,
                self.anonymous_id,
                self.group_id,
                self.previous_id,
                self.revenue,
                self.cost,
                self.currency,
                self.channel,
                self.row_source,
                self.row_data_party,
            )
            if f is not None
        ]
        out += list(self.properties.values()) + list(self.traits.values())
        for value in self.context.values():
            out += list(value.values()) if isinstance(value, dict) else [value]
        return out

    def columns(self) -> dict[str, str]:
        """Every column the mapping reads → the first mapping key that names it."""
        used: dict[str, str] = {}
        if self.timestamp is not None:
            used[self.timestamp.column] = self.timestamp.key
        for spec in self.fields():
            for column in spec.columns:
                used.setdefault(column, spec.key)
        for key, json_column in (
            ("events.properties_json", self.properties_json),
            ("events.traits_json", self.traits_json),
            ("events.context_json", self.context_json),
        ):
            if json_column is not None:
                used.setdefault(json_column, key)
        return used


def template_parts(template: str) -> list[tuple[str, str | None]]:
    """``"ord-{n}"`` → ``[("ord-", "n")]``: literal text, then a column name (or None)."""
    return [(literal, name) for literal, name, _, _ in string.Formatter().parse(template)]


# -- loading -------------------------------------------------------------------------------
