"""Offline and partner touchpoints: shop tills, phone bookings, partner bookings, hotel stays.

Tills, phone calls without a known caller and partners identify people only by what they
write down — an email or a phone number in ``context.traits`` — so identity resolution has to
link them to the website and the CRM. Some receipts carry the shop's own address instead of the
customer's (the planted shared-identifier trap).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeylens.demo import catalogue as cat
from journeylens.demo.checkout import booking_properties
from journeylens.demo.columns import Json, concat, hex_ids, money_text, take, where
from journeylens.demo.crm import crm_identify
from journeylens.demo.frame import Block, Conversions, block
from journeylens.demo.intents import PRODUCT_PRICE, Intents
from journeylens.demo.patterns import PHONE, PORTAL, STORE, TOUR, segment_array
from journeylens.demo.people import NEVER, People
from journeylens.demo.seasons import HOURS, sample_seconds
from journeylens.demo.world import LOOKUP, World

__all__ = ["SHARED_EMAIL_SHARE", "offline_events", "stays"]

SHARED_EMAIL_SHARE = 0.10
"""Share of receipts with an email that carry the shop's own address (the trap)."""
SECOND = 1_000_000
MINUTE = 60 * SECOND
_STORE_ID = pa.array([s[0] for s in cat.STORES])
_STORE_NAME = pa.array([s[1] for s in cat.STORES])
_EXTRA_ID = pa.array([e[0] for e in cat.HOTEL_EXTRAS])
_EXTRA_NAME = pa.array([e[1] for e in cat.HOTEL_EXTRAS])
_EXTRA_PRICE = np.array([round(e[2] * 10_000) for e in cat.HOTEL_EXTRAS], dtype=np.int64)
_SHARED = pa.array([b.shared_email for b in cat.BRANDS])


def _brand_json(people: People, person: np.ndarray) -> Json:
    return Json(len(person)).raw("brand", take(LOOKUP.brand_q, people.brand[person]))


def _traits(
    rng: np.random.Generator,
    people: People,
    person: np.ndarray,
    p_email: np.ndarray,
    p_phone: np.ndarray,
    *,
    shared: float = 0.0,
    proxy: float = 0.0,
) -> pa.Array:
    """``context.traits`` as a till or a partner writes them (null when nothing was given)."""
    n = len(person)
    u = rng.random(n)
    email = u < p_email
    phone = (u >= p_email) & (u < p_email + p_phone) | (rng.random(n) < p_phone * 0.5)
    address = take(people.email, person)
    address = pc.if_else(pa.array(rng.random(n) < 0.2), pc.utf8_capitalize(address), address)
    if shared:
        address = pc.if_else(
            pa.array(rng.random(n) < shared), take(_SHARED, people.brand[person]), address
        )
    if proxy:
        address = pc.if_else(
            pa.array(rng.random(n) < proxy),
            concat("guest-", hex_ids(rng, n, 5), "@guest.prenotalago.it"),
            address,
        )
    body = concat(
        "{",
        where(email, concat('"email":"', address, '"')),
        where(email & phone, ","),
        where(phone, concat('"phone":"', take(people.phone_local, person), '"')),
        "}",
        skip_nulls=True,
    )
    return where(email | phone, body)


