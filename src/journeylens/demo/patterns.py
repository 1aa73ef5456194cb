"""Customer groups and planted patterns: the numbers that make the demo tell a story.

docs/demo.md describes each pattern and the size the tests expect; the constants below are the
knobs. The groups (personas) are hidden: no event names them, analyses have to find them from
behaviour (when, what, how, on which device, how often).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np

from journeylens.demo.catalogue import HOTEL, SHOP, TRAFFIC_INDEX

__all__ = [
    "CHECKOUT_ERROR_RATE",
    "NURTURE_LIFT",
    "NURTURE_SHARE",
    "SEGMENTS",
    "SLOW_TICKET_HOURS",
    "SLOW_TICKET_SHARE",
    "Segment",
]

MODES: Final = ("web", "app", "store", "phone", "portal", "tour")
"""How a purchase intent ends: the website, the shop app, a shop till, a phone call to the hotel,
the partner booking portal, the partner tour operator."""
WEB, APP, STORE, PHONE, PORTAL, TOUR = range(6)


@dataclass(frozen=True)
class Segment:
    key: str
    brand: int
    share: float
    """Share of the brand's people."""
    mobile: float
    """Chance that a website session is on a phone."""
    intents: tuple[int, float]
    """Purchase intents in the year: fixed + Poisson(mean)."""
    season: str
    """Seasonal profile of the intents (the stay for the hotel, the purchase for the shop)."""
    conversion: float
    """Chance that an intent reaches checkout (before the traffic and nurture multipliers)."""
    modes: dict[int, float]
    acquisition: dict[str, float]
    """Traffic of the person's first session."""
    research: float = 2.0
    """Mean website sessions before the decision."""
    span: int = 14
    """Days over which those sessions spread before the decision."""
    lead: tuple[float, float, float] = (0.0, 1.0, 0.0)
    """Hotel: days from booking to stay = a + Gamma(shape b, scale c)."""
    nights: tuple[int, int] = (1, 1)
    children: float = 0.0
    """Hotel: mean children per booking."""
    signup: float = 0.0
    """Chance of a newsletter signup on the website."""
    known: float = 0.0
    """Chance of being in the CRM before the window starts (and subscribed if consent)."""
    mobile_app: float = 0.0
    """Shop: chance of using the app."""
    basket: float = 1.0
    """Shop: multiplier of the basket (quantity); wholesale is large."""
    satisfaction: float = 8.0
    """Mean latent satisfaction, 0–10, before the planted penalties."""
    account: str | None = None
    """B2B: account type the person is a contact of."""
    price_band: tuple[int, int] = (0, 0)
    """Index range of products (shop) or rooms (hotel) the group prefers."""
    ages: tuple[float, ...] = field(default=(0.1, 0.3, 0.3, 0.2, 0.1))
    """Age-band shares (18–24, 25–34, 35–44, 45–54, 55+), as the data provider reports them."""


def _mix(**weights: float) -> dict[str, float]:
    return weights


