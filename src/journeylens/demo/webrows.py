"""Rows of website and app sessions, browsing part: ad and email clicks, logins, pages, searches,
product and room views, availability, reviews read, chatbot messages, comparisons.

Each builder takes the :class:`View` of the sessions and the rows to build (``session``: index of
each row's session, ``j``: its repetition within the session) and returns the row's fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from journeylens.demo import catalogue as cat
from journeylens.demo import texts
from journeylens.demo.columns import Json, concat, constant, int_text, take
from journeylens.demo.intents import PRODUCT_PRICE, ROOM_PRICE, Intents
from journeylens.demo.people import APP_DEVICE, People
from journeylens.demo.sessions import FINAL, RESEARCH, RETRY, Sessions
from journeylens.demo.webcontext import CAMPAIGN_NAME, CPC, PLATFORM, newsletter_campaign
from journeylens.demo.world import LOOKUP, World

__all__ = ["Fields", "View"]

Fields = dict[str, object]
"""What a builder returns: properties, path, title and the optional columns of its rows."""
_SEARCHES = pa.array(list(cat.SHOP_SEARCHES))
_LANGUAGES = pa.array(list(texts.LANGUAGES))


def _chat_table() -> tuple[pa.Array, pa.Array, np.ndarray, np.ndarray]:
    topics: list[str] = []
    messages: list[str] = []
    offsets: list[int] = []
    sizes: list[int] = []
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
class View:
    """The sessions being expanded, with what their rows are built from."""

    rng: np.random.Generator
    people: People
    intents: Intents
    world: World
    s: Sessions

    def __post_init__(self) -> None:
        s = self.s
        self.brand = self.people.brand[s.person]
        self.hotel, self.shop = self.brand == cat.HOTEL, self.brand == cat.SHOP
        self.app = s.device == APP_DEVICE
        self.intent = np.maximum(s.intent, 0)
        self.has_intent = s.intent >= 0
        self.research, self.final = s.kind == RESEARCH, s.kind == FINAL
        self.retry = s.kind == RETRY
        self.u = self.rng.random((8, len(s)))

    def brand_json(self, session: np.ndarray) -> Json:
        return Json(len(session)).raw("brand", take(LOOKUP.brand_q, self.brand[session]))

    def order_id(self, session: np.ndarray) -> pa.Array:
        prefix = take(pa.array(["LB-B", "BA-O"]), self.brand[session])
        return concat(prefix, int_text(self.intents.number[self.intent[session]]))

    def item_of(self, session: np.ndarray, j: np.ndarray, pool: int) -> np.ndarray:
        """The intent's product or room first, then others (research sessions wander)."""
        wander = self.research[session] & (self.u[7][session] >= 0.6)
        focus = self.has_intent[session] & (j == 0) & ~wander
        other = self.rng.integers(0, pool, len(session))
        return np.where(focus, self.intents.item[self.intent[session]], other)


def fixed(session: np.ndarray, path: str, title: str) -> Fields:
    """Path and (quoted) title that are the same on every row."""
    return {"path": constant(len(session), path), "title": constant(len(session), title)}


def ad_click(v: View, session: np.ndarray, j: np.ndarray) -> Fields:
    t = v.s.traffic[session]
    props = (
        v.brand_json(session)
        .text("campaign", take(CAMPAIGN_NAME, t))
        .text("platform", take(PLATFORM, t))
        .money("cost", CPC[t], 4)
        .text("currency", "EUR")
    )
    return {"properties": props.build(), **fixed(session, "/", '""'), "cost": CPC[t],
            "ad": True, "currency": np.ones(len(session), dtype=np.int64)}  # fmt: skip


def email_click(v: View, session: np.ndarray, j: np.ndarray) -> Fields:
    campaign = newsletter_campaign(v.world, v.brand[session], v.s.start[session])
    props = (
        v.brand_json(session)
        .text("campaign", campaign)
        .text("campaign_type", "newsletter")
        .text("url", concat("https://", take(LOOKUP.domain, v.brand[session]), "/"))
    )
    return {"properties": props.build(), "path": constant(len(session), "/"),
            "title": concat('"', campaign, '"'), "email": True}  # fmt: skip


def login(v: View, session: np.ndarray, j: np.ndarray) -> Fields:
    traits = Json(len(session)).text("email", take(v.people.email, v.s.person[session]))
    return {"properties": v.brand_json(session).build(), **fixed(session, "/account", '"Accedi"'),
            "traits": traits.build(), "identity": "identify"}  # fmt: skip


def alias(v: View, session: np.ndarray, j: np.ndarray) -> Fields:
    return login(v, session, j) | {"traits": None, "identity": "alias"}


