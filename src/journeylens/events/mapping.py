"""Column-mapping files: how the rows of a tabular export become canonical events.

A mapping is a small YAML file that a marketing analyst can read and write (docs/import.md
describes every key, with examples)::

    source: shop                    # the system that delivered the file
    kind: ecommerce
    data_party: first
    file: {delimiter: ";", encoding: cp1252, decimal: ","}
    events:
      type: track                   # fixed value, or {column: ..., values: {...}}
      event: purchase
      id: {template: "ord-{numero_ordine}"}
      timestamp: {column: data_ordine, format: "%d/%m/%Y %H:%M", timezone: Europe/Rome}
      user_id: codice_cliente
      revenue: totale
      currency: EUR
      properties: {order_id: numero_ordine}

:func:`load_mapping` reads and validates a file; every problem is a :class:`MappingError` that
names the file and the key (``crm.yaml: events.timestamp.column: required``).
:func:`canonical_mapping` builds the mapping used for a file imported without one, whose columns
already have canonical names.

Two kinds of keys take a plain value differently: ``type``, ``event``, ``channel``, ``currency``
and ``data_party`` name *what* (a plain value is that fixed value); every other field names a
*column* (a plain value is the column's name). The long form ``{column: ...}`` or
``{value: ...}`` is accepted everywhere.
"""

from __future__ import annotations

import codecs
import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from journeylens.errors import MappingError
from journeylens.events.canonical import CANONICAL_NAMES, canonical_mapping
from journeylens.events.mapspec import (
    FORMATS,
    VALUE_TYPES,
    FieldSpec,
    FileOptions,
    Mapping,
    TimestampSpec,
    template_parts,
)
from journeylens.schema import DATA_PARTIES, EVENT_TYPES

__all__ = [
    "CANONICAL_NAMES",
    "FORMATS",
    "FieldSpec",
    "FileOptions",
    "Mapping",
    "TimestampSpec",
    "canonical_mapping",
    "ensure_columns",
    "load_mapping",
    "parse_mapping",
    "shipped_mappings",
]