SEGMENTS: Final = (
    Segment(
        "families",
        HOTEL,
        0.36,
        0.40,
        (1, 0.15),
        "stay_family",
        0.50,
        {WEB: 0.55, PHONE: 0.1, PORTAL: 0.25, TOUR: 0.1},
        _mix(
            hotel_google_organic=0.3,
            hotel_google_generic=0.15,
            hotel_meta_families=0.2,
            hotel_blog=0.08,
            hotel_friend=0.07,
            hotel_direct=0.1,
            hotel_youtube=0.05,
            hotel_tripadvisor=0.05,
        ),
        research=3.0,
        span=30,
        lead=(20, 2.0, 35),
        nights=(4, 7),
        children=1.8,
        signup=0.35,
        known=0.1,
        satisfaction=8.3,
        price_band=(2, 4),
        ages=(0, 0.15, 0.5, 0.3, 0.05),
    ),
    Segment(
        "couples",
        HOTEL,
        0.33,
        0.60,
        (1, 0.3),
        "stay_couple",
        0.40,
        {WEB: 0.6, PHONE: 0.05, PORTAL: 0.3, TOUR: 0.05},
        _mix(
            hotel_instagram_spa=0.25,
            hotel_google_organic=0.2,
            hotel_google_brand=0.05,
            hotel_google_generic=0.1,
            hotel_instagram_organic=0.1,
            hotel_tripadvisor=0.1,
            hotel_direct=0.1,
            hotel_friend=0.05,
            hotel_display=0.05,
        ),
        research=2.0,
        span=10,
        lead=(3, 1.5, 12),
        nights=(2, 3),
        signup=0.25,
        known=0.1,
        satisfaction=8.0,
        price_band=(1, 5),
        ages=(0.1, 0.35, 0.3, 0.15, 0.1),
    ),
    Segment(
        "business",
        HOTEL,
        0.14,
        0.65,
        (1, 1.2),
        "stay_business",
        0.60,
        {WEB: 0.7, PHONE: 0.25, PORTAL: 0.05},
        _mix(
            hotel_google_brand=0.35,
            hotel_google_generic=0.2,
            hotel_direct=0.3,
            hotel_bing_organic=0.1,
            hotel_google_organic=0.05,
        ),
        research=1.0,
        span=3,
        lead=(1, 1.2, 5),
        nights=(1, 2),
        signup=0.05,
        known=0.4,
        satisfaction=7.6,
        price_band=(0, 2),
        ages=(0, 0.25, 0.35, 0.3, 0.1),
    ),
    Segment(
        "travel_agents",
        HOTEL,
        0.04,
        0.2,
        (2, 2.0),
        "stay_group",
        0.70,
        {PHONE: 0.7, WEB: 0.3},
        _mix(hotel_direct=0.7, hotel_google_brand=0.3),
        research=0.5,
        span=7,
        lead=(30, 2.0, 30),
        nights=(3, 5),
        children=0.5,
        known=1.0,
        satisfaction=7.8,
        account="travel_agency",
        price_band=(0, 2),
    ),
    Segment(
        "corporate_travellers",
        HOTEL,
        0.04,
        0.7,
        (1, 2.0),
        "stay_business",
        0.70,
        {WEB: 0.75, PHONE: 0.25},
        _mix(hotel_direct=0.6, hotel_google_brand=0.4),
        research=0.7,
        span=3,
        lead=(1, 1.2, 4),
        nights=(1, 2),
        known=1.0,
        satisfaction=7.6,
        account="corporate",
        price_band=(0, 2),
    ),
    Segment(
        "hotel_audience",
        HOTEL,
        0.09,
        0.6,
        (0, 0.0),
        "flat",
        0.0,
        {WEB: 1.0},
        _mix(hotel_meta_families=0.4, hotel_instagram_spa=0.3, hotel_display=0.3),
    ),
    Segment(
        "bargain_hunters",
        SHOP,
        0.33,
        0.85,
        (1, 1.0),
        "shop_bargain",
        0.28,
        {WEB: 0.95, STORE: 0.05},
        _mix(
            shop_tiktok=0.5,
            shop_meta=0.12,
            shop_instagram_organic=0.08,
            shop_coupons=0.08,
            shop_google_generic=0.07,
            shop_google_shopping=0.05,
            shop_direct=0.05,
            shop_friend=0.05,
        ),
        research=3.5,
        span=10,
        signup=0.3,
        satisfaction=7.0,
        price_band=(0, 12),
        ages=(0.45, 0.4, 0.1, 0.05, 0),
    ),
    Segment(
        "loyal_customers",
        SHOP,
        0.17,
        0.5,
        (4, 4.0),
        "shop_online",
        0.72,
        {WEB: 0.45, APP: 0.2, STORE: 0.35},
        _mix(shop_direct=0.4, shop_newsletter=0.3, shop_google_brand=0.2, shop_google_organic=0.1),
        research=1.0,
        span=7,
        known=1.0,
        mobile_app=0.5,
        satisfaction=9.0,
        price_band=(0, 24),
        ages=(0.05, 0.2, 0.3, 0.3, 0.15),
    ),
    Segment(
        "gift_shoppers",
        SHOP,
        0.22,
        0.35,
        (1, 0.25),
        "shop_gift",
        0.50,
        {WEB: 0.85, STORE: 0.15},
        _mix(
            shop_google_generic=0.25,
            shop_google_shopping=0.25,
            shop_google_organic=0.2,
            shop_meta=0.1,
            shop_display=0.05,
            shop_blog=0.1,
            shop_direct=0.05,
        ),
        research=2.5,
        span=14,
        signup=0.2,
        known=0.05,
        satisfaction=7.9,
        price_band=(13, 20),
        ages=(0.05, 0.2, 0.3, 0.3, 0.15),
    ),
    Segment(
        "store_regulars",
        SHOP,
        0.15,
        0.5,
        (2, 3.0),
        "shop_store",
        0.85,
        {STORE: 1.0},
        _mix(shop_google_organic=0.4, shop_direct=0.4, shop_facebook_organic=0.2),
        research=0.3,
        span=5,
        signup=0.05,
        known=0.7,
        satisfaction=8.3,
        price_band=(0, 24),
        ages=(0.05, 0.15, 0.25, 0.3, 0.25),
    ),
    Segment(
        "retailers",
        SHOP,
        0.04,
        0.3,
        (3, 3.0),
        "shop_online",
        0.80,
        {WEB: 1.0},
        _mix(shop_direct=0.7, shop_google_brand=0.3),
        research=0.5,
        span=5,
        known=1.0,
        basket=12.0,
        satisfaction=7.6,
        account="retailer",
        price_band=(0, 24),
    ),
    Segment(
        "shop_audience",
        SHOP,
        0.09,
        0.7,
        (0, 0.0),
        "flat",
        0.0,
        {WEB: 1.0},
        _mix(shop_tiktok=0.4, shop_meta=0.3, shop_display=0.3),
    ),
)
SEGMENT_INDEX: Final = {s.key: i for i, s in enumerate(SEGMENTS)}
HOTEL_SHARE: Final = 0.45
"""Share of people who are the hotel's (the rest are the shop's)."""