def offline_events(
    rng: np.random.Generator, people: People, intents: Intents, world: World
) -> tuple[list[Block], Conversions]:
    """Store visits and receipts, phone calls, partner bookings of the offline intents."""
    blocks: list[Block] = []
    conv = segment_array("conversion")[intents.segment]

    # Shops: a visit, then (most of the time) a receipt.
    i = np.flatnonzero(intents.mode == STORE)
    p = intents.person[i]
    ts = intents.anchor[i]
    bought = rng.random(len(i)) < np.maximum(conv[i], 0.6)
    visit = hex_ids(rng, len(i), 8, "pos-")
    store = people.gidx[p] % len(cat.STORES)
    known = people.known[p]
    traits = _traits(
        rng,
        people,
        p,
        np.where(known, 0.55, 0.3),
        np.where(known, 0.35, 0.2),
        shared=SHARED_EMAIL_SHARE,
    )
    props = (
        _brand_json(people, p)
        .text("store_id", take(_STORE_ID, store))
        .text("store", take(_STORE_NAME, store))
        .text("visit_id", visit)
    )
    blocks.append(
        block(
            p,
            ts,
            "store_visit",
            "shop_pos",
            "Store",
            props.build(),
            explicit=True,
            anonymous_id=visit,
            traits=traits,
        )
    )
    b = np.flatnonzero(bought)
    it = intents.item[i[b]]
    line = concat(
        '[{"product_id":"',
        take(LOOKUP.product_id, it),
        '","name":',
        take(LOOKUP.product_name_q, it),
        ',"price":',
        money_text(PRODUCT_PRICE[it]),
        ',"quantity":',
        pa.array(intents.quantity[i[b]]).cast(pa.string()),
        "}]",
    )
    revenue = PRODUCT_PRICE[it] * intents.quantity[i[b]]
    props = (
        _brand_json(people, p[b])
        .text("order_id", concat("BA-S", pa.array(intents.number[i[b]]).cast(pa.string())))
        .money("revenue", revenue)
        .text("currency", "EUR")
        .raw("products", line)
        .text("store_id", take(_STORE_ID, store[b]))
        .text("store", take(_STORE_NAME, store[b]))
        .text(
            "payment_method",
            take(pa.array(["card", "cash"]), (rng.random(len(b)) < 0.3).astype(np.int8)),
        )
        .text("order_type", "store")
    )
    blocks.append(
        block(
            p[b],
            ts[b] + (3 + rng.exponential(8, len(b))).astype(np.int64) * MINUTE,
            "purchase",
            "shop_pos",
            "Store",
            props.build(),
            explicit=True,
            anonymous_id=visit.take(pa.array(b)),
            traits=traits.take(pa.array(b)),
            revenue=revenue,
            currency=np.ones(len(b), dtype=np.int8),
        )
    )
    conversions = [(p[b], i[b], ts[b], np.full(len(b), STORE))]
    # A loyalty card for half of the unknown buyers: the CRM knows them from then on.
    card = b[~known[b] & (rng.random(len(b)) < 0.5)]
    np.minimum.at(people.known_us, p[card], ts[card])

    # Phone calls to the hotel.
    i = np.flatnonzero(intents.mode == PHONE)
    p = intents.person[i]
    ts = intents.anchor[i]
    known_now = people.known[p] | (people.known_us[p] <= ts)
    call = hex_ids(rng, len(i), 8, "call-")
    user = where(known_now, take(people.user_id, p))
    anon = where(~known_now, call)
    caller = where(~known_now, concat('{"phone":"', take(people.phone, p), '"}'))
    duration = (60 + rng.exponential(240, len(i))).astype(np.int64)
    props = (
        _brand_json(people, p).text("topic", "booking_request").number("duration_seconds", duration)
    )
    blocks.append(
        block(
            p,
            ts,
            "phone_call",
            "hotel_frontdesk",
            "Phone",
            props.build(),
            explicit=True,
            user_id=user,
            anonymous_id=anon,
            traits=caller,
        )
    )
    b = np.flatnonzero(rng.random(len(i)) < np.minimum(conv[i] * 1.5, 0.95))
    done = ts[b] + duration[b] * SECOND
    blocks.append(
        _booking(
            people,
            intents,
            i[b],
            p[b],
            done,
            world,
            "hotel_frontdesk",
            "Phone",
            user.take(pa.array(b)),
            anon.take(pa.array(b)),
            caller.take(pa.array(b)),
            explicit=True,
        )
    )
    np.minimum.at(people.known_us, p[b], done)
    conversions.append((p[b], i[b], done, np.full(len(b), PHONE)))

    # Partners: the booking portal and the tour operator share the bookings made with them.
    for mode, source, prefix, p_email, proxy in (
        (PORTAL, "booking_portal", "pl-", 0.95, 0.7),
        (TOUR, "tour_operator", "to-", 0.6, 0.0),
    ):
        i = np.flatnonzero(
            (intents.mode == mode) & (rng.random(len(intents)) < np.minimum(conv * 1.5, 0.95))
        )
        p = intents.person[i]
        anon = hex_ids(rng, len(i), 8, prefix)
        traits = _traits(
            rng, people, p, np.full(len(i), p_email), np.full(len(i), 0.8), proxy=proxy
        )
        channel = "Affiliates" if mode == PORTAL else "Referral"
        blocks.append(
            _booking(
                people,
                intents,
                i,
                p,
                intents.anchor[i],
                world,
                source,
                channel,
                None,
                anon,
                traits,
                explicit=False,
                partner=mode,
            )
        )
        conversions.append((p, i, intents.anchor[i], np.full(len(i), mode)))
    parts = list(zip(*conversions, strict=True))
    return blocks, Conversions(
        person=np.concatenate(parts[0]),
        intent=np.concatenate(parts[1]),
        ts=np.concatenate(parts[2]),
        mode=np.concatenate(parts[3]),
        error=np.zeros(sum(len(x) for x in parts[0]), dtype=bool),
    )


