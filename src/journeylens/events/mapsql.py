"""A mapping compiled to SQL: one SELECT that turns a batch of file rows into canonical rows.

The batch is an Arrow table registered as ``_jl_in``: the file's columns (text for CSV, typed
for Parquet) plus ``_row``, the 1-based data row number. :func:`compile_mapping` returns

* ``select``: the canonical columns of :data:`journeylens.events.store.STAGED_SCHEMA` (with
  ``explicit_channel``), ``_row``, and ``_err``: NULL for a good row, else the number of the
  first check the row fails;
* ``errors``: for the bad rows only, ``_row``, ``_err``, ``error`` (the message), ``field``
  (the column at fault) and ``value`` (its text).

Every conversion (try_cast, try_strptime) happens once, in an inner SELECT; the checks read
its results. Nothing loops over rows in Python. Names and values reach the SQL only as quoted
identifiers and literals.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import pyarrow as pa
from sqlglot import exp

from journeylens.events.mapspec import FieldSpec, Mapping, TimestampSpec, template_parts
from journeylens.schema import DATA_PARTIES, EVENT_TYPES, MONEY_SCALE, PAGE_EVENT, SCREEN_EVENT

__all__ = ["Compiled", "compile_mapping"]

INPUT: Final = "_jl_in"
MAX_ID: Final = 100
_MONEY = f"DECIMAL(18, {MONEY_SCALE})"
_TRUE = ("true", "t", "yes", "y", "1", "si", "sì", "vero", "x")
_FALSE = ("false", "f", "no", "n", "0", "falso")
_OFFSET_RE = r"[0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)? ?([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)$"
"""A time followed by a UTC offset: such a timestamp ignores the mapping's time zone."""
_TS_MIN, _TS_MAX = "1900-01-01", "2200-01-01"


@dataclass(frozen=True)
class Compiled:
    select: exp.Select
    errors: exp.Select
    checks: tuple[str, ...]
    """Field at fault of each check (``_err`` = index + 1)."""


@dataclass(frozen=True)
class _Check:
    condition: exp.Expression | exp.Condition
    field: str
    why: exp.Expression
    value: exp.Expression


def _s(text: str) -> exp.Literal:
    return exp.Literal.string(text)


def _fn(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _ref(name: str, table: str | None = None) -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True), table=table)


def _is_null(e: exp.Expression) -> exp.Expression:
    return exp.Is(this=e, expression=exp.null())


def _not_null(e: exp.Expression) -> exp.Expression:
    return exp.Not(this=_is_null(e))


def _cat(*parts: exp.Expression) -> exp.Expression:
    out = parts[0]
    for part in parts[1:]:
        out = exp.DPipe(this=out, expression=part)
    return out


def _quoted(e: exp.Expression) -> exp.Expression:
    return _cat(_s("'"), e, _s("'"))


def _in(e: exp.Expression, options: Sequence[str]) -> exp.Expression:
    return exp.In(this=e, expressions=[_s(o) for o in options])


def _cast(e: exp.Expression, to: str, *, safe: bool = True) -> exp.Expression:
    kind = exp.DataType.build(to, dialect="duckdb")
    return exp.TryCast(this=e, to=kind) if safe else exp.Cast(this=e, to=kind)


