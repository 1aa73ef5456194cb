"""Aggregated conversion paths as flat NumPy arrays, the input of every model.

A path table of *n* rows stores the touchpoint values of all paths one after the other
(``codes``, indices into ``labels``) with ``offsets`` (path *i* is
``codes[offsets[i]:offsets[i + 1]]``), and per row the conversions, their value and the
journeys that did not convert. A conversion without any touchpoint gets the one-touch path
``(no touchpoint)``, so that every model credits it somewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeylens.attribution.spec import NO_TOUCHPOINT

__all__ = ["PathTable"]


def _floats(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(
        pc.fill_null(column.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False),
        dtype="float64",
    )


@dataclass
class PathTable:
    labels: list[str]
    codes: np.ndarray
    """int64 codes of every touchpoint of every path, path after path."""
    offsets: np.ndarray
    """int64, n + 1 entries."""
    same: np.ndarray
    """code of the conversion event's own value (-1: none), per row."""
    conversions: np.ndarray
    value: np.ndarray
    """the value being attributed per row: revenue, or the conversions when counting."""
    non_conversions: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def path_index(self) -> np.ndarray:
        """For every touchpoint, the row it belongs to."""
        return np.repeat(np.arange(self.rows), self.lengths)

    @property
    def position(self) -> np.ndarray:
        """For every touchpoint, its 0-based position in its path."""
        position: np.ndarray = np.arange(len(self.codes)) - np.repeat(
            self.offsets[:-1], self.lengths
        )
        return position

    def path(self, row: int) -> list[str]:
        return [self.labels[c] for c in self.codes[self.offsets[row] : self.offsets[row + 1]]]

    @classmethod
    def from_lists(
        cls,
        paths: list[list[str]],
        conversions: list[float],
        value: list[float],
        non_conversions: list[float],
        same: list[str | None] | None = None,
    ) -> PathTable:
        """A path table from Python lists (tests, examples)."""
        table = pa.table(
            {
                "path": pa.array(paths, type=pa.list_(pa.string())),
                "same_touch": pa.array(same or [None] * len(paths), type=pa.string()),
                "conversions": pa.array(conversions, type=pa.float64()),
                "revenue": pa.array(value, type=pa.float64()),
                "non_conversions": pa.array(non_conversions, type=pa.float64()),
            }
        )
        return cls.from_arrow(table, count=False)

    @classmethod
    def from_arrow(cls, table: pa.Table, *, count: bool) -> PathTable:
        """From the path query's result (``path, same_touch, conversions, revenue,
        non_conversions``); ``count``: attribute conversions rather than revenue."""
        paths = table.column("path").combine_chunks()
        if isinstance(paths, pa.ChunkedArray):  # an empty result
            paths = pa.array([], type=pa.list_(pa.string()))
        flat = paths.flatten()
        offsets = np.asarray(paths.offsets.to_numpy(zero_copy_only=False), dtype="int64")
        offsets = offsets - offsets[0]
        same = table.column("same_touch").combine_chunks().cast(pa.string())
        encoded = pc.dictionary_encode(pa.concat_arrays([flat.cast(pa.string()), same]))
        labels = [str(v) for v in encoded.dictionary.to_pylist()]
        indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        codes = np.asarray(indices[: len(flat)], dtype="int64")
        same_codes = np.asarray(indices[len(flat) :], dtype="int64")
        conversions = _floats(table.column("conversions"))
        revenue = _floats(table.column("revenue"))
        non = _floats(table.column("non_conversions"))
        lengths = np.diff(offsets)
        if (lengths == 0).any():
            if NO_TOUCHPOINT not in labels:
                labels.append(NO_TOUCHPOINT)
            none = labels.index(NO_TOUCHPOINT)
            filled = np.maximum(lengths, 1)
            new_offsets = np.concatenate([[0], np.cumsum(filled)])
            new_codes = np.full(int(new_offsets[-1]), none, dtype="int64")
            keep = np.repeat(lengths > 0, filled)
            new_codes[keep] = codes
            codes, offsets = new_codes, new_offsets
        return cls(
            labels=labels,
            codes=codes,
            offsets=offsets,
            same=same_codes,
            conversions=conversions,
            value=conversions.copy() if count else revenue,
            non_conversions=non,
        )

    def grouped(self) -> list[dict[str, Any]]:
        """One dict per distinct path (rows that differ only by the conversion's own value are
        added up), most conversions first: ``path``, ``conversions``, ``value``,
        ``non_conversions``, ``conversion_rate``."""
        keys = [tuple(self.codes[self.offsets[i] : self.offsets[i + 1]]) for i in range(self.rows)]
        totals: dict[tuple[int, ...], list[float]] = {}
        for key, c, v, n in zip(
            keys, self.conversions, self.value, self.non_conversions, strict=True
        ):
            entry = totals.setdefault(key, [0.0, 0.0, 0.0])
            entry[0] += c
            entry[1] += v
            entry[2] += n
        rows: list[dict[str, Any]] = [
            {
                "path": [self.labels[c] for c in key],
                "conversions": c,
                "value": v,
                "non_conversions": n,
                "conversion_rate": c / (c + n) if c + n else 0.0,
            }
            for key, (c, v, n) in totals.items()
        ]
        rows.sort(key=lambda r: (-r["conversions"], -r["value"], r["path"]))
        return rows
