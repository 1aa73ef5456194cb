"""The demo's calendar: the 12-month window, seasonality, hours of the day, Rome time → UTC.

Days are integers: 0 is the window's first day, ``window.days - 1`` its last; negative days and
days after the end exist (research before the window, stays after it) and are converted like any
other, but events outside the window are dropped by the generator. Times are drawn as a local
(Europe/Rome) day and second and converted to UTC with the zone's real offsets, so daylight
saving is right to the hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np

__all__ = ["DEMO_END", "HOURS", "TIMEZONE", "Window", "window"]

TIMEZONE: Final = "Europe/Rome"
DEMO_END: Final = date(2026, 10, 31)
"""Default last day of the demo (12 months: 2025-11-01 … 2026-10-31)."""
PAD: Final = 420
"""Days before and after the window that can be converted (lead times, late stays)."""
US: Final = 1_000_000
DAY_US: Final = 86_400 * US


def _hours(*pairs: tuple[int, float]) -> np.ndarray:
    weights = np.full(24, 0.0)
    for hour, weight in pairs:
        weights[hour] = weight
    return np.asarray(weights / weights.sum())


HOURS: Final = {
    "web": _hours(
        (0, 0.5),
        (1, 0.25),
        (2, 0.1),
        (3, 0.05),
        (4, 0.05),
        (5, 0.1),
        (6, 0.4),
        (7, 1),
        (8, 1.6),
        (9, 2),
        (10, 2.2),
        (11, 2.3),
        (12, 2.6),
        (13, 2.9),
        (14, 2.4),
        (15, 2.2),
        (16, 2.2),
        (17, 2.4),
        (18, 2.6),
        (19, 2.8),
        (20, 3.3),
        (21, 3.6),
        (22, 2.8),
        (23, 1.4),
    ),
    "store": _hours(
        (9, 0.6),
        (10, 1.2),
        (11, 1.6),
        (12, 1.4),
        (13, 0.8),
        (14, 0.7),
        (15, 1.1),
        (16, 1.5),
        (17, 1.9),
        (18, 1.8),
        (19, 1.0),
    ),
    "check_in": _hours(
        (13, 0.6),
        (14, 1.5),
        (15, 2.0),
        (16, 2.0),
        (17, 1.8),
        (18, 1.4),
        (19, 0.9),
        (20, 0.6),
        (21, 0.3),
        (22, 0.1),
    ),
    "check_out": _hours((7, 0.5), (8, 1.5), (9, 2.2), (10, 2.5), (11, 1.2)),
    "office": _hours(
        (9, 1.2),
        (10, 1.6),
        (11, 1.6),
        (12, 1.1),
        (14, 1.2),
        (15, 1.4),
        (16, 1.3),
        (17, 1.0),
        (18, 0.5),
    ),
    "batch": _hours((2, 1.0), (3, 1.0)),
}
"""Hour-of-day weights (local time) by kind of touchpoint."""


@dataclass(frozen=True)
class Window:
    """The local days of the demo and their calendar facts."""

    start: date
    days: int
    epoch_day: np.ndarray
    """Days since 1970-01-01 of each day index (offset by PAD)."""
    offset_us: np.ndarray
    """UTC offset (microseconds) of each day index and local hour, shape (days + 2·PAD, 24)."""
    month: np.ndarray
    weekday: np.ndarray
    """0 = Monday … 6 = Sunday."""
    day_of_year_key: np.ndarray
    """month·100 + day of month."""
    black_friday: np.ndarray
    """Days from the nearest Black Friday (signed, per day index)."""

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days - 1)

    @property
    def start_us(self) -> int:
        return int(self.to_utc(np.array([0]), np.array([0]))[0])

    @property
    def end_us(self) -> int:
        """UTC microsecond of the local midnight that closes the window (exclusive)."""
        return int(self.to_utc(np.array([self.days]), np.array([0]))[0])

    def index(self, day: np.ndarray) -> np.ndarray:
        return np.asarray(np.clip(day + PAD, 0, self.days + 2 * PAD - 1))

    def to_utc(self, day: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        """UTC microseconds of local ``day`` (index) and ``seconds`` after local midnight."""
        i = self.index(day.astype(np.int64))
        seconds = seconds.astype(np.int64)
        hour = np.clip(seconds // 3600, 0, 23)
        local = self.epoch_day[i] * DAY_US + seconds * US
        return np.asarray(local - self.offset_us[i, hour])

    def weights(self, first: int, last: int, values: np.ndarray) -> np.ndarray:
        """Normalised day weights over indices ``first … last - 1`` from per-index ``values``."""
        w = values[self.index(np.arange(first, last))]
        return np.asarray(w / w.sum())

    def sample_days(
        self, rng: np.random.Generator, first: int, last: int, values: np.ndarray, n: int
    ) -> np.ndarray:
        """``n`` day indices in ``first … last - 1`` drawn with weights ``values``."""
        cumulative = np.cumsum(self.weights(first, last, values))
        return first + np.minimum(np.searchsorted(cumulative, rng.random(n)), last - first - 1)

    def profile(self, name: str) -> np.ndarray:
        """Relative activity per day index for a named seasonal profile (see docs/demo.md)."""
        return _profile(self, name)


def sample_seconds(rng: np.random.Generator, hours: np.ndarray, n: int) -> np.ndarray:
    """Seconds after local midnight with the hour-of-day weights ``hours``."""
    hour = np.minimum(np.searchsorted(np.cumsum(hours), rng.random(n)), 23)
    return hour * 3600 + rng.integers(0, 3600, n)


def _month_weights(values: tuple[float, ...]) -> np.ndarray:
    return np.array((0.0, *values))


def _profile(w: Window, name: str) -> np.ndarray:
    m, wd, key, bf = w.month, w.weekday, w.day_of_year_key, w.black_friday
    if name == "shop_online":
        base = _month_weights((0.9, 1, 0.85, 0.9, 1, 0.8, 0.85, 0.6, 0.9, 1, 1.3, 1.7))[m]
        base *= np.select([wd == 6, wd == 0, wd == 5], [1.2, 1.15, 0.85], 1.0)
        base *= np.where((key >= 207) & (key <= 214), 1.6, 1)
        base *= np.where(_mothers_day_week(w), 1.6, 1)
        base *= np.where(np.abs(bf) <= 3, 3.0, 1) * np.where((bf >= 0) & (bf <= 3), 1.5, 1)
        base *= np.where((key >= 1201) & (key <= 1222), 1.8, 1)
        base *= np.where((key >= 1224) & (key <= 1226), 0.3, 1)
        return np.asarray(base)
    if name == "shop_bargain":
        base = _profile(w, "shop_online")
        base *= np.where(np.abs(bf) <= 4, 4.0, 1)
        base *= np.where(((key >= 103) & (key <= 131)) | ((key >= 701) & (key <= 731)), 1.8, 1)
        return np.asarray(base)
    if name == "shop_gift":
        base = _month_weights((0.2, 0.6, 0.3, 0.3, 0.8, 0.3, 0.3, 0.2, 0.3, 0.4, 1.2, 3.5))[m]
        base *= np.where((key >= 1205) & (key <= 1222), 2.5, 1)
        base *= np.where((key >= 207) & (key <= 214), 3.0, 1)
        base *= np.where(_mothers_day_week(w), 3.0, 1)
        return np.asarray(base)
    if name == "shop_store":
        base = _month_weights((0.9, 0.9, 0.9, 0.95, 1, 0.9, 0.85, 0.65, 0.95, 1, 1.2, 1.8))[m]
        base *= np.select([wd == 5, wd == 6], [1.9, 0.4], 1.0)
        base *= np.where((key >= 1201) & (key <= 1223), 1.6, 1) * np.where(key == 1225, 0, 1)
        return np.asarray(base)
    if name == "stay_family":
        base = _month_weights((0.1, 0.2, 0.3, 0.6, 0.6, 1.8, 4.0, 4.5, 1.0, 0.5, 0.1, 0.4))[m]
        return np.asarray(base * np.select([wd == 5, wd == 6], [2.5, 1.8], 0.6))
    if name == "stay_couple":
        base = _month_weights((0.2, 0.6, 0.8, 1.3, 1.5, 1.2, 0.9, 0.9, 1.5, 1.2, 0.4, 0.6))[m]
        base *= np.select([wd == 4, wd == 5], [2.5, 1.8], 0.35)
        return np.asarray(base * np.where((key >= 212) & (key <= 215), 2.0, 1))
    if name == "stay_business":
        base = _month_weights((0.8, 1, 1.1, 1.1, 1.1, 1, 0.6, 0.15, 1.1, 1.2, 1.1, 0.5))[m]
        return np.asarray(base * np.select([wd <= 2, wd == 3], [1.6, 0.8], 0.05))
    if name == "stay_group":
        base = _month_weights((0.1, 0.2, 0.5, 1.3, 1.6, 1.3, 0.9, 0.6, 1.4, 1.2, 0.2, 0.3))[m]
        return np.asarray(base * np.where(wd <= 4, 1.0, 0.5))
    if name == "flat":
        return np.ones(len(m))
    raise KeyError(name)


def _mothers_day_week(w: Window) -> np.ndarray:
    """The week before Italy's Mother's Day (second Sunday of May)."""
    day_of_month = w.day_of_year_key % 100
    second_sunday = (w.month == 5) & (w.weekday == 6) & (day_of_month >= 8) & (day_of_month <= 14)
    days = np.flatnonzero(second_sunday)
    mask = np.zeros(len(w.month), dtype=bool)
    for d in days:
        mask[max(0, d - 7) : d + 1] = True
    return mask


@lru_cache(maxsize=8)
def window(end: date = DEMO_END, days: int = 365) -> Window:
    """The window of ``days`` local days ending on ``end`` (inclusive)."""
    start = end - timedelta(days=days - 1)
    first = start - timedelta(days=PAD)
    n = days + 2 * PAD
    epoch = np.arange(n, dtype=np.int64) + (first - date(1970, 1, 1)).days
    zone = ZoneInfo(TIMEZONE)
    dates = [first + timedelta(days=i) for i in range(n)]
    offsets = np.empty((n, 24), dtype=np.int64)
    for i, d in enumerate(dates):
        noon = datetime(d.year, d.month, d.day, 12, tzinfo=zone).utcoffset()
        midnight = datetime(d.year, d.month, d.day, 0, tzinfo=zone).utcoffset()
        if noon == midnight:
            offsets[i, :] = int(noon.total_seconds()) * US if noon else 0
        else:
            for h in range(24):
                off = datetime(d.year, d.month, d.day, h, tzinfo=zone).utcoffset()
                offsets[i, h] = int(off.total_seconds()) * US if off else 0
    month = np.array([d.month for d in dates])
    weekday = np.array([d.weekday() for d in dates])
    key = np.array([d.month * 100 + d.day for d in dates])
    fridays = [
        i for i, d in enumerate(dates) if d.month == 11 and d.weekday() == 4 and 23 <= d.day <= 29
    ]
    idx = np.arange(n)
    anchors = np.array(fridays) if fridays else np.array([-10_000])
    nearest = anchors[np.argmin(np.abs(idx[:, None] - anchors[None, :]), axis=1)]
    return Window(start, days, epoch, offsets, month, weekday, key, idx - nearest)