class _Builder:
    def __init__(self, mapping: Mapping, schema: pa.Schema, *, trim: bool) -> None:
        self.m = mapping
        self.schema = schema
        self.trim = trim
        self.level1: dict[str, exp.Expression] = {"_row": _ref("_row", INPUT)}
        """Cleaned cells of the input (``r*``)."""
        self.level2: dict[str, exp.Expression] = {}
        """Conversions of the cleaned cells (``n*``, ``b*``, ``ts*``)."""
        self.raw_alias: dict[str, str] = {}
        self.checks: list[_Check] = []

    # -- inner SELECT: cleaned raw values and conversions ------------------------------------
    def _add(self, expression: exp.Expression, prefix: str) -> exp.Column:
        alias = f"{prefix}{len(self.level2)}"
        self.level2[alias] = expression
        return _ref(alias, "t")

    def inner(self) -> exp.Subquery:
        """``(SELECT conversions FROM (SELECT cleaned cells FROM _jl_in) t) t``."""
        level1 = exp.select(
            *[e.as_(exp.to_identifier(a, quoted=True)) for a, e in self.level1.items()]
        ).from_(exp.Table(this=exp.to_identifier(INPUT)))
        level2 = exp.select(
            *[_ref(a, "t").as_(exp.to_identifier(a, quoted=True)) for a in self.level1],
            *[e.as_(exp.to_identifier(a, quoted=True)) for a, e in self.level2.items()],
        ).from_(level1.subquery("t"))
        return level2.subquery("t")

    def kind(self, column: str) -> pa.DataType:
        return self.schema.field(column).type

    def is_text(self, column: str) -> bool:
        t = self.kind(column)
        return bool(
            pa.types.is_string(t)
            or pa.types.is_large_string(t)
            or pa.types.is_string_view(t)
            or pa.types.is_dictionary(t)
        )

    def raw(self, column: str) -> exp.Column:
        """The cell, trimmed, with empty text and NaN as NULL."""
        if column not in self.raw_alias:
            source = _ref(column, INPUT)
            t = self.kind(column)
            if self.is_text(column):
                text = _cast(source, "VARCHAR", safe=False)
                cleaned: exp.Expression = exp.Nullif(
                    this=exp.Trim(this=text) if self.trim else text, expression=_s("")
                )
            elif pa.types.is_floating(t):
                cleaned = exp.Case().when(_fn("isnan", source), exp.null()).else_(source)
            else:
                cleaned = source
            alias = f"r{len(self.level1)}"
            self.level1[alias] = cleaned
            self.raw_alias[column] = alias
        return _ref(self.raw_alias[column], "t")

    def text(self, column: str) -> exp.Expression:
        raw = self.raw(column)
        return raw if self.is_text(column) else _cast(raw, "VARCHAR", safe=False)

    def check(
        self,
        condition: exp.Expression | exp.Condition,
        field: str,
        why: exp.Expression,
        value: exp.Expression | None = None,
    ) -> None:
        self.checks.append(_Check(condition, field, why, value or exp.null()))

    # -- fields -------------------------------------------------------------------------------
    def field(self, spec: FieldSpec, *, lower: bool = False) -> exp.Expression:
        """A text field: fixed value, template, or column (with its value map and default)."""
        if spec.value is not None:
            return _s(str(spec.value).lower() if lower else str(spec.value))
        if spec.template is not None:
            parts: list[exp.Expression] = []
            for literal, column in template_parts(spec.template):
                if literal:
                    parts.append(_s(literal))
                if column is not None:
                    parts.append(self.text(column))
            return _cat(*parts)
        assert spec.column is not None
        value = self.text(spec.column)
        default = _s(spec.default) if spec.default is not None else exp.null()
        if spec.values is not None:
            folded = exp.Lower(this=exp.Trim(this=value))
            case = exp.Case(this=folded)
            for key, target in spec.values.items():
                case = case.when(_s(key), _s(target))
            out: exp.Expression = case.else_(default)
            if spec.default is None:
                self.check(
                    exp.and_(_not_null(value), exp.Not(this=_in(folded, list(spec.values)))),
                    spec.column,
                    _cat(
                        _quoted(value),
                        _s(
                            f" is not one of the values listed in "
                            f"{spec.key}.values ({', '.join(spec.values)})"
                        ),
                    ),
                    value,
                )
        else:
            out = (
                exp.Coalesce(this=value, expressions=[default])
                if spec.default is not None
                else value
            )
        return exp.Lower(this=out) if lower else out

    def label(self, spec: FieldSpec | None, fallback: str) -> str:
        if spec is None:
            return fallback
        if spec.column is not None:
            return spec.column
        return spec.key

    def number(self, spec: FieldSpec, sql_type: str) -> exp.Expression:
        """A number column → ``sql_type``, with a check naming the cell when it is not one."""
        if spec.value is not None:
            return _cast(_s(str(spec.value)), sql_type, safe=False)
        column = spec.columns[0]
        raw = self.raw(column)
        if self.is_text(column):
            opts = self.m.file
            cleaned: exp.Expression = _fn("regexp_replace", raw, _s(r"[\s€$£]"), _s(""), _s("g"))
            if opts.thousands is not None:
                cleaned = _fn("replace", cleaned, _s(opts.thousands), _s(""))
            if opts.decimal == ",":
                cleaned = _fn("replace", cleaned, _s(","), _s("."))
            converted = self._add(_cast(cleaned, sql_type), "n")
            hint: exp.Expression = _s("")
            if opts.decimal == ".":
                hint = (
                    exp.Case()
                    .when(
                        _fn("regexp_matches", raw, _s(r"^-?[0-9.]*[0-9],[0-9]+$")),
                        _s(' (decimal comma? add decimal: "," under file: in the mapping)'),
                    )
                    .else_(_s(""))
                )
            why = _cat(_quoted(raw), _s(" is not a number"), hint)
        else:
            converted = self._add(_cast(raw, sql_type), "n")
            why = _cat(_quoted(self.text(column)), _s(f" does not fit {sql_type}"))
        self.check(exp.and_(_not_null(raw), _is_null(converted)), column, why, self.text(column))
        return converted

    def boolean(self, spec: FieldSpec) -> exp.Expression:
        column = spec.columns[0]
        if not self.is_text(column):
            return _cast(self.raw(column), "BOOLEAN")
        folded = exp.Lower(this=self.raw(column))
        converted = self._add(
            exp.Case().when(_in(folded, _TRUE), exp.true()).when(_in(folded, _FALSE), exp.false()),
            "b",
        )
        self.check(
            exp.and_(_not_null(self.raw(column)), _is_null(converted)),
            column,
            _cat(_quoted(self.raw(column)), _s(" is not yes/no (true, false, sì, no, 1, 0)")),
            self.raw(column),
        )
        return converted

    def timestamp(self, spec: TimestampSpec, *, required: bool) -> exp.Expression:
        """The UTC timestamp of a cell, by format and time zone; checks empty and unreadable."""
        column = spec.column
        raw = self.raw(column)
        t = self.kind(column)
        zone = _s(spec.timezone)

        def local(naive: exp.Expression) -> exp.Expression:
            if spec.timezone == "UTC":
                return naive
            return _fn("timezone", _s("UTC"), _fn("timezone", zone, naive))

        def aware(value: exp.Expression) -> exp.Expression:
            # the UTC wall time of an instant: its microseconds since 1970 as a TIMESTAMP,
            # twice as fast as timezone('UTC', …), which is kept for ±infinity
            return (
                exp.Case()
                .when(_fn("isfinite", value), _fn("make_timestamp", _fn("epoch_us", value)))
                .else_(_fn("timezone", _s("UTC"), value.copy()))
            )

        expected = "an ISO-8601 timestamp (e.g. 2026-11-22T10:15:00Z)"
        if spec.unix is not None:
            seconds = _cast(self.text(column), "DOUBLE")
            if spec.unix == "ms":
                seconds = exp.Div(this=seconds, expression=exp.Literal.number(1000))
            converted = aware(_fn("to_timestamp", seconds))
            expected = f"a Unix time in {'milliseconds' if spec.unix == 'ms' else 'seconds'}"
        elif pa.types.is_timestamp(t):
            converted = aware(raw) if t.tz is not None else local(raw)
        elif pa.types.is_date(t):
            converted = local(_cast(raw, "TIMESTAMP", safe=False))
        elif not self.is_text(column):
            converted = exp.null()
            expected = "a timestamp, not a number (set format: unix or unix_ms)"
        elif spec.format:
            fmt: exp.Expression = (
                _s(spec.format[0])
                if len(spec.format) == 1
                else exp.Array(expressions=[_s(f) for f in spec.format])
            )
            parsed = _fn("try_strptime", raw, fmt)
            has_zone = any("%z" in f or "%Z" in f for f in spec.format)
            converted = aware(parsed) if has_zone else local(parsed)
            expected = "a timestamp in the format " + " or ".join(spec.format)
        elif spec.timezone == "UTC":
            converted = aware(_cast(raw, "TIMESTAMPTZ"))
        else:
            converted = (
                exp.Case()
                .when(_fn("regexp_matches", raw, _s(_OFFSET_RE)), aware(_cast(raw, "TIMESTAMPTZ")))
                .else_(local(_cast(raw, "TIMESTAMP")))
            )
        value = self._add(_cast(converted, "TIMESTAMP"), "ts")
        text = self.text(column)
        if required:
            self.check(_is_null(raw), column, _s("empty (every event needs a timestamp)"))
        self.check(
            exp.and_(_not_null(raw), _is_null(value)),
            column,
            _cat(_quoted(text), _s(f" is not {expected}")),
            text,
        )
        self.check(
            exp.or_(
                exp.LT(this=value, expression=_cast(_s(_TS_MIN), "TIMESTAMP", safe=False)),
                exp.GTE(this=value, expression=_cast(_s(_TS_MAX), "TIMESTAMP", safe=False)),
            ),
            column,
            _cat(_quoted(text), _s(f" is out of range ({_TS_MIN[:4]}–{_TS_MAX[:4]})")),
            text,
        )
        return value

    def json_column(self, column: str | None, key: str) -> exp.Expression | None:
        if column is None:
            return None
        raw = self.raw(column)
        text = self.text(column)
        valid = exp.and_(
            _fn("json_valid", text), exp.EQ(this=_fn("json_type", text), expression=_s("OBJECT"))
        )
        self.check(
            exp.and_(_not_null(raw), exp.Not(this=valid)),
            column,
            _s(f"not a JSON object ({key})"),
            text,
        )
        return text

    def typed(self, spec: FieldSpec) -> exp.Expression:
        if spec.type == "string" and spec.column is not None and spec.values is None:
            t = self.kind(spec.column)
            if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
                return self.raw(spec.column)  # a typed column keeps its JSON type
            if pa.types.is_decimal(t):
                return _cast(self.raw(spec.column), "DOUBLE", safe=False)
        if spec.type == "string" or not spec.columns or spec.template is not None:
            return self.field(spec)
        if spec.type == "number":
            return self.number(spec, "DOUBLE")
        if spec.type == "integer":
            return self.number(spec, "BIGINT")
        if spec.type == "boolean":
            return self.boolean(spec)
        ts = self.timestamp(TimestampSpec(spec.key, column=spec.columns[0]), required=False)
        return _fn("strftime", ts, _s("%Y-%m-%dT%H:%M:%SZ"))

    def json_object(
        self,
        specs: AbcMapping[str, FieldSpec | dict[str, FieldSpec]],
        base: exp.Expression | None,
    ) -> exp.Expression | None:
        if not specs:
            return base
        flat = {name: spec for name, spec in specs.items() if not isinstance(spec, dict)}
        if base is None and len(flat) == len(specs):
            return self.flat_object({name: self.typed(spec) for name, spec in flat.items()})
        args: list[exp.Expression] = []
        for name, spec in specs.items():
            args.append(_s(name))
            if isinstance(spec, dict):
                inner = self.json_object(spec, None)
                args.append(_cast(inner, "JSON", safe=False) if inner is not None else exp.null())
            else:
                args.append(self.typed(spec))
        built = _fn("json_object", *args)
        if base is None:
            return _fn("json_strip_nulls", built)
        return _fn("json_merge_patch", exp.Coalesce(this=base, expressions=[_s("{}")]), built)

    @staticmethod
    def flat_object(values: AbcMapping[str, exp.Expression]) -> exp.Expression:
        """``json_strip_nulls(json_object(name, value, …))`` as text, written out: the members
        whose value is not NULL joined by ``concat_ws`` (twice as fast; the same text)."""
        members = [
            exp.Case().when(
                _not_null(value), _cat(_fn("to_json", _s(name)), _s(":"), _fn("to_json", value))
            )
            for name, value in values.items()
        ]
        return _cat(_s("{"), _fn("concat_ws", _s(","), *members), _s("}"))


