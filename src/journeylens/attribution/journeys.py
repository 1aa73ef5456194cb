"""Journeys folded from each customer's ordered events in one streaming pass (NumPy, no sort).

The input is the attribution events query (:func:`~journeylens.attribution.compile.compile_events`
without revenue: ``unit_id, seq, us, is_conv, v``) as the engine streams it. ``customer_events``
is stored clustered by customer and ``seq``, and a scan returns its rows in that order, so
every customer's events arrive together and in order: the journeys, the lookback window and the
collapsing of repeats are running operations over flat arrays (a cumulative sum, shifts by one
row, segment maxima), done batch by batch while the engine produces the next batch. A
customer cut by a batch boundary is carried over to the next batch. When the rows turn out not
to be clustered (an engine that scans in parallel parts, a store rewritten by hand), the events
are read again sorted by the engine; the result is the same.

The conversions' revenue comes from a second, small query
(:func:`~journeylens.attribution.compile.compile_conversions`), matched on (unit, seq).

The definition is the one of :func:`~journeylens.attribution.compile.compile_paths`, which
computes the same table set-based in SQL (for engines where moving the events to the client is
the wrong trade, see ADR 0006); a property test holds the two together.

* A **journey** is the run of a customer's events that ends with a conversion (inclusive), or
  the events after the last conversion (an open journey). Its end is its latest event time.
* A touchpoint is **kept** when it is not older than ``end - lookback`` and, when repeats
  collapse, when the event just before it (same customer) is not a touchpoint with the same
  value inside the window.
* The **path** of a journey is its kept touchpoints' values, oldest first. Journeys are grouped
  by (path, the conversion's own value) exactly: each path is encoded as a byte string of its
  value codes and Arrow's hash aggregate groups them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeylens.attribution.compile import compile_conversions, compile_events
from journeylens.attribution.spec import AttributionSpec
from journeylens.engines.base import Engine
from journeylens.errors import StorageError
from journeylens.sql import col
from journeylens.stages.sqlparts import epoch_us

__all__ = ["Journeys"]

BATCH_ROWS = 1 << 20


def _numbers(column: pa.Array | pa.ChunkedArray, dtype: str) -> np.ndarray:
    """A column as a NumPy array (NULL as 0), without a copy when it has no NULLs."""
    if pa.types.is_decimal(column.type):
        column = column.cast(pa.float64())
    if column.null_count:
        column = pc.fill_null(column, 0)
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=dtype)


class _Labels:
    """One code per distinct value over all batches (-1 for NULL), in order of first sight."""

    def __init__(self) -> None:
        self._index: dict[str, int] = {}

    @property
    def names(self) -> list[str]:
        return list(self._index)

    def codes(self, values: pa.Array) -> np.ndarray:
        encoded = pc.dictionary_encode(values)
        local = [str(v) for v in encoded.dictionary.to_pylist()]
        lookup = np.array(
            [self._index.setdefault(v, len(self._index)) for v in local] + [-1], dtype="int32"
        )
        indices = encoded.indices
        positions = np.asarray(indices.to_numpy(zero_copy_only=False), dtype="int64")
        if indices.null_count:
            positions[np.asarray(indices.is_null().to_numpy(zero_copy_only=False))] = len(local)
        codes: np.ndarray = lookup[positions]
        return codes


@dataclass
class _Block:
    """The folded form of whole customers: journeys, kept touchpoints, conversions."""

    end_us: np.ndarray
    converted: np.ndarray
    same: np.ndarray
    touch_journey: np.ndarray
    touch_us: np.ndarray
    touch_code: np.ndarray
    firsts: np.ndarray
    """the unit id of every customer's first row (to check that no customer comes twice)."""
    conv_unit: np.ndarray
    conv_seq: np.ndarray


