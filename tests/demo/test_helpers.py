"""The vectorised helpers against short pure-Python references (Hypothesis)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from journeylens.demo.columns import Json, decimal_money, hex_ids, money_text, quoted
from journeylens.demo.seasons import DEMO_END, PAD, TIMEZONE, window

ROME = ZoneInfo(TIMEZONE)
WIN = window(DEMO_END)


def _reference_utc(day: int, second: int) -> int:
    local = datetime.combine(WIN.start, datetime.min.time()) + timedelta(days=day, seconds=second)
    aware = local.replace(tzinfo=ROME)  # fold=0: the earlier of two, the offset before a gap
    stamp = aware.astimezone(UTC).replace(tzinfo=None)
    return int((stamp - datetime(1970, 1, 1)) / timedelta(microseconds=1))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-PAD, WIN.days + PAD - 1), st.integers(0, 86_399)),
        min_size=1,
        max_size=50,
    )
)
def test_rome_to_utc_matches_zoneinfo(pairs: list[tuple[int, int]]) -> None:
    days = np.array([d for d, _ in pairs])
    seconds = np.array([s for _, s in pairs])
    assert WIN.to_utc(days, seconds).tolist() == [_reference_utc(d, s) for d, s in pairs]


def test_daylight_saving_days_are_converted_hour_by_hour() -> None:
    # 2026-03-29 (spring forward) and 2025-10-26 (fall back) in Rome.
    for text in ("2026-03-29", "2025-10-26"):
        day = (datetime.fromisoformat(text).date() - WIN.start).days
        hours = np.arange(24) * 3600
        got = WIN.to_utc(np.full(24, day), hours)
        assert got.tolist() == [_reference_utc(day, int(h)) for h in hours]


@given(st.lists(st.integers(0, 10**13), min_size=1, max_size=40), st.sampled_from([2, 4]))
def test_money_text_truncates_like_decimal(units: list[int], decimals: int) -> None:
    got = money_text(np.array(units), decimals).to_pylist()
    step = Decimal(1).scaleb(-decimals)
    assert got == [str((Decimal(u).scaleb(-4)).quantize(step, ROUND_DOWN)) for u in units]


@given(st.lists(st.tuples(st.integers(0, 10**13), st.booleans()), min_size=1, max_size=40))
def test_decimal_money_is_exact(values: list[tuple[int, bool]]) -> None:
    units = np.array([u for u, _ in values])
    present = np.array([p for _, p in values])
    got = decimal_money(units, present).to_pylist()
    assert got == [Decimal(u).scaleb(-4) if p else None for u, p in values]


@given(
    st.lists(
        st.tuples(st.text(max_size=30), st.integers(-5, 5), st.booleans()), min_size=1, max_size=30
    )
)
def test_json_builder_matches_json_dumps(rows: list[tuple[str, int, bool]]) -> None:
    n = len(rows)
    texts = quoted([t for t, _, _ in rows])
    numbers = np.array([v for _, v, _ in rows])
    mask = np.array([m for _, _, m in rows])
    built = (
        Json(n)
        .text("brand", "Bottega Aurora")
        .raw("note", texts)
        .number("n", numbers)
        .optional(mask, "extra", texts)
        .build()
        .to_pylist()
    )
    expected = []
    for text, value, present in rows:
        obj: dict[str, object] = {"brand": "Bottega Aurora", "note": text, "n": value}
        if present:
            obj["extra"] = text
        expected.append(obj)
    assert [json.loads(b) for b in built] == expected


def test_hex_ids_are_unique_hex_of_the_asked_length() -> None:
    ids = hex_ids(np.random.default_rng(1), 10_000, 8, "pos-").to_pylist()
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("pos-") and len(i) == 20 and int(i[4:], 16) >= 0 for i in ids)


def test_window_profiles_follow_the_calendar() -> None:
    index = np.arange(WIN.days)
    shop = WIN.profile("shop_online")[WIN.index(index)]
    black_friday = index[WIN.black_friday[WIN.index(index)] == 0]
    assert len(black_friday) == 1
    assert (WIN.start + timedelta(days=int(black_friday[0]))).isoformat() == "2025-11-28"
    assert shop[black_friday[0]] > 3 * np.median(shop)
    family = WIN.profile("stay_family")[WIN.index(index)]
    months = WIN.month[WIN.index(index)]
    assert family[months == 8].mean() > 5 * family[months == 11].mean()