def compile_mapping(
    mapping: Mapping,
    schema: pa.Schema,
    *,
    import_id: str,
    received_at: datetime,
    file_name: str,
    trim: bool = True,
) -> Compiled:
    """Compile ``mapping`` for a batch with ``schema``; see the module docstring.

    ``trim``: remove spaces around text cells (CSV); typed Parquet text is taken as it is
    (empty text is NULL in both).
    """
    b = _Builder(mapping, schema, trim=trim)
    m = mapping
    out: dict[str, exp.Expression] = {}

    # event id: a column, a template, or a hash of the whole row
    if m.id is not None:
        event_id = b.field(m.id)
        label = b.label(m.id, "id")
        b.check(
            _is_null(event_id),
            label,
            _s("empty (every row needs an event id; it is the dedupe key)"),
        )
        b.check(
            exp.GT(this=exp.Length(this=event_id), expression=exp.Literal.number(MAX_ID)),
            label,
            _s(f"the event id is longer than {MAX_ID} characters"),
            event_id,
        )
    else:
        cells = [
            exp.Coalesce(this=_cast(_ref(c, INPUT), "VARCHAR", safe=False), expressions=[_s("")])
            for c in schema.names
            if c != "_row"
        ]
        row_text = _fn("concat_ws", _fn("chr", exp.Literal.number(31)), _s(m.source), *cells)
        b.level1["h0"] = _cat(_s("h-"), exp.MD5(this=row_text))
        event_id = _ref("h0", "t")
    out["event_id"] = event_id

    # type and event name
    kind = b.field(m.type, lower=True)
    if m.type.value is None:
        kind = b._add(kind, "k")  # computed once, read by several checks
    type_label = b.label(m.type, "type")
    b.check(_is_null(kind), type_label, _s("empty (the event type is required)"))
    b.check(
        exp.and_(_not_null(kind), exp.Not(this=_in(kind, EVENT_TYPES))),
        type_label,
        _cat(_s("unknown event type "), _quoted(kind), _s(f" (one of {', '.join(EVENT_TYPES)})")),
        kind,
    )
    out["type"] = kind
    named = b.field(m.event) if m.event is not None else exp.null()
    event_label = b.label(m.event, "event")
    event = (
        exp.Case(this=kind)
        .when(_s("page"), _s(PAGE_EVENT))
        .when(_s("screen"), _s(SCREEN_EVENT))
        .when(_s("track"), named)
        .else_(kind)
    )
    b.check(
        exp.and_(exp.EQ(this=kind, expression=_s("track")), _is_null(named)),
        event_label,
        _s("empty (a track event needs an event name)"),
    )
    out["event"] = event

    ids: dict[str, exp.Expression] = {}
    for name in ("anonymous_id", "user_id", "group_id", "previous_id"):
        spec = getattr(m, name)
        ids[name] = b.field(spec) if spec is not None else exp.null()
    users = "/".join(
        b.label(s, n) for s, n in ((m.user_id, "user_id"), (m.anonymous_id, "anonymous_id")) if s
    )
    b.check(
        exp.and_(_is_null(ids["user_id"]), _is_null(ids["anonymous_id"])),
        users,
        _s("empty (every event needs a user_id or an anonymous_id)"),
    )
    b.check(
        exp.and_(exp.EQ(this=kind, expression=_s("group")), _is_null(ids["group_id"])),
        b.label(m.group_id, "group_id"),
        _s("empty (a group event needs a group id)"),
    )
    b.check(
        exp.and_(
            exp.EQ(this=kind, expression=_s("alias")),
            exp.or_(_is_null(ids["previous_id"]), _is_null(ids["user_id"])),
        ),
        b.label(m.previous_id, "previous_id"),
        _s("empty (an alias event needs a previous id and a user id)"),
    )
    out.update(ids)

    assert m.timestamp is not None
    ts = b.timestamp(m.timestamp, required=True)
    out["ts"] = ts
    out["original_ts"] = ts
    out["sent_at"] = _cast(exp.null(), "TIMESTAMP", safe=False)
    out["received_at"] = _cast(_s(received_at.isoformat(sep=" ")), "TIMESTAMP", safe=False)
    out["explicit_channel"] = b.field(m.channel) if m.channel is not None else exp.null()
    source: exp.Expression = _s(m.source)
    if m.row_source is not None:
        source = exp.Coalesce(this=b.field(m.row_source), expressions=[source])
    out["source"] = source
    party: exp.Expression = _s(m.data_party)
    if m.row_data_party is not None:
        party = exp.Coalesce(this=b.field(m.row_data_party, lower=True), expressions=[party])
        b.check(
            exp.Not(this=_in(party, DATA_PARTIES)),
            b.label(m.row_data_party, "data_party"),
            _cat(
                _s("unknown data party "),
                _quoted(party),
                _s(f" (one of {', '.join(DATA_PARTIES)})"),
            ),
            party,
        )
    out["data_party"] = party
    out["revenue"] = b.number(m.revenue, _MONEY) if m.revenue is not None else exp.null()
    out["cost"] = b.number(m.cost, _MONEY) if m.cost is not None else exp.null()
    currency: exp.Expression = exp.null()
    if m.currency is not None:
        currency = exp.Upper(this=b.field(m.currency))
        b.check(
            exp.and_(
                _not_null(currency), exp.Not(this=_fn("regexp_matches", currency, _s("^[A-Z]{3}$")))
            ),
            b.label(m.currency, "currency"),
            _cat(_quoted(currency), _s(" is not a 3-letter currency code (e.g. EUR)")),
            currency,
        )
    out["currency"] = currency
    properties = b.json_object(
        dict(m.properties), b.json_column(m.properties_json, "events.properties_json")
    )
    out["properties"] = properties if properties is not None else _s("{}")
    out["traits"] = (
        b.json_object(dict(m.traits), b.json_column(m.traits_json, "events.traits_json"))
        or exp.null()
    )
    out["context"] = (
        b.json_object(m.context, b.json_column(m.context_json, "events.context_json")) or exp.null()
    )
    out["import_id"] = _s(import_id)

    typed = {
        "revenue": _MONEY,
        "cost": _MONEY,
        "ts": "TIMESTAMP",
        "original_ts": "TIMESTAMP",
        "received_at": "TIMESTAMP",
        "sent_at": "TIMESTAMP",
    }
    columns = [
        (_cast(e, typed.get(n, "VARCHAR"), safe=False)).as_(exp.to_identifier(n, quoted=True))
        for n, e in out.items()
    ]
    err = exp.Case()
    for number, chk in enumerate(b.checks, start=1):
        err = err.when(chk.condition, exp.Literal.number(number))
    err_expr = _cast(err, "UTINYINT" if len(b.checks) < 250 else "USMALLINT", safe=False)
    row = _ref("_row", "t")
    select = exp.select(*columns, row.as_("_row"), err_expr.as_("_err")).from_(b.inner())

    message = exp.Case()
    field = exp.Case()
    value = exp.Case()
    for chk in b.checks:
        prefix = _cat(
            _s(f"{file_name} row "), _cast(row, "VARCHAR", safe=False), _s(f", {chk.field}: ")
        )
        message = message.when(chk.condition, _cat(prefix, chk.why))
        field = field.when(chk.condition, _s(chk.field))
        value = value.when(chk.condition, _cast(chk.value, "VARCHAR", safe=False))
    errors = (
        exp.select(
            row.as_("_row"),
            err_expr.as_("_err"),
            message.as_("error"),
            field.as_("field"),
            value.as_("value"),
        )
        .from_(b.inner())
        .where(_not_null(err_expr))
        .order_by(row)
    )
    return Compiled(select=select, errors=errors, checks=tuple(c.field for c in b.checks))