def page(v: View, session: np.ndarray, j: np.ndarray, *, landing: bool) -> Fields:
    b = v.brand[session]
    other = v.rng.integers(0, 1 << 30, len(session)) % LOOKUP.page_count[b]
    choice = np.where(landing & (v.u[1][session] < 0.55), 0, other)
    code = LOOKUP.page_offset[b] + choice
    path, title = take(LOOKUP.page_path, code), take(LOOKUP.page_title_q, code)
    props = (
        v.brand_json(session)
        .raw("name", title)
        .text("path", path)
        .text("page_type", take(LOOKUP.page_type, code))
    )
    return {"properties": props.build(), "path": path, "title": title}


def search(v: View, session: np.ndarray, j: np.ndarray) -> Fields:
    query = take(_SEARCHES, v.rng.integers(0, len(cat.SHOP_SEARCHES), len(session)))
    props = v.brand_json(session).text("query", query)
    return {"properties": props.build(), **fixed(session, "/cerca", '"Cerca"')}


def product(v: View, session: np.ndarray, j: np.ndarray, *, cart: bool = False) -> Fields:
    item = v.item_of(session, np.zeros_like(j) if cart else j, len(cat.PRODUCTS))
    props = (
        v.brand_json(session)
        .text("product_id", take(LOOKUP.product_id, item))
        .raw("name", take(LOOKUP.product_name_q, item))
        .text("category", take(LOOKUP.product_category, item))
        .money("price", PRODUCT_PRICE[item])
    )
    if cart:
        props.number("quantity", v.intents.quantity[v.intent[session]])
    props.text("currency", "EUR")
    return {"properties": props.build(), "path": take(LOOKUP.product_path, item),
            "title": take(LOOKUP.product_name_q, item),
            "currency": np.ones(len(session), dtype=np.int64)}  # fmt: skip


def room(v: View, session: np.ndarray, j: np.ndarray) -> Fields:
    item = np.minimum(v.item_of(session, j, len(cat.ROOMS)), len(cat.ROOMS) - 1)
    props = (
        v.brand_json(session)
        .text("room_id", take(LOOKUP.room_id, item))
        .raw("name", take(LOOKUP.room_name_q, item))
        .money("price_per_night", ROOM_PRICE[item])
        .text("currency", "EUR")
    )
    return {"properties": props.build(), "path": take(LOOKUP.room_path, item),
            "title": take(LOOKUP.room_name_q, item),
            "currency": np.ones(len(session), dtype=np.int64)}  # fmt: skip


def availability(v: View, session: np.ndarray, j: np.ndarray) -> Fields:
    i = v.intent[session]
    props = (
        v.brand_json(session)
        .text("check_in", v.world.date_text(v.intents.stay_day[i]))
        .number("nights", v.intents.nights[i])
        .number("adults", v.intents.adults[i])
        .number("children", v.intents.children[i])
        .number("rooms", v.intents.rooms[i])
    )
    return {"properties": props.build(), **fixed(session, "/prenota", '"Disponibilità"')}


def review(v: View, session: np.ndarray, j: np.ndarray) -> Fields:
    rating = 40 + v.rng.integers(0, 9, len(session))
    platform = take(pa.array(["TripAdvisor", "Trustpilot"]), v.brand[session])
    props = (
        v.brand_json(session)
        .text("platform", platform)
        .raw("rating_shown", concat(int_text(rating // 10), ".", int_text(rating % 10)))
        .number("reviews_shown", 5 + v.rng.integers(0, 6, len(session)))
    )
    return {"properties": props.build(), **fixed(session, "/recensioni", '"Recensioni"')}


def chatbot(v: View, session: np.ndarray, j: np.ndarray) -> Fields:
    lang = v.people.language[v.s.person[session]]
    group = v.brand[session] * 2 + lang
    pick = v.rng.integers(0, 1 << 30, len(session)) % _CHAT_SIZE[group]
    code = _CHAT_OFFSET[group] + pick
    props = (
        v.brand_json(session)
        .raw("message", take(_CHAT_MESSAGE, code))
        .text("topic", take(_CHAT_TOPIC, code))
        .text("language", take(_LANGUAGES, lang))
    )
    return {"properties": props.build(), **fixed(session, "/", '"Chat"')}


def compared(v: View, session: np.ndarray, j: np.ndarray) -> Fields:
    hotel = v.brand[session] == cat.HOTEL
    pool = np.where(hotel, len(cat.ROOMS), len(cat.PRODUCTS))
    a, c = v.rng.integers(0, 1 << 30, (2, len(session))) % pool
    ids = pa.concat_arrays([LOOKUP.room_id, LOOKUP.product_id])
    offset = np.where(hotel, 0, len(cat.ROOMS))
    second = offset + (a + 1 + c % (pool - 1)) % pool
    items = concat('["', take(ids, offset + a), '","', take(ids, second), '"]')
    props = v.brand_json(session).raw("items", items)
    return {"properties": props.build(), **fixed(session, "/confronta", '"Confronta"')}