_PARTNER_CONTEXT = {
    PORTAL: '{"campaign":{"source":"prenotalago","medium":"affiliate","name":"lagoblu-prenotalago"}'
    ',"page":{"url":"https://www.prenotalago.it/hotel/lago-blu-malcesine"}}',
    TOUR: '{"campaign":{"source":"gardadolomititours","medium":"referral",'
    '"name":"pacchetti-lago"}}',
}


def _booking(
    people: People,
    intents: Intents,
    i: np.ndarray,
    p: np.ndarray,
    ts: np.ndarray,
    world: World,
    source: str,
    channel: str,
    user: pa.Array | None,
    anon: pa.Array | None,
    traits: pa.Array | None,
    *,
    explicit: bool,
    partner: int | None = None,
) -> Block:
    prefix = {None: "LB-B", PORTAL: "PL-", TOUR: "GDT-"}[partner]
    booking_id = concat(prefix, pa.array(intents.number[i]).cast(pa.string()))
    props = booking_properties(_brand_json(people, p), intents, i, world, booking_id)
    if partner is not None:
        props.text("partner", "PrenotaLago.it" if partner == PORTAL else "Garda & Dolomiti Tours")
    context = (
        pa.array(np.full(len(i), _PARTNER_CONTEXT[partner], dtype=object), pa.string())
        if partner is not None
        else None
    )
    return block(
        p,
        ts,
        "booking_confirmed",
        source,
        channel,
        props.build(),
        explicit=explicit,
        user_id=user,
        anonymous_id=anon,
        traits=traits,
        context=context,
        revenue=intents.revenue[i],
        currency=intents.currency[i],
    )


def stays(
    rng: np.random.Generator, people: People, intents: Intents, conv: Conversions, world: World
) -> tuple[list[Block], np.ndarray]:
    """Check-in, extras and check-out of every hotel booking; returns the check-out times."""
    hotel = np.flatnonzero(intents.brand[conv.intent] == cat.HOTEL)
    i, p = conv.intent[hotel], conv.person[hotel]
    win = world.win
    check_in = win.to_utc(intents.stay_day[i], sample_seconds(rng, HOURS["check_in"], len(i)))
    check_out = win.to_utc(
        intents.stay_day[i] + intents.nights[i], sample_seconds(rng, HOURS["check_out"], len(i))
    )
    booking = concat("LB-B", pa.array(intents.number[i]).cast(pa.string()))
    user = take(people.user_id, p)
    props = (
        _brand_json(people, p)
        .text("booking_id", booking)
        .text("room_type", take(LOOKUP.room_id, intents.item[i]))
        .number("nights", intents.nights[i])
    )
    built = props.build()
    blocks = [
        block(
            p, check_in, "check_in", "hotel_frontdesk", "Store", built, explicit=True, user_id=user
        ),
        block(
            p,
            check_out,
            "check_out",
            "hotel_frontdesk",
            "Store",
            built,
            explicit=True,
            user_id=user,
        ),
    ]
    # Guests unknown until now are registered at the front desk.
    new = people.known_us[p] > check_in
    blocks.append(crm_identify(people, p[new], check_in[new] - 5 * MINUTE, "hotel_crm"))
    np.minimum.at(people.known_us, p[new], check_in[new])
    count = rng.binomial(2, 0.35, len(i))
    e = np.repeat(np.arange(len(i)), count)
    extra = rng.integers(0, len(cat.HOTEL_EXTRAS), len(e))
    day = intents.stay_day[i[e]] + (
        rng.random(len(e)) * np.maximum(intents.nights[i[e]], 1)
    ).astype(np.int64)
    ts = win.to_utc(day, sample_seconds(rng, HOURS["store"], len(e)) + 3 * 3600)
    ts = np.clip(ts, check_in[e] + MINUTE, check_out[e] - MINUTE)
    revenue = _EXTRA_PRICE[extra] * np.maximum(intents.adults[i[e]], 1)
    props = (
        _brand_json(people, p[e])
        .text("booking_id", booking.take(pa.array(e)))
        .text("item_id", take(_EXTRA_ID, extra))
        .text("item", take(_EXTRA_NAME, extra))
        .money("revenue", revenue)
        .text("currency", "EUR")
    )
    blocks.append(
        block(
            p[e],
            ts,
            "extra_purchased",
            "hotel_frontdesk",
            "Store",
            props.build(),
            explicit=True,
            user_id=user.take(pa.array(e)),
            revenue=revenue,
            currency=np.ones(len(e), dtype=np.int8),
        )
    )
    out = np.full(len(conv), NEVER, dtype=np.int64)
    out[hotel] = check_out
    return blocks, out