# --- planted patterns -------------------------------------------------------------------------
CHECKOUT_ERROR_RATE: Final = {"desktop": 0.05, "mobile": 0.30, "app": 0.06}
"""(1) Chance that ``checkout_payment`` ends in ``checkout_error`` instead of the purchase."""
RETRY_AFTER_ERROR: Final = 0.45
"""After an error, chance of a second try on a computer, 1–48 hours later."""
PAYMENT_REACHED: Final = 0.88
"""Chance that a started checkout reaches the payment step."""
STICKY: Final = 0.25
"""Chance that a later session comes back through the person's first traffic source."""
STICKY_TIKTOK: Final = 0.65
"""(2) TikTok visitors keep coming back through TikTok ads (many visits, few purchases)."""
RETURN_MIX: Final = {
    HOTEL: {
        "hotel_direct": 0.38,
        "hotel_google_organic": 0.22,
        "hotel_google_brand": 0.14,
        "hotel_display": 0.12,
        "hotel_instagram_organic": 0.08,
        "hotel_facebook_organic": 0.06,
    },
    SHOP: {
        "shop_direct": 0.38,
        "shop_google_organic": 0.2,
        "shop_google_brand": 0.12,
        "shop_display": 0.12,
        "shop_instagram_organic": 0.1,
        "shop_facebook_organic": 0.08,
    },
}
NURTURE_SHARE: Final = 0.5
"""(4) Share of newsletter signups put in the nurture programme (four emails); the rest is the
control group (regular newsletter only)."""
NURTURE_LIFT: Final = 2.0
"""(4) Multiplier of the chance to convert after signup, for the nurtured group."""
NURTURE_DAYS: Final = (1, 4, 9, 16)
SLOW_TICKET_SHARE: Final = 0.3
"""(5) Share of tickets resolved slowly (more than SLOW_TICKET_HOURS)."""
SLOW_TICKET_HOURS: Final = 48
SLOW_TICKET_PENALTY: Final = 4.5
"""(5) Points of satisfaction (0–10) lost after a slow ticket: NPS answers become detractors."""
ERROR_PENALTY: Final = 1.2
SLOW_DELIVERY_PENALTY: Final = 1.5
SLOW_DELIVERY_SHARE: Final = 0.15
TICKET_RATE: Final = {"base": 0.05, "slow_delivery": 0.30, "payment": 0.25, "stay": 0.06}
NEWSLETTER_CONSENT: Final = {
    "loyal_customers": 0.9,
    "store_regulars": 0.6,
    "retailers": 0.5,
    "travel_agents": 0.5,
    "corporate_travellers": 0.3,
    "business": 0.4,
    "families": 0.5,
    "couples": 0.5,
    "gift_shoppers": 0.4,
}
"""Chance that a person the CRM knew before the window receives the newsletter."""
EMAIL_VISITS: Final = 0.12
"""Chance that a subscriber's later session starts from a newsletter click."""
LOGIN_RATE: Final = 0.7
"""Chance that a known person logs in on a device the first time they use it."""


def segment_array(name: str, dtype: type = float) -> np.ndarray:
    """One attribute of every segment, as an array indexed by segment code."""
    return np.array([getattr(s, name) for s in SEGMENTS], dtype=dtype)


def mode_matrix() -> np.ndarray:
    """Cumulative mode probabilities, shape (segments, modes)."""
    m = np.zeros((len(SEGMENTS), len(MODES)))
    for i, s in enumerate(SEGMENTS):
        for mode, p in s.modes.items():
            m[i, mode] = p
    m /= m.sum(axis=1, keepdims=True)
    return np.cumsum(m, axis=1)


def acquisition_matrix() -> np.ndarray:
    """Cumulative first-session traffic probabilities, shape (segments, traffic options)."""
    m = np.zeros((len(SEGMENTS), len(TRAFFIC_INDEX)))
    for i, s in enumerate(SEGMENTS):
        for key, p in s.acquisition.items():
            m[i, TRAFFIC_INDEX[key]] = p
    m /= m.sum(axis=1, keepdims=True)
    return np.cumsum(m, axis=1)


def return_matrix() -> np.ndarray:
    """Cumulative traffic probabilities of later sessions per brand, shape (2, options)."""
    m = np.zeros((2, len(TRAFFIC_INDEX)))
    for brand, mix in RETURN_MIX.items():
        for key, p in mix.items():
            m[brand, TRAFFIC_INDEX[key]] = p
    m /= m.sum(axis=1, keepdims=True)
    return np.cumsum(m, axis=1)


def choose(rng: np.random.Generator, cumulative: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each row index, a category drawn from that row of a cumulative-probability matrix."""
    u = rng.random(len(rows))[:, None]
    return np.asarray(np.minimum((u > cumulative[rows]).sum(axis=1), cumulative.shape[1] - 1))
