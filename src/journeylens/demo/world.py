"""What every generator of a run shares: the window, the seasonal profiles, date texts, lookups
of the catalogue as Arrow arrays (built once per process)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pyarrow as pa

from journeylens.demo import catalogue as cat
from journeylens.demo.columns import quoted
from journeylens.demo.seasons import PAD, Window

__all__ = ["LOOKUP", "World", "make_world"]

PROFILES = (
    "shop_online",
    "shop_bargain",
    "shop_gift",
    "shop_store",
    "stay_family",
    "stay_couple",
    "stay_business",
    "stay_group",
    "flat",
)


@dataclass(frozen=True)
class World:
    win: Window
    profiles: dict[str, np.ndarray]
    iso: pa.Array
    """ISO date of every (padded) day index."""
    newsletter_days: tuple[np.ndarray, np.ndarray]
    """Day indices of each brand's newsletter sends (hotel, shop)."""
    newsletter_sends: tuple[np.ndarray, np.ndarray]
    """UTC µs of the sends: every other Tuesday (hotel) or Thursday (shop), 10:00 Rome time."""

    def date_text(self, day: np.ndarray) -> pa.Array:
        return self.iso.take(pa.array(self.win.index(day)))


def make_world(win: Window) -> World:
    first = win.start - timedelta(days=PAD)
    iso = pa.array([(first + timedelta(days=i)).isoformat() for i in range(win.days + 2 * PAD)])
    days = []
    for weekday in (1, 3):
        found = np.flatnonzero(win.weekday[win.index(np.arange(win.days))] == weekday)
        days.append(found[::2])
    sends = tuple(win.to_utc(d, np.full(len(d), 10 * 3600)) for d in days)
    return World(
        win,
        {name: win.profile(name) for name in PROFILES},
        iso,
        (days[0], days[1]),
        (sends[0], sends[1]),
    )


def _s(values: list[str]) -> pa.Array:
    return pa.array(values, pa.string())


class _Lookup:
    """Catalogue columns as Arrow arrays (quoted where they are free text)."""

    def __init__(self) -> None:
        self.brand_q = quoted([b.name for b in cat.BRANDS])
        self.brand_key = _s([b.key for b in cat.BRANDS])
        self.domain = _s([b.domain for b in cat.BRANDS])
        self.product_id = _s([p[0] for p in cat.PRODUCTS])
        self.product_name_q = quoted([p[1] for p in cat.PRODUCTS])
        self.product_category = _s([p[2] for p in cat.PRODUCTS])
        self.product_path = _s(["/prodotti/" + p[4] for p in cat.PRODUCTS])
        self.room_id = _s([r[0] for r in cat.ROOMS])
        self.room_name_q = quoted([r[1] for r in cat.ROOMS])
        self.room_path = _s(["/camere/" + r[3] for r in cat.ROOMS])
        pages = (cat.HOTEL_PAGES, cat.SHOP_PAGES)
        self.page_offset = np.array([0, len(cat.HOTEL_PAGES)])
        self.page_count = np.array([len(p) for p in pages])
        self.page_path = _s([p[0] for group in pages for p in group])
        self.page_title_q = quoted([p[1] for group in pages for p in group])
        self.page_type = _s([p[2] for group in pages for p in group])


LOOKUP = _Lookup()
