"""Property tests: the SQL import against a short pure-Python reference, and the docs."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import journeylens
from journeylens.events import mapping as mapping_module

ROME = ZoneInfo("Europe/Rome")
MAPPING = """\
source: shop
file: {delimiter: ";", decimal: ",", thousands: "."}
events:
  event: purchase
  id: {template: "o-{n}"}
  timestamp: {column: quando, format: "%d/%m/%Y %H:%M", timezone: Europe/Rome}
  user_id: cliente
  revenue: totale
  currency: EUR
"""

good_row = st.tuples(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)).map(
        lambda d: d.replace(hour=max(d.hour, 4), second=0, microsecond=0)  # no DST gap/overlap
    ),
    st.integers(min_value=0, max_value=10**9).map(lambda c: Decimal(c) / 100),
    st.booleans(),
)
bad_row = st.sampled_from(["12,5O", "€", "1,2,3", "abc"])


def italian(amount: Decimal, grouped: bool) -> str:
    units, cents = f"{amount:.2f}".split(".")
    if grouped:
        units = f"{int(units):,}".replace(",", ".")
    return f"{units},{cents}"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.one_of(good_row, bad_row), min_size=1, max_size=30))
def test_import_matches_a_python_reference(rows: list[object]) -> None:
    lines = ["n;quando;cliente;totale"]
    expected: dict[str, tuple[datetime, Decimal]] = {}
    bad: list[int] = []
    for number, row in enumerate(rows, start=1):
        if isinstance(row, str):
            lines.append(f"{number};01/01/2026 10:00;c;{row}")
            bad.append(number)
            continue
        when, amount, grouped = row  # type: ignore[misc]
        lines.append(f"{number};{when:%d/%m/%Y %H:%M};c;{italian(amount, grouped)}")
        utc = when.replace(tzinfo=ROME).astimezone(UTC).replace(tzinfo=None)
        expected[f"o-{number}"] = (utc, amount)
    with tempfile.TemporaryDirectory() as folder:
        data, mapping = Path(folder) / "o.csv", Path(folder) / "o.yaml"
        data.write_text("\n".join(lines) + "\n", encoding="utf-8")
        mapping.write_text(MAPPING, encoding="utf-8")
        with journeylens.create_workspace(Path(folder) / "ws") as ws:
            report = ws.import_file(data, mapping, on_error="skip")
            got = {
                r["event_id"]: (r["ts"], r["revenue"])
                for r in ws.engine.rows("SELECT event_id, ts, revenue FROM events")
            }
    assert got == expected
    assert [e.row for e in report.errors] == bad
    assert (report.read, report.stored, report.rejected) == (len(rows), len(expected), len(bad))


def test_local_times_across_both_dst_changes() -> None:
    """Every half hour of 2026 around the changes, against zoneinfo (away from the gap)."""
    stamps = [datetime(2026, 3, 28, 4) + timedelta(minutes=30 * i) for i in range(96)]
    stamps += [datetime(2026, 10, 24, 4) + timedelta(minutes=30 * i) for i in range(96)]
    stamps = [s for s in stamps if not (s.day in (29, 25) and 1 <= s.hour < 4)]
    lines = ["n;quando;cliente;totale"] + [
        f"{i};{s:%d/%m/%Y %H:%M};c;1" for i, s in enumerate(stamps)
    ]
    with tempfile.TemporaryDirectory() as folder:
        data, mapping = Path(folder) / "o.csv", Path(folder) / "o.yaml"
        data.write_text("\n".join(lines) + "\n", encoding="utf-8")
        mapping.write_text(MAPPING, encoding="utf-8")
        with journeylens.create_workspace(Path(folder) / "ws") as ws:
            ws.import_file(data, mapping)
            got = {
                r["event_id"]: r["ts"] for r in ws.engine.rows("SELECT event_id, ts FROM events")
            }
    assert got == {
        f"o-{i}": s.replace(tzinfo=ROME).astimezone(UTC).replace(tzinfo=None)
        for i, s in enumerate(stamps)
    }


def test_every_mapping_key_and_canonical_name_is_documented() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "import.md").read_text(encoding="utf-8")
    keys = (
        mapping_module._TOP_KEYS
        + mapping_module._FILE_KEYS
        + mapping_module._EVENT_KEYS
        + mapping_module._SPEC_KEYS
        + mapping_module._TS_KEYS
    )
    for key in keys:
        documented = f"`{key}" in docs or f"{{{key}:" in docs
        assert documented, f"mapping key {key!r} is missing from docs/import.md"
    for names in mapping_module.CANONICAL_NAMES.values():
        for name in names:
            assert f"`{name}`" in docs, f"canonical column {name!r} is missing from docs"