def shipped_mappings() -> dict[str, Path]:
    """The example mapping files shipped in the package, by name (file stem)."""
    folder = Path(__file__).resolve().parent.parent / "mappings"
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping file (or the shipped example of that name)."""
    file = Path(path)
    if not file.exists():
        shipped = shipped_mappings()
        if str(path) in shipped:
            file = shipped[str(path)]
        else:
            raise MappingError(
                f"{file}: no such mapping file (shipped examples: {', '.join(shipped)})",
                file=str(file),
            )
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MappingError(f"{file.name}: not valid YAML: {exc}", file=str(file)) from exc
    except UnicodeDecodeError as exc:
        raise MappingError(
            f"{file.name}: a mapping file must be UTF-8 text ({exc.reason})", file=str(file)
        ) from exc
    return parse_mapping(raw, name=file.name, path=str(file))


_TOP_KEYS: Final = ("source", "kind", "data_party", "description", "file", "events")
_FILE_KEYS: Final = (
    "format",
    "delimiter",
    "quote",
    "encoding",
    "decimal",
    "thousands",
    "null_values",
    "skip_rows",
)
_EVENT_KEYS: Final = (
    "type",
    "event",
    "id",
    "timestamp",
    "user_id",
    "anonymous_id",
    "group_id",
    "previous_id",
    "revenue",
    "cost",
    "currency",
    "channel",
    "source",
    "data_party",
    "properties",
    "traits",
    "context",
    "properties_json",
    "traits_json",
    "context_json",
)
_SPEC_KEYS: Final = ("column", "value", "template", "values", "default", "type")
_TS_KEYS: Final = ("column", "format", "timezone")


class _Reader:
    """Walks the parsed YAML, raising MappingError("<file>: <key>: <problem>")."""

    def __init__(self, name: str, path: str | None) -> None:
        self.name = name
        self.path = path

    def fail(self, key: str, problem: str, allowed: Sequence[str] | None = None) -> MappingError:
        return MappingError(
            f"{self.name}: {key}: {problem}",
            file=self.path or self.name,
            field=key,
            allowed=allowed,
        )

    def obj(self, value: Any, key: str, allowed: Sequence[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(
                key,
                f"expected a mapping of keys ({', '.join(allowed)}), got {_kind(value)}",
                allowed,
            )
        for name in value:
            if name not in allowed:
                close = difflib.get_close_matches(str(name), allowed, n=1)
                hint = f"did you mean {close[0]}? " if close else ""
                raise self.fail(
                    f"{key}.{name}" if key else str(name),
                    f"unknown key ({hint}allowed: {', '.join(allowed)})",
                    allowed,
                )
        return value

    def text(self, value: Any, key: str, *, required: bool = False) -> str | None:
        if value is None:
            if required:
                raise self.fail(key, "required")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(key, f"expected text, got {_kind(value)}")
        text = str(value)
        if not text.strip():
            raise self.fail(key, "must not be empty")
        return text

    def choice(self, value: Any, key: str, allowed: Sequence[str], default: str) -> str:
        text = self.text(value, key)
        if text is None:
            return default
        if text not in allowed:
            raise self.fail(key, f"{text!r} is not one of {', '.join(allowed)}", allowed)
        return text

    def spec(
        self,
        value: Any,
        key: str,
        *,
        value_first: bool,
        types: bool = False,
        template: bool = False,
    ) -> FieldSpec:
        if not isinstance(value, dict):
            text = self.text(value, key, required=True)
            return FieldSpec(key, value=text) if value_first else FieldSpec(key, column=text)
        allowed = [
            k for k in _SPEC_KEYS if (k != "type" or types) and (k != "template" or template)
        ]
        data = self.obj(value, key, allowed)
        given = [k for k in ("column", "value", "template") if data.get(k) is not None]
        if len(given) != 1:
            options = "column, value or template" if template else "column or value"
            raise self.fail(key, f"give exactly one of {options}")
        values = data.get("values")
        if values is not None:
            if not isinstance(values, dict) or not values:
                raise self.fail(f"{key}.values", "expected a mapping of file value: stored value")
            folded: dict[str, str] = {}
            for raw_key, raw_value in values.items():
                fold = str(raw_key).strip().lower()
                if fold in folded:
                    raise self.fail(
                        f"{key}.values",
                        f"{raw_key!r} is listed twice (values are compared ignoring case)",
                    )
                folded[fold] = str(self.text(raw_value, f"{key}.values.{raw_key}", required=True))
            values = folded
            if data.get("column") is None:
                raise self.fail(f"{key}.values", "a value map needs a column")
        kind = self.choice(data.get("type"), f"{key}.type", VALUE_TYPES, "string")
        if values is not None and kind != "string":
            raise self.fail(f"{key}.type", "a value map gives text; drop type or values")
        fixed = data.get("value")
        if fixed is not None and (isinstance(fixed, dict | list)):
            raise self.fail(f"{key}.value", f"expected a single value, got {_kind(fixed)}")
        spec = FieldSpec(
            key,
            column=self.text(data.get("column"), f"{key}.column"),
            value=fixed,
            template=self.text(data.get("template"), f"{key}.template"),
            values=values,
            default=self.text(data.get("default"), f"{key}.default"),
            type=kind,  # type: ignore[arg-type]
        )
        if spec.template is not None:
            try:
                parts = template_parts(spec.template)
            except ValueError as exc:
                raise self.fail(f"{key}.template", f"not a valid template: {exc}") from None
            if not any(column for _, column in parts):
                raise self.fail(
                    f"{key}.template",
                    'names no column (write columns in braces, e.g. "ord-{order_number}")',
                )
        return spec

    def timestamp(self, value: Any, key: str) -> TimestampSpec:
        if value is None:
            raise self.fail(f"{key}.column", "required")
        if not isinstance(value, dict):
            return TimestampSpec(key, column=str(self.text(value, key, required=True)))
        data = self.obj(value, key, _TS_KEYS)
        column = str(self.text(data.get("column"), f"{key}.column", required=True))
        raw_format = data.get("format")
        formats: tuple[str, ...] = ()
        unix: Literal["s", "ms"] | None = None
        if isinstance(raw_format, list):
            formats = tuple(str(self.text(f, f"{key}.format", required=True)) for f in raw_format)
        elif raw_format is not None:
            text = str(self.text(raw_format, f"{key}.format"))
            if text == "unix":
                unix = "s"
            elif text == "unix_ms":
                unix = "ms"
            elif text != "iso":
                formats = (text,)
        for fmt in formats:
            if "%" not in fmt:
                raise self.fail(
                    f"{key}.format",
                    f'{fmt!r} has no % codes (e.g. "%d/%m/%Y %H:%M"; or iso, unix, unix_ms)',
                )
        zone = self.text(data.get("timezone"), f"{key}.timezone") or "UTC"
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(
                f"{key}.timezone", f"unknown time zone {zone!r} (an IANA name such as Europe/Rome)"
            ) from None
        return TimestampSpec(key, column=column, format=formats, unix=unix, timezone=zone)

    def object_specs(self, value: Any, key: str, *, nested: bool) -> dict[str, Any]:
        if value is None:
            return {}
        if isinstance(value, list):
            return {
                str(c): FieldSpec(f"{key}.{c}", column=str(self.text(c, key, required=True)))
                for c in value
            }
        if not isinstance(value, dict):
            raise self.fail(key, f"expected name: column pairs, got {_kind(value)}")
        out: dict[str, Any] = {}
        for name, sub in value.items():
            sub_key = f"{key}.{name}"
            is_group = isinstance(sub, dict) and not (set(sub) & {"column", "value", "template"})
            if nested and is_group:
                out[str(name)] = self.object_specs(sub, sub_key, nested=False)
            else:
                out[str(name)] = self.spec(
                    sub, sub_key, value_first=False, types=True, template=True
                )
        return out

    def file_options(self, value: Any) -> FileOptions:
        if value is None:
            return FileOptions()
        data = self.obj(value, "file", _FILE_KEYS)
        fmt = data.get("format")
        delimiter = self.text(data.get("delimiter"), "file.delimiter") or ","
        delimiter = {"tab": "\t", "\\t": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1:
            raise self.fail(
                "file.delimiter", f'{delimiter!r} must be one character (e.g. ";" or tab)'
            )
        quote = self.text(data.get("quote"), "file.quote") or '"'
        if len(quote) != 1:
            raise self.fail("file.quote", f"{quote!r} must be one character")
        encoding = self.text(data.get("encoding"), "file.encoding") or "utf-8"
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise self.fail(
                "file.encoding", f"unknown encoding {encoding!r} (e.g. utf-8, cp1252, latin-1)"
            ) from None
        decimal = self.choice(data.get("decimal"), "file.decimal", (".", ","), ".")
        thousands = data.get("thousands")
        if thousands is not None:
            thousands = self.choice(thousands, "file.thousands", (".", ",", " ", "'"), ".")
            if thousands == decimal:
                raise self.fail("file.thousands", "must differ from file.decimal")
        nulls = data.get("null_values", [""])
        if not isinstance(nulls, list) or not all(isinstance(v, str) for v in nulls):
            raise self.fail("file.null_values", 'expected a list of texts (e.g. ["", NULL])')
        skip = data.get("skip_rows", 0)
        if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
            raise self.fail("file.skip_rows", f"expected a whole number ≥ 0, got {skip!r}")
        return FileOptions(
            format=self.choice(fmt, "file.format", FORMATS, "") or None,
            delimiter=delimiter,
            quote=quote,
            encoding=encoding,
            decimal=decimal,
            thousands=thousands,
            null_values=tuple(nulls),
            skip_rows=skip,
        )


def parse_mapping(raw: Any, *, name: str = "mapping", path: str | None = None) -> Mapping:
    """Validate the parsed YAML of a mapping file."""
    r = _Reader(name, path)
    if raw is None:
        raise r.fail("source", "required (the mapping file is empty)")
    top = r.obj(raw, "", _TOP_KEYS)
    source = str(r.text(top.get("source"), "source", required=True))
    common: dict[str, Any] = {
        "source": source,
        "name": name,
        "path": path,
        "kind": r.text(top.get("kind"), "kind"),
        "data_party": r.choice(top.get("data_party"), "data_party", DATA_PARTIES, "first"),
        "description": r.text(top.get("description"), "description"),
        "file": r.file_options(top.get("file")),
    }
    if common["file"].format == "jsonl":
        return _jsonl_mapping(r, top.get("events"), common)
    if top.get("events") is None:
        raise r.fail("events", "required (how each row becomes an event; see docs/import.md)")
    ev = r.obj(top["events"], "events", _EVENT_KEYS)

    def col_spec(key: str) -> FieldSpec | None:
        value = ev.get(key)
        return (
            None
            if value is None
            else r.spec(value, f"events.{key}", value_first=False, template=True)
        )

    def val_spec(key: str) -> FieldSpec | None:
        value = ev.get(key)
        return None if value is None else r.spec(value, f"events.{key}", value_first=True)

    kind = val_spec("type") or FieldSpec("events.type", value="track")
    _check_fixed(r, kind, EVENT_TYPES, "event type")
    party = val_spec("data_party")
    if party is not None:
        _check_fixed(r, party, DATA_PARTIES, "data party")
    event = val_spec("event")
    if event is None and _may_be(kind, "track"):
        raise r.fail(
            "events.event",
            "required for track events (a fixed name such as purchase, or {column: ...})",
        )
    currency = val_spec("currency")
    if currency is not None and currency.value is not None:
        code = str(currency.value)
        if len(code) != 3 or not code.isalpha():
            raise r.fail("events.currency", f"{code!r} is not a 3-letter currency code (EUR)")
    revenue, cost = col_spec("revenue"), col_spec("cost")
    if (revenue is not None or cost is not None) and currency is None:
        raise r.fail(
            "events.currency",
            "required when revenue or cost is given (a code such as EUR, or {column: ...})",
        )
    user, anonymous = col_spec("user_id"), col_spec("anonymous_id")
    if user is None and anonymous is None:
        raise r.fail("events.user_id", "required: give user_id or anonymous_id (or both)")
    mapping = Mapping(
        **common,
        type=kind,
        event=event,
        id=col_spec("id"),
        timestamp=r.timestamp(ev.get("timestamp"), "events.timestamp"),
        user_id=user,
        anonymous_id=anonymous,
        group_id=col_spec("group_id"),
        previous_id=col_spec("previous_id"),
        revenue=col_spec("revenue"),
        cost=col_spec("cost"),
        currency=currency,
        channel=val_spec("channel"),
        row_source=col_spec("source"),
        row_data_party=party,
        properties=r.object_specs(ev.get("properties"), "events.properties", nested=False),
        traits=r.object_specs(ev.get("traits"), "events.traits", nested=False),
        context=r.object_specs(ev.get("context"), "events.context", nested=True),
        properties_json=r.text(ev.get("properties_json"), "events.properties_json"),
        traits_json=r.text(ev.get("traits_json"), "events.traits_json"),
        context_json=r.text(ev.get("context_json"), "events.context_json"),
    )
    for spec in (mapping.revenue, mapping.cost):
        if spec is not None and spec.values is not None:
            raise r.fail(f"{spec.key}.values", "an amount cannot have a value map")
    return mapping


def _jsonl_mapping(r: _Reader, events: Any, common: dict[str, Any]) -> Mapping:
    channel = None
    if events is not None:
        ev = r.obj(events, "events", ("channel",))
        if ev.get("channel") is not None:
            channel = r.spec(ev["channel"], "events.channel", value_first=True)
            if channel.value is None:
                raise r.fail("events.channel", "JSON lines take a fixed channel only")
    return Mapping(**common, channel=channel, has_events=False)


def _may_be(spec: FieldSpec, value: str) -> bool:
    if spec.value is not None:
        return str(spec.value).lower() == value
    if spec.values is not None:
        targets = {v.lower() for v in spec.values.values()}
        return value in targets or spec.default is None or spec.default.lower() == value
    return True


def _check_fixed(r: _Reader, spec: FieldSpec, allowed: Sequence[str], what: str) -> None:
    given = [(spec.key, spec.value)] if spec.value is not None else []
    given += [(f"{spec.key}.values.{k}", v) for k, v in (spec.values or {}).items()]
    if spec.default is not None:
        given.append((f"{spec.key}.default", spec.default))
    for key, value in given:
        if str(value).lower() not in allowed:
            raise r.fail(key, f"unknown {what} {value!r} (one of {', '.join(allowed)})", allowed)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"


# -- files without a mapping -----------------------------------------------------------------


def ensure_columns(mapping: Mapping, columns: Sequence[str], data_file: str) -> None:
    """MappingError naming the column and both files when the data lacks a mapped column."""
    present = set(columns)
    for column, key in mapping.columns().items():
        if column in present:
            continue
        close = difflib.get_close_matches(column, list(columns), n=1)
        folded = [c for c in columns if c.strip().lower() == column.strip().lower()]
        hint = f"; did you mean {(folded or close)[0]!r}?" if folded or close else ""
        raise MappingError(
            f"{mapping.name}: {key}: column {column!r} is not in {data_file} "
            f"(its columns: {', '.join(columns)}){hint}",
            file=mapping.path or mapping.name,
            field=key,
        )