def _fold_block(
    unit: np.ndarray,
    seq: np.ndarray,
    us: np.ndarray,
    conv: np.ndarray,
    code: np.ndarray,
    spec: AttributionSpec,
) -> _Block | None:
    """Fold whole customers (at least one row); ``None`` when their rows are not contiguous and
    in seq order."""
    n = len(unit)
    first = np.ones(n, dtype=bool)  # the first event of its unit
    np.not_equal(unit[1:], unit[:-1], out=first[1:])
    if np.any(~first[1:] & (seq[1:] <= seq[:-1])):
        return None
    starts = first.copy()  # the first event of its journey
    starts[1:] |= conv[:-1]
    journey = np.cumsum(starts) - 1
    opening = np.flatnonzero(starts)
    closing = np.append(opening[1:], n) - 1
    end_us = np.maximum.reduceat(us, opening)
    converted = conv[closing]
    keep = ~conv
    window_start = None
    if spec.lookback_us is not None:
        window_start = end_us[journey] - spec.lookback_us
        keep &= us >= window_start
    if spec.repeats == "collapse":
        # the previous event of the unit is a touchpoint whose value equals this one's
        repeat = ~first[1:] & ~conv[:-1] & (code[:-1] == code[1:]) & (code[1:] >= 0)
        if window_start is not None:
            repeat &= us[:-1] >= window_start[1:]
        keep[1:] &= ~repeat
    if spec.since is not None:
        keep &= end_us[journey] >= epoch_us(spec.since)
    kept = np.flatnonzero(keep)
    return _Block(
        end_us=end_us,
        converted=converted,
        same=np.where(converted, code[closing], -1).astype("int32"),
        touch_journey=journey[kept],
        touch_us=us[kept],
        touch_code=code[kept],
        firsts=unit[first],
        conv_unit=unit[conv],
        conv_seq=seq[conv],
    )


