"""Marketing touchpoints: newsletters and the nurture programme, ad impressions, posts on the
brands' social accounts, and the bought enrichment of the data provider.

Email clicks open a website session (:mod:`journeylens.demo.web` makes its events). The nurture
programme is an experiment: half of the website's newsletter signups get four extra emails
(pattern 4 in docs/demo.md); the other half is the control group.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from journeylens.demo import catalogue as cat
from journeylens.demo.columns import Json, concat, hex_ids, int_text, take
from journeylens.demo.frame import Block, Conversions, block
from journeylens.demo.intents import Intents
from journeylens.demo.patterns import NURTURE_DAYS, SEGMENTS, segment_array
from journeylens.demo.people import NEVER, People
from journeylens.demo.seasons import HOURS, sample_seconds
from journeylens.demo.sessions import CLICK, Sessions, new_sessions, web_devices
from journeylens.demo.webcontext import AD_CAMPAIGN, CAMPAIGN_NAME, PLATFORM, TRAFFIC_CHANNEL
from journeylens.demo.world import LOOKUP, World

__all__ = ["ads", "data_provider", "emails", "social"]

SECOND = 1_000_000
HOUR = 3600 * SECOND
DAY = 24 * HOUR
_EMAIL_SOURCE = np.array([cat.SOURCE_INDEX["hotel_email"], cat.SOURCE_INDEX["shop_email"]])
_NEWSLETTER_TRAFFIC = np.array(
    [cat.TRAFFIC_INDEX["hotel_newsletter"], cat.TRAFFIC_INDEX["shop_newsletter"]]
)


def _email_rows(
    people: People,
    p: np.ndarray,
    ts: np.ndarray,
    event: str,
    campaign: pa.Array,
    kind: str,
    email_id: pa.Array,
) -> Block:
    props = (
        Json(len(p))
        .raw("brand", take(LOOKUP.brand_q, people.brand[p]))
        .text("campaign", campaign)
        .text("campaign_type", kind)
        .text("email_id", email_id)
    )
    if event == "email_clicked":
        props.text("url", concat("https://", take(LOOKUP.domain, people.brand[p]), "/"))
    context = concat(
        '{"campaign":{"source":"newsletter","medium":"email","name":"', campaign, '"}}'
    )
    return block(
        p,
        ts,
        event,
        _EMAIL_SOURCE[people.brand[p]],
        "Email",
        props.build(),
        user_id=take(people.user_id, p),
        context=context,
    )


def emails(
    rng: np.random.Generator, people: People, conv: Conversions, world: World
) -> tuple[list[Block], Sessions]:
    """Newsletter and nurture emails (sent, opened, clicked) and the sessions clicks open."""
    subscribed = people.subscribed_us.copy()
    opt_in = rng.random(len(conv)) < 0.25
    np.minimum.at(subscribed, conv.person[opt_in], conv.ts[opt_in] + HOUR)
    people.subscribed_us[:] = subscribed
    unsubscribed = np.where(
        subscribed < NEVER,
        subscribed + (rng.exponential(500, people.n) * DAY).astype(np.int64),
        NEVER,
    )
    blocks: list[Block] = []
    clicks_p: list[np.ndarray] = []
    clicks_ts: list[np.ndarray] = []
    for brand in (cat.HOTEL, cat.SHOP):
        sends = world.newsletter_sends[brand]
        who = np.flatnonzero((people.brand == brand) & (subscribed < NEVER))
        first = np.searchsorted(sends, subscribed[who])
        last = np.searchsorted(sends, unsubscribed[who])
        count = np.maximum(last - first, 0)
        p = np.repeat(who, count)
        send = np.repeat(first, count) + (
            np.arange(len(p)) - np.repeat(np.cumsum(count) - count, count)
        )
        ts = sends[send]
        campaign = concat(
            cat.BRANDS[brand].key + "-newsletter-",
            world.date_text(world.newsletter_days[brand][send]),
        )
        email_id = concat("E-", int_text(people.gidx[p]), "-", int_text(send))
        blocks += _opens(
            rng,
            people,
            p,
            ts,
            campaign,
            "newsletter",
            email_id,
            people.engagement[p],
            0.15,
            clicks_p,
            clicks_ts,
        )

    # The nurture programme: four emails after a website signup, for the treated half.
    nurtured = np.flatnonzero(people.nurture & (people.signup_us < NEVER))
    steps = len(NURTURE_DAYS)
    p = np.repeat(nurtured, steps)
    step = np.tile(np.arange(steps), len(nurtured))
    ts = people.signup_us[p] + np.array(NURTURE_DAYS)[step] * DAY + HOUR
    campaign = concat(take(LOOKUP.brand_key, people.brand[p]), "-nurture-", int_text(step + 1))
    email_id = concat("N-", int_text(people.gidx[p]), "-", int_text(step + 1))
    blocks += _opens(
        rng,
        people,
        p,
        ts,
        campaign,
        "nurture",
        email_id,
        np.minimum(people.engagement[p] + 0.3, 0.9),
        0.3,
        clicks_p,
        clicks_ts,
    )

    person = np.concatenate(clicks_p)
    start = np.concatenate(clicks_ts) + 3 * SECOND
    sessions = new_sessions(
        person,
        np.full(len(person), -1),
        CLICK,
        start,
        web_devices(rng, people, person),
        _NEWSLETTER_TRAFFIC[people.brand[person]],
    )
    return blocks, sessions


def _opens(
    rng: np.random.Generator,
    people: People,
    p: np.ndarray,
    ts: np.ndarray,
    campaign: pa.Array,
    kind: str,
    email_id: pa.Array,
    p_open: np.ndarray,
    p_click: float,
    clicks_p: list[np.ndarray],
    clicks_ts: list[np.ndarray],
) -> list[Block]:
    n = len(p)
    opened = rng.random(n) < p_open
    clicked = opened & (rng.random(n) < p_click)
    open_ts = ts + (np.minimum(rng.exponential(6, n), 160) * HOUR).astype(np.int64) + SECOND
    click_ts = open_ts + ((10 + rng.exponential(60, n)) * SECOND).astype(np.int64)
    o, c = pa.array(np.flatnonzero(opened)), pa.array(np.flatnonzero(clicked))
    clicks_p.append(p[clicked])
    clicks_ts.append(click_ts[clicked])
    return [
        _email_rows(people, p, ts, "email_sent", campaign, kind, email_id),
        _email_rows(
            people,
            p[opened],
            open_ts[opened],
            "email_opened",
            campaign.take(o),
            kind,
            email_id.take(o),
        ),
        _email_rows(
            people,
            p[clicked],
            click_ts[clicked],
            "email_clicked",
            campaign.take(c),
            kind,
            email_id.take(c),
        ),
    ]


_PAID = np.array([t.cpm > 0 for t in cat.TRAFFIC])
_BRAND_CAMPAIGNS = [
    np.flatnonzero(_PAID & (np.array([t.brand for t in cat.TRAFFIC]) == b)) for b in (0, 1)
]
_CPM_UNITS = np.array([round(t.cpm * 10) for t in cat.TRAFFIC], dtype=np.int64)
_PLACEMENT = {
    "Google Ads": "search",
    "Meta Ads": "feed",
    "TikTok Ads": "for_you",
    "Display & Video 360": "banner",
}


def ads(rng: np.random.Generator, people: People, intents: Intents, world: World) -> Block:
    """Ad impressions (cost = the campaign's CPM / 1000), seen before the person's intents."""
    win = world.win
    paid = _PAID[people.acquisition]
    audience = segment_array("intents", object)[people.segment]
    no_intent = np.array([a[0] == 0 and a[1] == 0 for a in audience])
    search = np.array([t.platform == "Google Ads" for t in cat.TRAFFIC])[people.acquisition]
    lam = np.where(no_intent, 40, 3 + np.where(search, 6, 20) * paid)
    count = rng.poisson(lam)
    p = np.repeat(np.arange(people.n), count)
    n = len(p)
    brand = people.brand[p]
    pool = np.array([len(c) for c in _BRAND_CAMPAIGNS])
    flat = np.concatenate(_BRAND_CAMPAIGNS)
    offset = np.array([0, pool[0]])
    random_campaign = flat[offset[brand] + rng.integers(0, 1 << 30, n) % pool[brand]]
    own = paid[p] & (rng.random(n) < 0.6)
    traffic = np.where(own, people.acquisition[p], random_campaign)
    # When: in the 40 days before one of the person's intents, or any time for the audience.
    first = np.searchsorted(intents.person, np.arange(people.n))
    has = np.bincount(intents.person, minlength=people.n)
    pick = first[p] + (rng.integers(0, 1 << 30, n) % np.maximum(has[p], 1))
    day = np.where(
        has[p] > 0,
        intents.day[np.minimum(pick, max(len(intents) - 1, 0))] if len(intents) else 0,
        rng.integers(0, win.days, n),
    )
    day = day - (rng.random(n) * 40).astype(np.int64) * (has[p] > 0)
    ts = win.to_utc(day, sample_seconds(rng, HOURS["web"], n))
    device = web_devices(rng, people, p)
    cookie = take(pa.concat_arrays(list(people.cookies[:2])), device * people.n + p)
    platform = take(PLATFORM, traffic)
    placement = take(
        pa.array([_PLACEMENT.get(t.platform or "", "banner") for t in cat.TRAFFIC]), traffic
    )
    cost = _CPM_UNITS[traffic]
    props = (
        Json(n)
        .raw("brand", take(LOOKUP.brand_q, brand))
        .text("campaign", take(CAMPAIGN_NAME, traffic))
        .text("platform", platform)
        .text("ad_id", concat(take(CAMPAIGN_NAME, traffic), "-ad", int_text(rng.integers(1, 6, n))))
        .text("placement", placement)
        .money("cost", cost, 4)
        .text("currency", "EUR")
    )
    context = concat(
        '{"campaign":',
        take(AD_CAMPAIGN, traffic),
        ',"device":{"type":"',
        take(pa.array(["desktop", "mobile"]), device),
        '"}}',
    )
    return block(
        p,
        ts,
        "ad_impression",
        "ad_server",
        TRAFFIC_CHANNEL[traffic],
        props.build(),
        anonymous_id=cookie,
        context=context,
        cost=cost,
        currency=np.ones(n, dtype=np.int8),
    )


_SOCIAL = (("instagram", "facebook"), ("instagram", "tiktok", "facebook"))
_SOCIAL_FLAT = pa.array([x for group in _SOCIAL for x in group])
_ACTIONS = pa.array(["like", "comment", "share", "save", "view"])
_TOPICS = (
    ("lake_view", "spa", "family_holiday", "restaurant", "events"),
    ("new_product", "tutorial", "black_friday", "behind_the_scenes", "giveaway"),
)
_TOPIC_FLAT = pa.array([x for group in _TOPICS for x in group])


def social(rng: np.random.Generator, people: People, intents: Intents, world: World) -> Block:
    """Likes, comments and shares on the brands' own posts, before the person's first visit."""
    win = world.win
    organic = np.array([t.channel == "Organic Social" for t in cat.TRAFFIC])[people.acquisition]
    engaged = rng.random(people.n) < np.where(organic, 0.8, 0.1)
    count = np.where(engaged, 1 + rng.poisson(1.5, people.n), 0)
    p = np.repeat(np.arange(people.n), count)
    n = len(p)
    brand = people.brand[p]
    first_day = np.full(people.n, win.days // 2, dtype=np.int64)
    np.minimum.at(first_day, intents.person, intents.day)
    day = first_day[p] - (rng.random(n) * 60).astype(np.int64)
    ts = win.to_utc(day, sample_seconds(rng, HOURS["web"], n))
    sizes = np.array([len(g) for g in _SOCIAL])
    offset = np.array([0, sizes[0]])
    platform = take(_SOCIAL_FLAT, offset[brand] + rng.integers(0, 1 << 30, n) % sizes[brand])
    topic = take(_TOPIC_FLAT, brand * 5 + rng.integers(0, 5, n))
    key = take(LOOKUP.brand_key, brand)
    props = (
        Json(n)
        .raw("brand", take(LOOKUP.brand_q, brand))
        .text("platform", platform)
        .text("post_id", concat(key, "-post-", int_text(rng.integers(100, 400, n))))
        .text("action", take(_ACTIONS, rng.integers(0, 5, n)))
        .text("post_topic", topic)
    )
    context = concat(
        '{"campaign":{"source":"', platform, '","medium":"social","name":"', key, '-organic"}}'
    )
    return block(
        p,
        ts,
        "social_post_engaged",
        "social_media",
        "Organic Social",
        props.build(),
        anonymous_id=people.cookies[1].take(pa.array(p)),
        context=context,
    )


_AGE_BANDS = pa.array(["18-24", "25-34", "35-44", "45-54", "55+"])
_AGES = np.cumsum(np.array([s.ages for s in SEGMENTS]), axis=1)
_INTERESTS = {
    "families": "family_travel",
    "couples": "wellness",
    "business": "business_travel",
    "travel_agents": "travel_trade",
    "corporate_travellers": "business_travel",
    "bargain_hunters": "deals",
    "loyal_customers": "natural_beauty",
    "gift_shoppers": "gifts",
    "store_regulars": "natural_beauty",
    "retailers": "retail_trade",
}


def data_provider(rng: np.random.Generator, people: People, world: World) -> Block:
    """AudiencePlus Italia's enrichment of a quarter of the known people, matched by email."""
    win = world.win
    p = np.flatnonzero((people.known_us < NEVER) & (rng.random(people.n) < 0.25))
    n = len(p)
    seg = people.segment[p]
    band = np.minimum((rng.random(n)[:, None] > _AGES[seg] / _AGES[seg][:, -1:]).sum(axis=1), 4)
    keys = [s.key for s in SEGMENTS]
    interest = pa.array([_INTERESTS.get(k, "general") for k in keys]).take(pa.array(seg))
    household = np.where(np.array([k == "families" for k in keys])[seg], 0, rng.integers(1, 3, n))
    traits = (
        Json(n)
        .text("email", take(people.email, p))
        .text("age_band", take(_AGE_BANDS, band))
        .text("household", take(pa.array(["family_with_children", "single", "couple"]), household))
        .text("interest", interest)
        .text("income_band", take(pa.array(["low", "medium", "high"]), rng.integers(0, 3, n)))
    )
    ts = win.to_utc(rng.integers(0, win.days, n), np.full(n, 4 * 3600))
    props = Json(n).raw("brand", take(LOOKUP.brand_q, people.brand[p])).build()
    return block(
        p,
        ts,
        "identify",
        "data_provider",
        "Unassigned",
        props,
        anonymous_id=hex_ids(rng, n, 8, "ap-"),
        traits=traits.build(),
    )
