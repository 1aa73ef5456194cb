"""Purchase intents: each person's occasions to buy in the year, with what and when.

An intent is a stay the person considers (hotel) or a purchase (shop). It has an anchor — the
moment of the decision: booking for the hotel (a lead time before the stay), the purchase for the
shop — a mode (website, app, till, phone, partner portal, tour operator) and the order it would
produce. Whether it converts is decided later, where the decision happens (the checkout, the
till, the phone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from journeylens.demo import catalogue as cat
from journeylens.demo.patterns import (
    APP,
    PHONE,
    SEGMENT_INDEX,
    SEGMENTS,
    STORE,
    TOUR,
    WEB,
    choose,
    mode_matrix,
    segment_array,
)
from journeylens.demo.people import People
from journeylens.demo.seasons import HOURS, Window, sample_seconds

__all__ = ["Intents", "plan_intents"]

_MODES = mode_matrix()
PRODUCT_PRICE = np.array([round(p[3] * 10_000) for p in cat.PRODUCTS], dtype=np.int64)
PRODUCT_BY_PRICE = np.argsort(PRODUCT_PRICE, kind="stable")
ROOM_PRICE = np.array([round(r[2] * 10_000) for r in cat.ROOMS], dtype=np.int64)
SEASON_PRICE = np.array([0, 0.85, 0.85, 0.9, 1.0, 1.05, 1.2, 1.4, 1.5, 1.15, 1.0, 0.85, 1.1])
RATE_PLANS = ("flexible", "non_refundable", "corporate", "group", "package")
RATE_FACTOR = np.array([1.0, 0.9, 0.85, 0.8, 1.05])
FOREIGN_RATE = {2: 0.94, 3: 1.08}
"""EUR → CHF and USD, for the hotel's bookings in the guest's currency."""
SHIPPING = 49_000  # 4.90 EUR
FREE_SHIPPING = 490_000
DISCOUNT_PERCENT = np.array([30, 10, 15, 20])


@dataclass
class Intents:
    person: np.ndarray
    number: np.ndarray
    """Global intent number (person index · 100 + k): order and booking ids are made of it."""
    segment: np.ndarray
    brand: np.ndarray
    mode: np.ndarray
    day: np.ndarray
    """Local day of the decision."""
    anchor: np.ndarray
    """UTC µs of the decision."""
    item: np.ndarray
    """Product (shop) or room (hotel) index."""
    item2: np.ndarray
    """A second product (shop), -1 if none."""
    quantity: np.ndarray
    quantity2: np.ndarray
    stay_day: np.ndarray
    nights: np.ndarray
    adults: np.ndarray
    children: np.ndarray
    rooms: np.ndarray
    rate: np.ndarray
    discount: np.ndarray
    """Index into DISCOUNT_CODES, -1 if none."""
    shipping: np.ndarray
    revenue: np.ndarray
    """Ten-thousandths of ``currency``."""
    currency: np.ndarray
    wholesale: np.ndarray

    def __len__(self) -> int:
        return len(self.person)


def plan_intents(
    rng: np.random.Generator, people: People, win: Window, profiles: dict[str, np.ndarray]
) -> Intents:
    fixed = segment_array("intents", object)
    counts = np.array([f[0] for f in fixed])[people.segment] + rng.poisson(
        np.array([f[1] for f in fixed])[people.segment]
    )
    counts = np.minimum(counts, 60)
    person = np.repeat(np.arange(people.n), counts)
    k = np.arange(len(person)) - np.repeat(np.cumsum(counts) - counts, counts)
    n = len(person)
    seg = people.segment[person]
    brand = people.brand[person]
    mode = choose(rng, _MODES, seg)
    mode[(mode == APP) & ~people.app_user[person]] = WEB
    hotel = brand == cat.HOTEL

    day = np.zeros(n, dtype=np.int64)
    stay_day = np.zeros(n, dtype=np.int64)
    nights = np.ones(n, dtype=np.int64)
    for code, s in enumerate(SEGMENTS):
        sel = np.flatnonzero(seg == code)
        if len(sel) == 0:
            continue
        if s.brand == cat.HOTEL:
            stay = win.sample_days(rng, 0, win.days + 60, profiles[s.season], len(sel))
            lead = s.lead[0] + rng.gamma(s.lead[1], max(s.lead[2], 1e-9), len(sel))
            stay_day[sel] = stay
            day[sel] = stay - np.round(lead).astype(np.int64)
            nights[sel] = rng.integers(s.nights[0], s.nights[1] + 1, len(sel))
            if s.key == "families":
                nights[sel] = np.where(rng.random(len(sel)) < 0.5, 7, nights[sel])
        else:
            day[sel] = win.sample_days(rng, 0, win.days, profiles[s.season], len(sel))
    in_store = np.flatnonzero(mode == STORE)
    day[in_store] = win.sample_days(rng, 0, win.days, profiles["shop_store"], len(in_store))
    hours = np.where(mode == STORE, 1, np.where(mode == PHONE, 2, 0))
    seconds = np.select(
        [hours == 0, hours == 1],
        [sample_seconds(rng, HOURS["web"], n), sample_seconds(rng, HOURS["store"], n)],
        sample_seconds(rng, HOURS["office"], n),
    )
    anchor = win.to_utc(day, seconds)

    lo = np.array([s.price_band[0] for s in SEGMENTS])[seg]
    hi = np.array([s.price_band[1] for s in SEGMENTS])[seg]
    rank = lo + (rng.random(n) * np.maximum(hi - lo, 1)).astype(np.int64)
    shop_item = PRODUCT_BY_PRICE[np.clip(rank, 0, len(cat.PRODUCTS) - 1)]
    room = np.clip(rank, 0, len(cat.ROOMS) - 1)
    item = np.where(hotel, room, shop_item)
    item2 = np.where(
        ~hotel & (rng.random(n) < np.where(seg == SEGMENT_INDEX["bargain_hunters"], 0.12, 0.4)),
        rng.integers(0, len(cat.PRODUCTS), n),
        -1,
    )
    item2 = np.where(item2 == item, -1, item2)
    basket = segment_array("basket")[seg]
    wholesale = basket > 1
    quantity = np.where(
        wholesale, np.round(basket * (1 + rng.poisson(1.0, n))), 1 + rng.poisson(0.25, n)
    ).astype(np.int64)
    quantity2 = np.where(item2 >= 0, np.where(wholesale, quantity, 1), 0)

    adults = np.where(
        seg == SEGMENT_INDEX["families"],
        2,
        np.where(
            np.isin(seg, (SEGMENT_INDEX["business"], SEGMENT_INDEX["corporate_travellers"])), 1, 2
        ),
    )
    children = np.where(
        seg == SEGMENT_INDEX["families"],
        1 + rng.binomial(2, 0.4, n),
        rng.poisson(segment_array("children")[seg]),
    ).astype(np.int64)
    children[~hotel] = 0
    adults[~hotel] = 0
    group = seg == SEGMENT_INDEX["travel_agents"]
    rooms = np.where(group, rng.integers(4, 16, n), 1)
    adults = np.where(group, rooms * 2, adults)
    rate = np.where(
        group,
        3,
        np.where(
            seg == SEGMENT_INDEX["corporate_travellers"], 2, np.where(rng.random(n) < 0.35, 1, 0)
        ),
    )
    rate = np.where(mode == TOUR, 4, rate)

    month = win.month[win.index(stay_day)]
    nightly = ROOM_PRICE[room] * SEASON_PRICE[month] * RATE_FACTOR[rate]
    hotel_revenue = np.round(nightly * nights * rooms / 100).astype(np.int64) * 100

    bf = win.black_friday[win.index(day)]
    key = win.day_of_year_key[win.index(day)]
    bargain = seg == SEGMENT_INDEX["bargain_hunters"]
    u = rng.random(n)
    discount = np.full(n, -1, dtype=np.int64)
    discount[(np.abs(bf) <= 4) & (u < np.where(bargain, 0.8, 0.2))] = 0
    discount[(discount < 0) & (key >= 1201) & (key <= 1224) & (u < 0.25)] = 3
    discount[(discount < 0) & bargain & (u < 0.3)] = 1
    discount[wholesale | hotel] = -1
    unit = np.where(wholesale, PRODUCT_PRICE[shop_item] * 6 // 10, PRODUCT_PRICE[shop_item])
    unit2 = np.where(item2 >= 0, PRODUCT_PRICE[np.maximum(item2, 0)], 0)
    unit2 = np.where(wholesale, unit2 * 6 // 10, unit2)
    goods = unit * quantity + unit2 * quantity2
    percent = np.where(discount >= 0, DISCOUNT_PERCENT[np.maximum(discount, 0)], 0)
    goods = goods - (goods * percent // 100) // 100 * 100
    shipping = np.where(goods < FREE_SHIPPING, SHIPPING, 0)
    shop_revenue = goods + shipping

    currency = np.ones(n, dtype=np.int8)
    country = people.country[person]
    foreign_pay = hotel & (mode == WEB)
    currency[foreign_pay & (country == 2) & (rng.random(n) < 0.7)] = 2
    currency[foreign_pay & (country == 5) & (rng.random(n) < 0.8)] = 3
    factor = np.ones(n)
    for code, rate_to in FOREIGN_RATE.items():
        factor[currency == code] = rate_to
    hotel_revenue = np.round(hotel_revenue * factor / 100).astype(np.int64) * 100
    revenue = np.where(hotel, hotel_revenue, shop_revenue)
    return Intents(
        person=person,
        number=people.gidx[person] * 100 + k,
        segment=seg,
        brand=brand,
        mode=mode,
        day=day,
        anchor=anchor,
        item=item,
        item2=item2,
        quantity=quantity,
        quantity2=quantity2,
        stay_day=stay_day,
        nights=nights,
        adults=adults,
        children=children,
        rooms=rooms,
        rate=rate,
        discount=discount,
        shipping=shipping,
        revenue=revenue,
        currency=currency,
        wholesale=wholesale,
    )