def _prefetched(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The batches, read ahead in a thread: the engine produces while the caller folds."""
    ahead: queue.Queue[object] = queue.Queue(maxsize=4)
    done = object()

    def produce() -> None:
        try:
            for batch in batches:
                ahead.put(batch)
        except BaseException as error:  # handed to the consumer
            ahead.put(error)
        ahead.put(done)

    thread = threading.Thread(target=produce, name="journeylens-prefetch", daemon=True)
    thread.start()
    while (item := ahead.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, pa.RecordBatch)
        yield item
    thread.join()


def _fold(
    batches: Iterable[pa.RecordBatch], spec: AttributionSpec
) -> tuple[list[_Block], list[str]] | None:
    """Fold the batches; ``None`` when the rows are not clustered by unit and seq."""
    labels = _Labels()
    blocks: list[_Block] = []
    carried: tuple[np.ndarray, ...] = ()
    for batch in batches:
        if not batch.num_rows:
            continue
        arrays: tuple[np.ndarray, ...] = (
            _numbers(batch.column("unit_id"), "int64"),
            _numbers(batch.column("seq"), "int64"),
            _numbers(batch.column("us"), "int64"),
            _numbers(batch.column("is_conv"), "int8").astype(bool),
            labels.codes(batch.column("v")),
        )
        if carried:
            arrays = tuple(np.concatenate([c, a]) for c, a in zip(carried, arrays, strict=True))
        unit = arrays[0]
        # the last customer of the batch may go on in the next one: carry it over
        cut = int(np.flatnonzero(unit != unit[-1])[-1]) + 1 if unit[0] != unit[-1] else 0
        whole, carried = tuple(a[:cut] for a in arrays), tuple(a[cut:] for a in arrays)
        if cut and not _add_block(blocks, whole, spec):
            return None
    if carried and not _add_block(blocks, carried, spec):
        return None
    if blocks:
        firsts = np.concatenate([b.firsts for b in blocks])
        firsts.sort()
        if np.any(firsts[1:] == firsts[:-1]):
            return None
    return blocks, labels.names


def _add_block(blocks: list[_Block], arrays: tuple[np.ndarray, ...], spec: AttributionSpec) -> bool:
    """Fold ``arrays`` (unit, seq, us, conv, code) into ``blocks``; False if not clustered."""
    unit, seq, us, conv, code = arrays
    block = _fold_block(unit, seq, us, conv, code, spec)
    if block is not None:
        blocks.append(block)
    return block is not None


@dataclass
class Journeys:
    """Every journey (end time, converted, revenue, the conversion's value) and its kept
    touchpoints (journey index, time, value code), in customer and time order."""

    labels: list[str]
    end_us: np.ndarray
    converted: np.ndarray
    """bool per journey."""
    revenue: np.ndarray
    """float64 per journey: the conversion's revenue (0 for open journeys)."""
    same: np.ndarray
    """int32 per journey: the conversion event's own value code (-1: none)."""
    touch_journey: np.ndarray
    """int64 per kept touchpoint: its journey."""
    touch_us: np.ndarray
    touch_code: np.ndarray
    """int32 per kept touchpoint: its value code (-1: NULL)."""

    @classmethod
    def read(
        cls,
        engine: Engine,
        spec: AttributionSpec,
        codes: Mapping[str, int] | None,
        as_of: datetime,
    ) -> Journeys:
        """Fold the journeys of ``customer_events`` up to ``as_of``."""
        events = compile_events(spec, codes, as_of, revenue=False)
        folded = _fold(_prefetched(engine.batches(events, BATCH_ROWS)), spec)
        if folded is None:  # not stored clustered: let the engine sort
            ordered = events.order_by(col("unit_id"), col("seq"))
            folded = _fold(_prefetched(engine.batches(ordered, BATCH_ROWS)), spec)
            assert folded is not None, "rows sorted by unit and seq are clustered"
        blocks, labels = folded
        conversions = engine.arrow(compile_conversions(spec, codes, as_of))
        return cls._joined(blocks, labels, conversions, spec)

    @classmethod
    def _joined(
        cls, blocks: list[_Block], labels: list[str], conversions: pa.Table, spec: AttributionSpec
    ) -> Journeys:
        def joined(name: str, dtype: str) -> np.ndarray:
            parts = [getattr(b, name) for b in blocks]
            return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

        counts = np.array([len(b.end_us) for b in blocks], dtype="int64")
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        touch_journey = (
            np.concatenate([b.touch_journey + o for b, o in zip(blocks, offsets, strict=True)])
            if blocks
            else np.zeros(0, dtype="int64")
        )
        converted = joined("converted", "bool")
        revenue = np.zeros(len(converted))
        revenue[converted] = _revenue(
            joined("conv_unit", "int64"), joined("conv_seq", "int64"), conversions
        )
        journeys = cls(
            labels=labels,
            end_us=joined("end_us", "int64"),
            converted=converted,
            revenue=revenue,
            same=joined("same", "int32"),
            touch_journey=touch_journey,
            touch_us=joined("touch_us", "int64"),
            touch_code=joined("touch_code", "int32"),
        )
        return journeys if spec.since is None else journeys._ending_since(epoch_us(spec.since))

    def _ending_since(self, since_us: int) -> Journeys:
        """Only the journeys that end at or after ``since_us`` (their touchpoints were kept
        only for those)."""
        chosen = self.end_us >= since_us
        renumber = np.cumsum(chosen) - 1
        return Journeys(
            labels=self.labels,
            end_us=self.end_us[chosen],
            converted=self.converted[chosen],
            revenue=self.revenue[chosen],
            same=self.same[chosen],
            touch_journey=renumber[self.touch_journey],
            touch_us=self.touch_us,
            touch_code=self.touch_code,
        )

    def paths(self) -> pa.Table:
        """``path, same_touch, conversions, revenue, non_conversions``: the journeys grouped by
        path and by the conversion event's own value (the columns of ``compile_paths``)."""
        journeys = len(self.end_us)
        lengths = np.bincount(self.touch_journey, minlength=journeys)
        offsets = np.zeros(journeys + 1, dtype="int64")
        np.cumsum(lengths, out=offsets[1:])
        width = 1 if len(self.labels) < 255 else 2 if len(self.labels) < 65_535 else 4
        byte_codes = (self.touch_code + 1).astype(f"<u{width}")  # 0 stands for NULL
        keys = pa.LargeBinaryArray.from_buffers(
            pa.large_binary(),
            journeys,
            [None, pa.py_buffer(offsets * width), pa.py_buffer(byte_codes.tobytes())],
        )
        converted = self.converted.astype("int64")
        grouped = (
            pa.table(
                {
                    "key": keys,
                    "same": self.same,
                    "conversions": converted,
                    "revenue": self.revenue,
                    "non_conversions": 1 - converted,
                }
            )
            .group_by(["key", "same"], use_threads=False)
            .aggregate([("conversions", "sum"), ("revenue", "sum"), ("non_conversions", "sum")])
        )
        return pa.table(
            {
                "path": self._decode(grouped.column("key").combine_chunks(), width),
                "same_touch": self._labelled(grouped.column("same").to_numpy()),
                "conversions": grouped.column("conversions_sum"),
                "revenue": grouped.column("revenue_sum"),
                "non_conversions": grouped.column("non_conversions_sum"),
            }
        )

    def _labelled(self, codes: np.ndarray) -> pa.Array:
        labels = pa.array(self.labels, type=pa.string())
        indices = pa.array(codes, mask=codes < 0, type=pa.int32())
        return labels.take(indices)

    def _decode(self, keys: pa.Array, width: int) -> pa.Array:
        if len(keys) == 0:
            return pa.array([], type=pa.list_(pa.string()))
        _, offset_buffer, data_buffer = keys.buffers()
        byte_offsets = np.frombuffer(offset_buffer, dtype="int64")[
            keys.offset : keys.offset + len(keys) + 1
        ]
        codes = (
            np.frombuffer(data_buffer, dtype=f"<u{width}")[
                byte_offsets[0] // width : byte_offsets[-1] // width
            ].astype("int64")
            - 1
        )
        offsets = ((byte_offsets - byte_offsets[0]) // width).astype("int32")
        return pa.ListArray.from_arrays(pa.array(offsets), self._labelled(codes))

    def time_decay(self, half_life_days: float) -> tuple[np.ndarray, np.ndarray]:
        """Time-decay credit per label (conversions, revenue): a kept touchpoint Δt before its
        conversion weighs 2^(−Δt / half-life); each conversion's weights sum to 1."""
        converted = self.converted[self.touch_journey]
        journey = self.touch_journey[converted]
        age = (self.end_us[journey] - self.touch_us[converted]).astype("float64")
        youngest = np.zeros(len(self.end_us))
        if len(journey):
            opening = np.flatnonzero(np.diff(journey, prepend=-1))
            youngest[journey[opening]] = np.minimum.reduceat(age, opening)
        # relative to the journey's youngest touchpoint: the same shares, and no underflow
        weight = np.exp2(-(age - youngest[journey]) / (half_life_days * 86_400e6))
        total = np.bincount(journey, weights=weight, minlength=len(self.end_us))
        share = weight / total[journey]
        code = self.touch_code[converted]
        valid = code >= 0
        size = len(self.labels)
        conversions = np.bincount(code[valid], weights=share[valid], minlength=size)
        revenue = np.bincount(
            code[valid], weights=(share * self.revenue[journey])[valid], minlength=size
        )
        return conversions, revenue


def _revenue(unit: np.ndarray, seq: np.ndarray, conversions: pa.Table) -> np.ndarray:
    """The revenue of the conversions (unit, seq) in that order, from the conversions query."""
    by_unit = _numbers(conversions.column("unit_id"), "int64")
    by_seq = _numbers(conversions.column("seq"), "int64")
    revenue = _numbers(conversions.column("revenue"), "float64")
    if np.array_equal(unit, by_unit) and np.array_equal(seq, by_seq):
        return revenue
    wanted = np.lexsort((seq, unit))
    found = np.lexsort((by_seq, by_unit))
    if not (
        np.array_equal(unit[wanted], by_unit[found]) and np.array_equal(seq[wanted], by_seq[found])
    ):
        raise StorageError(
            "customer_events changed while attribution read it; run the query again",
            table="customer_events",
        )
    result = np.empty(len(unit))
    result[wanted] = revenue[found]
    return result
