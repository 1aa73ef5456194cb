"""Sessions → website and app events, with the context that makes their channel.

Each session becomes a run of events in a fixed order (ad click, login, landing page, pages,
searches, product or room views, reviews read, chatbot, comparison, signup, quote, cart,
checkout, payment, result) a few seconds to minutes apart. The landing page carries the UTM
parameters and the referrer; later events carry the session's campaign in ``context.campaign``
(the site's tag keeps it), so every event of a session lands in the session's channel.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeylens.demo import catalogue as cat
from journeylens.demo import texts
from journeylens.demo.columns import Json, concat, constant, hex_ids, money_text, take, where
from journeylens.demo.frame import CHANNEL_INDEX, Block, block
from journeylens.demo.intents import PRODUCT_PRICE, ROOM_PRICE, RATE_PLANS, Intents
from journeylens.demo.people import APP_DEVICE, People
from journeylens.demo.sessions import (
    CART,
    CHECKOUT,
    CLICK,
    ERROR,
    FINAL,
    PAYMENT,
    RESEARCH,
    RETRY,
    SUCCESS,
    Sessions,
)
from journeylens.demo.world import LOOKUP, World

__all__ = ["WebResult", "expand_sessions"]

SECOND = 1_000_000
_T = cat.TRAFFIC
TRAFFIC_CHANNEL = np.array([CHANNEL_INDEX[t.channel] for t in _T], dtype=np.int8)
_PAID = np.array([t.cpc > 0 for t in _T])
_CPC = np.array([round(t.cpc * 10_000) for t in _T], dtype=np.int64)
_HAS_UTM = np.array([t.utm is not None for t in _T])
_CLICK_ID = np.array([t.click_id is not None for t in _T])
_HAS_REFERRER = np.array([t.referrer is not None for t in _T])


def _campaign(source: str, medium: str, name: str | None = None) -> str:
    body = {"source": source, "medium": medium} | ({"name": name} if name else {})
    return ',"campaign":' + json.dumps(body)


_LANDING_CAMPAIGN = pa.array([_campaign(*t.utm) if t.utm else "" for t in _T])
_LATER_CAMPAIGN = pa.array([
    _campaign(*t.utm) if t.utm else _campaign(*t.tag) if t.tag else "" for t in _T])
AD_CAMPAIGN = pa.array([json.dumps({"source": t.utm[0], "medium": t.utm[1], "name": t.utm[2]})
                         if t.utm else "{}" for t in _T])
_UTM_QUERY = pa.array([
    f"?utm_source={t.utm[0]}&utm_medium={t.utm[1]}&utm_campaign={t.utm[2]}" if t.utm else ""
    for t in _T])
_REFERRER = pa.array([t.referrer or "" for t in _T])
CAMPAIGN_NAME = pa.array([t.utm[2] if t.utm else "" for t in _T])
PLATFORM = pa.array([t.platform or "" for t in _T])
_USER_AGENTS = pa.array(list(cat.USER_AGENTS))
_DEVICE_TYPE = pa.array(["desktop", "mobile", "mobile"])
_LOCALE = pa.array(["it-IT", "en-GB"])
_WEB_SOURCE = np.array([cat.SOURCE_INDEX["hotel_website"], cat.SOURCE_INDEX["shop_ecommerce"]])
_EMAIL_SOURCE = np.array([cat.SOURCE_INDEX["hotel_email"], cat.SOURCE_INDEX["shop_email"]])
_NEWSLETTER = np.array([t.key.endswith("_newsletter") for t in _T])
_APP_CONTEXT = (
    '{"app":{"name":"Bottega Aurora","version":"3.4.0","build":"340"},'
    '"device":{"type":"mobile"},"os":{"name":"iOS","version":"17.6"},'
    '"campaign":{"source":"(direct)","medium":"(none)"},"library":{"name":"analytics-ios",'
    '"version":"4.1.8"},"screen":{"name":'
)
_SEARCHES = pa.array(list(cat.SHOP_SEARCHES))
_PAYMENTS = pa.array(list(cat.PAYMENT_METHODS))
_ERRORS = pa.array(list(texts.CHECKOUT_ERRORS))
_RATES = pa.array(list(RATE_PLANS))
_DISCOUNTS = pa.array(list(cat.DISCOUNT_CODES) + [""])


def _chat_table() -> tuple[pa.Array, pa.Array, np.ndarray, np.ndarray]:
    topics, messages, offsets, sizes = [], [], [], []
    for key in ("lagoblu", "aurora"):
        for lang in texts.LANGUAGES:
            pool = texts.CHATBOT[key][lang]
            offsets.append(len(topics))
            sizes.append(len(pool))
            topics += [t for t, _ in pool]
            messages += [json.dumps(m, ensure_ascii=False) for _, m in pool]
    return pa.array(topics), pa.array(messages), np.array(offsets), np.array(sizes)


_CHAT_TOPIC, _CHAT_MESSAGE, _CHAT_OFFSET, _CHAT_SIZE = _chat_table()


@dataclass
class WebResult:
    block: Block
    result_person: np.ndarray
    result_intent: np.ndarray
    result_ts: np.ndarray
    result_device: np.ndarray
    result_error: np.ndarray
    result_retry: np.ndarray


@dataclass
class _Rows:
    """Rows of one kind: which session, which repetition, what they say."""

    event: str
    session: np.ndarray
    rank: int
    properties: pa.Array
    path: pa.Array
    title: pa.Array
    """Quoted JSON string."""
    traits: pa.Array | None = None
    revenue: np.ndarray | None = None
    currency: np.ndarray | None = None
    cost: np.ndarray | None = None
    ad: bool = False
    email: bool = False
    """An email click that opened the session: sent by the email platform, under the userId."""
    identity: str = ""
    """"identify" or "alias": the row identifies the person on its device."""


def _eur(rows: np.ndarray) -> np.ndarray:
    return np.ones(len(rows), dtype=np.int64)


def _repeat(count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    session = np.repeat(np.arange(len(count)), count)
    j = np.arange(len(session)) - np.repeat(np.cumsum(count) - count, count)
    return session, j


def expand_sessions(rng: np.random.Generator, people: People, intents: Intents,
                    s: Sessions, world: World, *, identify: bool = True) -> WebResult:
    """The events of sessions ``s``; with ``identify`` their identifies set ``ident_from``."""
    n = len(s)
    brand = people.brand[s.person]
    hotel, shop = brand == cat.HOTEL, brand == cat.SHOP
    app = s.device == APP_DEVICE
    intent = np.maximum(s.intent, 0)
    has_intent = s.intent >= 0
    research, final, retry = s.kind == RESEARCH, s.kind == FINAL, s.kind == RETRY
    u = rng.random((8, n))
    L = LOOKUP

    def brand_json(session: np.ndarray) -> Json:
        return Json(len(session)).raw("brand", take(L.brand_q, brand[session]))

    def constant_text(session: np.ndarray, text: str) -> pa.Array:
        return constant(len(session), text)

    def order_id(session: np.ndarray) -> pa.Array:
        prefix = take(pa.array(["LB-B", "BA-O"]), brand[session])
        return concat(prefix, pa.array(intents.number[intent[session]]).cast(pa.string()))

    def item_of(session: np.ndarray, j: np.ndarray, pool: int) -> np.ndarray:
        focus = has_intent[session] & ((j == 0) & (~research[session] | (u[7][session] < .6)))
        return np.where(focus, intents.item[intent[session]],
                        rng.integers(0, pool, len(session)))

    rows: list[_Rows] = []

    def add(event: str, count: np.ndarray, rank: int,
            build: Callable[[np.ndarray, np.ndarray], dict[str, object]]) -> None:
        session, j = _repeat(count.astype(np.int64))
        if len(session):
            rows.append(_Rows(event=event, session=session, rank=rank, **build(session, j)))

    # -- ad click, login, landing, pages -------------------------------------------------
    def ad_click(session: np.ndarray, j: np.ndarray) -> dict[str, object]:
        t = s.traffic[session]
        props = brand_json(session).text("campaign", take(CAMPAIGN_NAME, t)).text(
            "platform", take(PLATFORM, t)).money("cost", _CPC[t], 4).text("currency", "EUR")
        return {"properties": props.build(), "path": constant_text(session, "/"),
                "title": constant_text(session, '""'), "cost": _CPC[t], "ad": True,
                "currency": _eur(session)}

    add("ad_click", _PAID[s.traffic] & ~app & (research | final), 0, ad_click)

    def email_click(session: np.ndarray, j: np.ndarray) -> dict[str, object]:
        campaign = newsletter_campaign(world, brand[session], s.start[session])
        props = brand_json(session).text("campaign", campaign).text(
            "campaign_type", "newsletter").text("url", concat(
                "https://", take(L.domain, brand[session]), "/"))
        return {"properties": props.build(), "path": constant_text(session, "/"),
                "title": concat('"', campaign, '"'), "email": True}

    add("email_clicked", _NEWSLETTER[s.traffic] & (s.kind != CLICK), 0, email_click)

    def login(session: np.ndarray, j: np.ndarray) -> dict[str, object]:
        p = s.person[session]
        traits = Json(len(session)).text("email", take(people.email, p)).build()
        return {"properties": brand_json(session).build(), "path": constant_text(session, "/account"),
                "title": constant_text(session, '"Accedi"'), "traits": traits,
                "identity": "identify"}

    def alias(session: np.ndarray, j: np.ndarray) -> dict[str, object]:
        out = login(session, j)
        return out | {"traits": None, "identity": "alias"}

    add("identify", s.login & ~app, 1, login)
    add("alias", s.login & app, 1, alias)

    def page(session: np.ndarray, j: np.ndarray, landing: bool) -> dict[str, object]:
        b = brand[session]
        choice = np.where(landing & (u[1][session] < .55), 0,
                          rng.integers(0, 1 << 30, len(session)) % L.page_count[b])
        code = L.page_offset[b] + choice
        path, title = take(L.page_path, code), take(L.page_title_q, code)
        props = brand_json(session).raw("name", title).text("path", path).text(
            "page_type", take(L.page_type, code))
        return {"properties": props.build(), "path": path, "title": title}

    add("page_viewed", ~app, 2, lambda se, j: page(se, j, True))
    add("screen_viewed", app, 2, lambda se, j: page(se, j, True))
    extra = rng.poisson(np.select([final, retry], [.6, 0], 1.0))
    add("page_viewed", np.where(app, 0, extra), 3, lambda se, j: page(se, j, False))
    add("screen_viewed", np.where(app, extra, 0), 3, lambda se, j: page(se, j, False))

    # -- consideration ---------------------------------------------------------------------
    def search(session: np.ndarray, j: np.ndarray) -> dict[str, object]:
        query = take(_SEARCHES, rng.integers(0, len(cat.SHOP_SEARCHES), len(session)))
        return {"properties": brand_json(session).text("query", query).build(),
                "path": constant_text(session, "/cerca"), "title": constant_text(session, '"Cerca"')}

    add("site_search", shop & ~retry & (u[2] < .3), 4, search)

    def product(session: np.ndarray, j: np.ndarray, quantity: bool = False) -> dict[str, object]:
        item = item_of(session, j, len(cat.PRODUCTS))
        props = brand_json(session).text("product_id", take(L.product_id, item)).raw(
            "name", take(L.product_name_q, item)).text(
            "category", take(L.product_category, item)).money("price", PRODUCT_PRICE[item])
        if quantity:
            props.number("quantity", intents.quantity[intent[session]])
        props.text("currency", "EUR")
        return {"properties": props.build(), "path": take(L.product_path, item),
                "title": take(L.product_name_q, item), "currency": _eur(session)}

    def room(session: np.ndarray, j: np.ndarray) -> dict[str, object]:
        item = np.minimum(item_of(session, j, len(cat.ROOMS)), len(cat.ROOMS) - 1)
        props = brand_json(session).text("room_id", take(L.room_id, item)).raw(
            "name", take(L.room_name_q, item)).money("price_per_night", ROOM_PRICE[item]).text(
            "currency", "EUR")
        return {"properties": props.build(), "path": take(L.room_path, item),
                "title": take(L.room_name_q, item), "currency": _eur(session)}

    viewed = np.select([research, final, retry], [1 + rng.poisson(1.5, n), 1 + rng.poisson(1, n),
                                                  0], 1 + rng.poisson(.8, n))
    add("product_viewed", np.where(shop, viewed, 0), 5, product)
    add("room_viewed", np.where(hotel, viewed, 0), 5, room)

    def availability(session: np.ndarray, j: np.ndarray) -> dict[str, object]:
        i = intent[session]
        props = brand_json(session).text("check_in", world.date_text(intents.stay_day[i])).number(
            "nights", intents.nights[i]).number("adults", intents.adults[i]).number(
            "children", intents.children[i]).number("rooms", intents.rooms[i])
        return {"properties": props.build(), "path": constant_text(session, "/prenota"),
                "title": constant_text(session, '"Verifica disponibilità"')}

    add("availability_searched", hotel & has_intent & (final | (research & (u[2] < .5))), 6,
        availability)

    def review(session: np.ndarray, j: np.ndarray) -> dict[str, object]:
        b = brand[session]
        rating = 40 + rng.integers(0, 9, len(session))
        platform = take(pa.array(["TripAdvisor", "Trustpilot"]), b)
        props = brand_json(session).text("platform", platform).raw(
            "rating_shown", concat(pa.array(rating // 10).cast(pa.string()), ".",
                                   pa.array(rating % 10).cast(pa.string()))).number(
            "reviews_shown", 5 + rng.integers(0, 6, len(session)))
        return {"properties": props.build(), "path": constant_text(session, "/recensioni"),
                "title": constant_text(session, '"Recensioni"')}

    add("review_read", ~retry & (u[3] < np.select([research, final], [.3, .2], .1)), 7, review)

    def chatbot(session: np.ndarray, j: np.ndarray) -> dict[str, object]:
        lang = people.language[s.person[session]]
        group = brand[session] * 2 + lang
        code = _CHAT_OFFSET[group] + rng.integers(0, 1 << 30, len(session)) % _CHAT_SIZE[group]
        props = brand_json(session).raw("message", take(_CHAT_MESSAGE, code)).text(
            "topic", take(_CHAT_TOPIC, code)).text("language", take(pa.array(["it", "en"]), lang))
        return {"properties": props.build(), "path": constant_text(session, "/"),
                "title": constant_text(session, '"Chat"')}

    add("chatbot_message", ~retry & (u[4] < np.where(research, .07, .04)) * (
        1 + rng.poisson(.6, n)), 8, chatbot)

    def compared(session: np.ndarray, j: np.ndarray) -> dict[str, object]:
        b = brand[session]
        pool = np.where(b == cat.HOTEL, len(cat.ROOMS), len(cat.PRODUCTS))
        a, c = rng.integers(0, 1 << 30, (2, len(session))) % pool
        ids = pa.concat_arrays([L.room_id, L.product_id])
        offset = np.where(b == cat.HOTEL, 0, len(cat.ROOMS))
        items = concat('["', take(ids, offset + a), '","', take(ids, offset + (a + 1 + c % (
            pool - 1)) % pool), '"]')
        return {"properties": brand_json(session).raw("items", items).build(),
                "path": constant_text(session, "/confronta"),
                "title": constant_text(session, '"Confronta"')}

    compare = research & (u[5] < .1)
    add("products_compared", shop & compare, 9, compared)
    add("rooms_compared", hotel & compare, 9, compared)

    # -- signup, quote, cart, checkout -----------------------------------------------------
    def identify_traits(session: np.ndarray, j: np.ndarray, kind: str) -> dict[str, object]:
        p = s.person[session]
        traits = Json(len(session)).text("email", take(people.email, p)).text(
            "first_name", take(people.first_name, p))
        if kind != "signup":
            traits.text("last_name", take(people.last_name, p))
        if kind == "checkout":
            traits.optional(rng.random(len(session)) < .6, "phone",
                            concat('"', take(people.phone, p), '"'))
        traits.text("language", take(pa.array(["it", "en"]), people.language[p]))
        if kind == "signup":
            traits.raw("marketing_consent", "true")
        return {"properties": brand_json(session).build(), "path": constant_text(session, "/"),
                "title": constant_text(session, '""'), "traits": traits.build(),
                "identity": "identify"}

    def signup(session: np.ndarray, j: np.ndarray) -> dict[str, object]:
        where_ = take(pa.array(["popup", "footer"]), (u[6][session] < .7).astype(np.int8))
        props = brand_json(session).text("list", "newsletter").text("location", where_).raw(
            "consent", "true")
        return {"properties": props.build(), "path": constant_text(session, "/"),
                "title": constant_text(session, '"Newsletter"')}

    add("identify", s.signup, 10, lambda se, j: identify_traits(se, j, "signup"))
    add("newsletter_signup", s.signup, 11, signup)

    def quote(session: np.ndarray, j: np.ndarray) -> dict[str, object]:
        i = intent[session]
        quantity = np.where(hotel[session], intents.rooms[i], intents.quantity[i])
        kind = take(pa.array(["group_booking", "wholesale"]), brand[session])
        props = brand_json(session).text("request", kind).number("quantity", quantity)
        return {"properties": props.build(), "path": constant_text(session, "/b2b"),
                "title": constant_text(session, '"Richiesta preventivo"')}

    add("identify", s.quote, 12, lambda se, j: identify_traits(se, j, "quote"))
    add("quote_requested", s.quote, 13, quote)
    add("add_to_cart", shop & (s.stage >= CART) & ~retry, 14,
        lambda se, j: product(se, np.zeros(len(se), dtype=np.int64), quantity=True))

    def checkout_step(session: np.ndarray, j: np.ndarray, step: str) -> dict[str, object]:
        i = intent[session]
        props = brand_json(session).text("order_id", order_id(session)).money(
            "value", intents.revenue[i]).text(
            "currency", take(pa.array(["", "EUR", "CHF", "USD"]), intents.currency[i]))
        path = ("/checkout", "/checkout/pagamento")[step != "started"]
        if step != "started":
            method = take(_PAYMENTS, rng.integers(0, len(cat.PAYMENT_METHODS), len(session)))
            props.text("payment_method", method)
        if step == "error":
            props.text("reason", take(_ERRORS, rng.integers(0, len(_ERRORS), len(session)))).text(
                "step", "payment")
        return {"properties": props.build(), "path": constant_text(session, path),
                "title": constant_text(session, '"Checkout"'),
                "currency": intents.currency[i].astype(np.int64)}

    checkout = s.stage >= CHECKOUT
    add("identify", checkout, 15, lambda se, j: identify_traits(se, j, "checkout"))
    add("checkout_started", checkout, 16, lambda se, j: checkout_step(se, j, "started"))
    add("checkout_payment", s.stage >= PAYMENT, 17, lambda se, j: checkout_step(se, j, "payment"))
    add("checkout_error", s.outcome == ERROR, 18, lambda se, j: checkout_step(se, j, "error"))

    def purchase(session: np.ndarray, j: np.ndarray) -> dict[str, object]:
        i = intent[session]
        it, it2 = intents.item[i], np.maximum(intents.item2[i], 0)
        line = concat('{"product_id":"', take(L.product_id, it), '","name":',
                      take(L.product_name_q, it), ',"price":', money_text(PRODUCT_PRICE[it]),
                      ',"quantity":', pa.array(intents.quantity[i]).cast(pa.string()), "}")
        line2 = where(intents.item2[i] >= 0, concat(
            ',{"product_id":"', take(L.product_id, it2), '","name":',
            take(L.product_name_q, it2), ',"price":', money_text(PRODUCT_PRICE[it2]),
            ',"quantity":', pa.array(intents.quantity2[i]).cast(pa.string()), "}"))
        products = concat("[", line, line2, "]", skip_nulls=True)
        code = intents.discount[i]
        props = brand_json(session).text("order_id", order_id(session)).money(
            "revenue", intents.revenue[i]).text("currency", "EUR").raw("products", products).money(
            "shipping", intents.shipping[i]).text(
            "payment_method", take(_PAYMENTS, rng.integers(0, 4, len(session)))).text(
            "order_type", take(pa.array(["online", "wholesale"]),
                               intents.wholesale[i].astype(np.int8))).optional(
            code >= 0, "discount_code", concat('"', take(_DISCOUNTS, np.maximum(code, 0)), '"'))
        return {"properties": props.build(), "path": constant_text(session, "/checkout/grazie"),
                "title": constant_text(session, '"Grazie per il tuo ordine"'),
                "revenue": intents.revenue[i], "currency": intents.currency[i]}

    def booking(session: np.ndarray, j: np.ndarray) -> dict[str, object]:
        i = intent[session]
        props = booking_properties(brand_json(session), intents, i, world, order_id(session))
        return {"properties": props.build(), "path": constant_text(session, "/prenota/conferma"),
                "title": constant_text(session, '"Prenotazione confermata"'),
                "revenue": intents.revenue[i], "currency": intents.currency[i]}

    success = s.outcome == SUCCESS
    add("purchase", shop & success, 18, purchase)
    add("booking_confirmed", hotel & success, 18, booking)
    return _finish(rng, people, s, rows, identify)


def newsletter_campaign(world: World, brand: np.ndarray, ts: np.ndarray) -> pa.Array:
    """Name of the last newsletter each brand sent before ``ts``, e.g. aurora-newsletter-2026-03-12."""
    out = pa.nulls(len(ts), pa.string())
    for b in (cat.HOTEL, cat.SHOP):
        sel = brand == b
        if not sel.any():
            continue
        sends = world.newsletter_sends[b]
        last = np.maximum(np.searchsorted(sends, ts[sel], side="right") - 1, 0)
        names = concat(cat.BRANDS[b].key + "-newsletter-", world.date_text(
            world.newsletter_days[b][last]))
        out = pc.replace_with_mask(out, pa.array(sel), names)
    return out


def booking_properties(props: Json, intents: Intents, i: np.ndarray, world: World,
                       booking_id: pa.Array) -> Json:
    """Properties of a hotel booking (shared by the website, the phone and the partners)."""
    stay = intents.stay_day[i]
    return props.text("booking_id", booking_id).text(
        "room_type", take(LOOKUP.room_id, intents.item[i])).text(
        "check_in", world.date_text(stay)).text(
        "check_out", world.date_text(stay + intents.nights[i])).number(
        "nights", intents.nights[i]).number("adults", intents.adults[i]).number(
        "children", intents.children[i]).number("rooms", intents.rooms[i]).text(
        "rate_plan", take(_RATES, intents.rate[i])).money("revenue", intents.revenue[i]).text(
        "currency", take(pa.array(["", "EUR", "CHF", "USD"]), intents.currency[i])).number(
        "booking_window_days", np.maximum(stay - intents.day[i], 0)).text(
        "booking_type", take(pa.array(["individual", "group"]), (intents.rooms[i] > 1)
                             .astype(np.int8)))


def _finish(rng: np.random.Generator, people: People, s: Sessions, rows: list[_Rows],
            identify: bool) -> WebResult:
    session = np.concatenate([r.session for r in rows])
    rank = np.concatenate([np.full(len(r.session), r.rank) for r in rows])
    within = np.arange(len(session))
    order = np.lexsort((within, rank, session))
    gaps = (5 + rng.exponential(40, len(session))) * SECOND
    sorted_session = session[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = sorted_session[1:] != sorted_session[:-1]
    gaps = np.where(new, 0, gaps).astype(np.int64)
    elapsed = np.cumsum(gaps)
    first_elapsed = np.maximum.accumulate(np.where(new, elapsed, 0))
    ts = np.empty(len(session), dtype=np.int64)
    ts[order] = s.start[sorted_session] + elapsed - first_elapsed

    person = s.person[session]
    device = s.device[session].astype(np.int64)
    if identify:
        marks = np.concatenate([np.full(len(r.session), r.identity != "") for r in rows])
        np.minimum.at(people.ident_from, (person[marks], device[marks]), ts[marks])
        np.minimum.at(people.known_us, person[marks], ts[marks])
    cookie = take(pa.concat_arrays(list(people.cookies)), device * people.n + person)
    identified = ts >= people.ident_from[person, device]
    ad = np.concatenate([np.full(len(r.session), r.ad) for r in rows])
    email = np.concatenate([np.full(len(r.session), r.email) for r in rows])
    user = where(identified & ~ad, take(people.user_id, person))
    user = pc.if_else(pa.array(email), take(people.user_id, person), user)
    cookie = pc.if_else(pa.array(email), pa.scalar(None, pa.string()), cookie)
    is_alias = np.concatenate([np.full(len(r.session), r.identity == "alias") for r in rows])
    user = pc.if_else(pa.array(is_alias), take(people.user_id, person), user)

    brand = people.brand[person]
    path = pa.concat_arrays([r.path for r in rows])
    title = pa.concat_arrays([r.title for r in rows])
    kind = np.select([ad, email, device == APP_DEVICE], [2, 3, 1], 0)
    context = _context(rng, s, session, brand, device, path, title, rank, kind, people)
    source = np.select([ad, email, device == APP_DEVICE],
                       [cat.SOURCE_INDEX["ad_server"], _EMAIL_SOURCE[brand],
                        cat.SOURCE_INDEX["shop_app"]], _WEB_SOURCE[brand])
    events = np.concatenate([np.full(len(r.session), cat.EVENT_INDEX[r.event], np.int16)
                             for r in rows])

    def numbers(name: str, fill: int) -> np.ndarray:
        return np.concatenate([getattr(r, name) if getattr(r, name) is not None
                               else np.full(len(r.session), fill, dtype=np.int64) for r in rows])

    def strings(name: str) -> pa.Array:
        return pa.concat_arrays([getattr(r, name) if getattr(r, name) is not None
                                 else pa.nulls(len(r.session), pa.string()) for r in rows])

    out = block(
        person, ts, events, source.astype(np.int8), TRAFFIC_CHANNEL[s.traffic[session]],
        strings("properties"), context=context, traits=strings("traits"),
        anonymous_id=cookie, user_id=user,
        previous_id=where(is_alias, cookie), revenue=numbers("revenue", -1),
        cost=numbers("cost", -1), currency=numbers("currency", 0),
    )
    result = np.isin(events, [cat.EVENT_INDEX[e] for e in
                              ("purchase", "booking_confirmed", "checkout_error")])
    return WebResult(
        block=out, result_person=person[result], result_intent=s.intent[session][result],
        result_ts=ts[result], result_device=device[result],
        result_error=events[result] == cat.EVENT_INDEX["checkout_error"],
        result_retry=s.kind[session][result] == RETRY,
    )


def _context(rng: np.random.Generator, s: Sessions, session: np.ndarray, brand: np.ndarray,
             device: np.ndarray, path: pa.Array, title: pa.Array, rank: np.ndarray,
             kind: np.ndarray, people: People) -> pa.Array:
    """``context`` of every row: built per kind of row (website, app, ad or email), each only
    for its own rows, then put back in row order."""
    order = np.argsort(kind, kind="stable")
    bounds = np.searchsorted(kind[order], np.arange(5))
    parts = []
    for k, build in enumerate((_web_context, _app_context, _ad_context, _email_context)):
        rows = order[bounds[k]:bounds[k + 1]]
        if len(rows):
            parts.append(build(rng, s, session[rows], brand[rows], device[rows],
                               path.take(pa.array(rows)), title.take(pa.array(rows)),
                               rank[rows], people))
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.arange(len(order))
    return pa.concat_arrays(parts).take(pa.array(inverse))


def _user_agent(s: Sessions, session: np.ndarray, device: np.ndarray,
                people: People) -> pa.Array:
    variant = (people.gidx[s.person[session]] % 2) + np.where(device == 0, 0, 2)
    return take(_USER_AGENTS, variant)


def _web_context(rng: np.random.Generator, s: Sessions, session: np.ndarray,
                 brand: np.ndarray, device: np.ndarray, path: pa.Array, title: pa.Array,
                 rank: np.ndarray, people: People) -> pa.Array:
    traffic = s.traffic[session]
    landing = rank == 2
    host = concat("https://", take(LOOKUP.domain, brand))
    n = len(session)
    tagged = np.flatnonzero(landing & _HAS_UTM[traffic])
    t = traffic[tagged]
    click = np.flatnonzero(_CLICK_ID[t])
    gclid = pc.replace_with_mask(pa.nulls(len(tagged), pa.string()), pa.array(_CLICK_ID[t]),
                                 concat("&gclid=", hex_ids(rng, len(click), 10)))
    query = pc.replace_with_mask(pa.nulls(n, pa.string()), pa.array(landing & _HAS_UTM[traffic]),
                                 concat(take(_UTM_QUERY, t), gclid, skip_nulls=True))
    url = concat(host, path, query, skip_nulls=True)
    first = np.flatnonzero(landing)
    referrer = pc.replace_with_mask(
        concat(host, "/"), pa.array(landing),
        where(_HAS_REFERRER[traffic[first]], take(_REFERRER, traffic[first])))
    campaign = pc.replace_with_mask(take(_LATER_CAMPAIGN, traffic), pa.array(landing),
                                    take(_LANDING_CAMPAIGN, traffic[first]))
    locale = take(_LOCALE, people.language[s.person[session]])
    return concat(
        '{"page":{"path":"', path, '"', concat(',"referrer":"', referrer, '"'),
        ',"title":', title, ',"url":"', url, '"}', campaign, ',"userAgent":"',
        _user_agent(s, session, device, people), '","device":{"type":"',
        take(_DEVICE_TYPE, device), '"},"locale":"', locale,
        '","library":{"name":"analytics.js","version":"4.1.0"}}', skip_nulls=True)


def _app_context(rng: np.random.Generator, s: Sessions, session: np.ndarray,
                 brand: np.ndarray, device: np.ndarray, path: pa.Array, title: pa.Array,
                 rank: np.ndarray, people: People) -> pa.Array:
    locale = take(_LOCALE, people.language[s.person[session]])
    return concat(_APP_CONTEXT, title, '},"locale":"', locale, '"}')


def _ad_context(rng: np.random.Generator, s: Sessions, session: np.ndarray,
                brand: np.ndarray, device: np.ndarray, path: pa.Array, title: pa.Array,
                rank: np.ndarray, people: People) -> pa.Array:
    traffic = s.traffic[session]
    return concat('{"campaign":', take(AD_CAMPAIGN, traffic), ',"userAgent":"',
                  _user_agent(s, session, device, people), '","device":{"type":"',
                  take(_DEVICE_TYPE, device), '"}}')


def _email_context(rng: np.random.Generator, s: Sessions, session: np.ndarray,
                   brand: np.ndarray, device: np.ndarray, path: pa.Array, title: pa.Array,
                   rank: np.ndarray, people: People) -> pa.Array:
    return concat('{"campaign":{"source":"newsletter","medium":"email","name":', title, "}}")
