"""Vectorised builders for the demo's string columns: JSON objects, ids, money.

Every function here works on whole arrays (NumPy in, Arrow out); none loops over rows. JSON text
is assembled by joining pre-quoted fragments with Arrow's ``binary_join_element_wise``: a field
that is absent on a row is a null fragment, skipped by the join.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "Json",
    "concat",
    "constant",
    "hex_ids",
    "int_text",
    "money_text",
    "quoted",
    "take",
    "where",
]

Part: TypeAlias = "pa.Array | str"
_HEX = np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2")
STRING = pa.string()


def quoted(values: Sequence[str]) -> pa.Array:
    """JSON string literals (with their quotes) of ``values``, as an Arrow array."""
    return pa.array([json.dumps(v, ensure_ascii=False) for v in values], STRING)


def take(dictionary: pa.Array, codes: np.ndarray) -> pa.Array:
    """``dictionary[codes]`` for every row (codes are NumPy integers)."""
    return dictionary.take(pa.array(codes.astype(np.int32, copy=False)))


def concat(*parts: Part, skip_nulls: bool = False) -> pa.Array:
    """Row-wise concatenation of arrays and constant strings.

    With ``skip_nulls`` a null part contributes nothing; otherwise a null part makes the row null.
    """
    return pc.binary_join_element_wise(
        *parts, "", null_handling="skip" if skip_nulls else "emit_null"
    )


def where(mask: np.ndarray, values: Part) -> pa.Array:
    """``values`` where ``mask`` holds, null elsewhere."""
    if isinstance(values, str):
        values = constant(len(mask), values)
    return pc.if_else(pa.array(mask), values, pa.scalar(None, STRING))


def constant(n: int, value: str) -> pa.Array:
    """The same string on ``n`` rows."""
    return pc.fill_null(pa.nulls(n, STRING), value)


def int_text(values: np.ndarray) -> pa.Array:
    """Decimal text of integers."""
    return pc.cast(pa.array(values.astype(np.int64, copy=False)), STRING)


def money_text(units: np.ndarray, decimals: int = 2) -> pa.Array:
    """``units`` (ten-thousandths) as a decimal number with ``decimals`` digits, e.g. 12.50."""
    units = units.astype(np.int64, copy=False)
    step = 10 ** (4 - decimals)
    scaled = units // step
    whole, frac = np.divmod(scaled, 10**decimals)
    frac_text = pc.utf8_lpad(int_text(frac), width=decimals, padding="0")
    return concat(int_text(whole), ".", frac_text)


def hex_ids(rng: np.random.Generator, n: int, nbytes: int = 12, prefix: str = "") -> pa.Array:
    """``n`` random hexadecimal ids of ``2 * nbytes`` digits."""
    raw = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    text = _HEX[raw].view(f"S{2 * nbytes}").reshape(n)
    ids = pc.cast(pa.array(text, pa.binary()), STRING)
    return concat(prefix, ids) if prefix else ids


def decimal_money(units: np.ndarray, present: np.ndarray) -> pa.Array:
    """Money in ten-thousandths as ``decimal128(18, 4)``; null where not ``present``."""
    n = len(units)
    words = np.zeros((n, 2), dtype=np.int64)
    words[:, 0] = units
    words[:, 1] = np.where(units < 0, -1, 0)
    validity = pa.array(present).buffers()[1] if not present.all() else None
    data = pa.py_buffer(words.tobytes())
    return pa.Array.from_buffers(pa.decimal128(18, 4), n, [validity, data])


class Json:
    """A JSON object per row, built field by field.

    >>> import numpy as np
    >>> j = Json(2).text("brand", "Hotel Lago Blu").number("nights", np.array([2, 7]))
    >>> j.optional(np.array([False, True]), "children", "1").build().to_pylist()
    ['{"brand":"Hotel Lago Blu","nights":2}', '{"brand":"Hotel Lago Blu","nights":7,"children":1}']
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.parts: list[Part] = []

    def _key(self, key: str) -> str:
        return ("," if self.parts else "") + json.dumps(key) + ":"

    def raw(self, key: str, value: Part) -> Json:
        """A value that is already JSON text (a quoted string, a number, an object)."""
        if isinstance(value, str):
            self.parts.append(self._key(key) + value)
        else:
            self.parts.append(concat(self._key(key), value))
        return self

    def text(self, key: str, value: Part) -> Json:
        """A string without quotes or backslashes (ids, names, codes): quoted here."""
        if isinstance(value, str):
            return self.raw(key, json.dumps(value, ensure_ascii=False))
        return self.raw(key, concat('"', value, '"'))

    def number(self, key: str, values: np.ndarray) -> Json:
        return self.raw(key, int_text(values))

    def money(self, key: str, units: np.ndarray, decimals: int = 2) -> Json:
        return self.raw(key, money_text(units, decimals))

    def optional(self, mask: np.ndarray, key: str, value: Part) -> Json:
        """A raw JSON value present only where ``mask`` holds.

        The first field of an object must not be optional (it carries no comma)."""
        if not self.parts:
            raise ValueError("the first field of a Json object cannot be optional")
        fragment = (
            concat(self._key(key), value) if not isinstance(value, str) else self._key(key) + value
        )
        self.parts.append(where(mask, fragment))
        return self

    def build(self) -> pa.Array:
        if not self.parts:
            return constant(self.n, "{}")
        if all(isinstance(p, str) for p in self.parts):
            text = "{" + "".join(p for p in self.parts if isinstance(p, str)) + "}"
            return constant(self.n, text)
        return concat("{", *self.parts, "}", skip_nulls=True)
