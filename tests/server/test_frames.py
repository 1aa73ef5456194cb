"""Journal frames: the column-wise table of a request equals Arrow's own row conversion."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from journeylens.events.journal import encode_frame, read_frames
from journeylens.events.store import STAGED_SCHEMA
from journeylens.server.ingest import rows_table

POOLS: dict[str, list[Any]] = {
    "string": ["a", "b", "", "€ ü", None],
    "timestamp[us]": [datetime(2026, 11, 20, 10), datetime(1, 1, 1), datetime(9999, 12, 31), None],
    "decimal128(18, 4)": [Decimal("1.0000"), Decimal("-0.5000"), Decimal("12345678901234.5678"),
                          None],
}  # fmt: skip


def column(field: pa.Field) -> st.SearchStrategy[Any]:
    pool = POOLS[str(field.type)]
    return st.sampled_from(pool if field.nullable else [v for v in pool if v is not None])


ROW = st.fixed_dictionaries({f.name: column(f) for f in STAGED_SCHEMA})


@settings(max_examples=300, deadline=None)
@given(st.lists(ROW, min_size=1, max_size=6), st.booleans())
def test_rows_table_equals_from_pylist(rows: list[dict[str, Any]], same: bool) -> None:
    if same:  # every column constant: the common case of a request's receive time, source…
        rows = [dict(rows[0]) for _ in rows]
    table = rows_table(rows)
    assert table.schema.equals(STAGED_SCHEMA)
    assert table.equals(pa.Table.from_pylist(rows, schema=STAGED_SCHEMA))
    frames, end = read_frames(encode_frame(table, source="web", data_party="first"))
    assert end > 0 and frames[0].table.equals(table)
    assert (frames[0].source, frames[0].data_party) == ("web", "first")
