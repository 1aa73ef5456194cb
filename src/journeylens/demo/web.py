"""Sessions → website and app events.

Each session becomes a run of events in a fixed order — ad or email click, login, landing page,
pages, searches, product or room views, availability, reviews read, chatbot, comparison, signup,
quote, cart, checkout, payment, result — a few seconds to minutes apart. The rows are built by
:mod:`journeylens.demo.webrows` and :mod:`journeylens.demo.checkout`, their context by
:mod:`journeylens.demo.webcontext`. Identify (and alias) rows set, per device, the time from
which the person's events carry the ``userId``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeylens.demo import catalogue as cat
from journeylens.demo import checkout as co
from journeylens.demo import webrows as wr
from journeylens.demo.columns import take, where
from journeylens.demo.frame import Block, block
from journeylens.demo.intents import Intents
from journeylens.demo.people import APP_DEVICE, People
from journeylens.demo.sessions import (
    CART,
    CHECKOUT,
    CLICK,
    ERROR,
    PAYMENT,
    RETRY,
    SUCCESS,
    Sessions,
)
from journeylens.demo.webcontext import (
    AD_ROW,
    APP_ROW,
    EMAIL_ROW,
    NEWSLETTER,
    PAID,
    TRAFFIC_CHANNEL,
    WEB_ROW,
    RowContext,
    build_context,
)
from journeylens.demo.world import World

__all__ = ["WebResult", "expand_sessions"]

SECOND = 1_000_000
LANDING_RANK = 2
_WEB_SOURCE = np.array([cat.SOURCE_INDEX["hotel_website"], cat.SOURCE_INDEX["shop_ecommerce"]])
_EMAIL_SOURCE = np.array([cat.SOURCE_INDEX["hotel_email"], cat.SOURCE_INDEX["shop_email"]])
_RESULTS = [cat.EVENT_INDEX[e] for e in ("purchase", "booking_confirmed", "checkout_error")]


@dataclass
class WebResult:
    """The events, and the checkout results (purchases, bookings, payment errors) in them."""

    block: Block
    result_person: np.ndarray
    result_intent: np.ndarray
    result_ts: np.ndarray
    result_device: np.ndarray
    result_error: np.ndarray
    result_retry: np.ndarray
    """The result came from a second try after a failed payment."""


@dataclass
class _Rows:
    """Rows of one kind: which session, in which place of the session, what they say."""

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


Builder = Callable[[wr.View, np.ndarray, np.ndarray], wr.Fields]


def expand_sessions(
    rng: np.random.Generator,
    people: People,
    intents: Intents,
    s: Sessions,
    world: World,
    *,
    identify: bool = True,
) -> WebResult:
    """The events of sessions ``s``; with ``identify`` their identifies set ``ident_from``."""
    v = wr.View(rng, people, intents, world, s)
    n, u, app = len(s), v.u, v.app
    research, final, retry = v.research, v.final, v.retry
    rows: list[_Rows] = []

    def add(event: str, count: np.ndarray, rank: int, build: Builder) -> None:
        count = count.astype(np.int64)
        session = np.repeat(np.arange(n), count)
        j = np.arange(len(session)) - np.repeat(np.cumsum(count) - count, count)
        if len(session):
            fields_ = build(v, session, j)
            rows.append(_Rows(event=event, session=session, rank=rank, **fields_))  # type: ignore[arg-type]

    add("ad_click", PAID[s.traffic] & ~app & (research | final), 0, wr.ad_click)
    add("email_clicked", NEWSLETTER[s.traffic] & (s.kind != CLICK), 0, wr.email_click)
    add("identify", s.login & ~app, 1, wr.login)
    add("alias", s.login & app, 1, wr.alias)
    landing, later = partial(wr.page, landing=True), partial(wr.page, landing=False)
    add("page_viewed", ~app, LANDING_RANK, landing)
    add("screen_viewed", app, LANDING_RANK, landing)
    extra = rng.poisson(np.select([final, retry], [0.6, 0], 1.0))
    add("page_viewed", np.where(app, 0, extra), 3, later)
    add("screen_viewed", np.where(app, extra, 0), 3, later)
    add("site_search", v.shop & ~retry & (u[2] < 0.3), 4, wr.search)
    viewed = np.select(
        [research, final, retry],
        [1 + rng.poisson(1.5, n), 1 + rng.poisson(1, n), 0],
        1 + rng.poisson(0.8, n),
    )
    add("product_viewed", np.where(v.shop, viewed, 0), 5, wr.product)
    add("room_viewed", np.where(v.hotel, viewed, 0), 5, wr.room)
    searching = v.hotel & v.has_intent & (final | (research & (u[2] < 0.5)))
    add("availability_searched", searching, 6, wr.availability)
    reads = ~retry & (u[3] < np.select([research, final], [0.3, 0.2], 0.1))
    add("review_read", reads, 7, wr.review)
    chats = ~retry & (u[4] < np.where(research, 0.07, 0.04))
    add("chatbot_message", chats * (1 + rng.poisson(0.6, n)), 8, wr.chatbot)
    compare = research & (u[5] < 0.1)
    add("products_compared", v.shop & compare, 9, wr.compared)
    add("rooms_compared", v.hotel & compare, 9, wr.compared)

    add("identify", s.signup, 10, partial(co.identify, kind="signup"))
    add("newsletter_signup", s.signup, 11, co.signup)
    add("identify", s.quote, 12, partial(co.identify, kind="quote"))
    add("quote_requested", s.quote, 13, co.quote)
    add("add_to_cart", v.shop & (s.stage >= CART) & ~retry, 14, partial(wr.product, cart=True))
    checkout = s.stage >= CHECKOUT
    add("identify", checkout, 15, partial(co.identify, kind="checkout"))
    add("checkout_started", checkout, 16, partial(co.checkout_step, step="started"))
    add("checkout_payment", s.stage >= PAYMENT, 17, partial(co.checkout_step, step="payment"))
    add("checkout_error", s.outcome == ERROR, 18, partial(co.checkout_step, step="error"))
    add("purchase", v.shop & (s.outcome == SUCCESS), 18, co.purchase)
    add("booking_confirmed", v.hotel & (s.outcome == SUCCESS), 18, co.booking)
    return _finish(rng, people, s, rows, identify)


def _times(rng: np.random.Generator, s: Sessions, session: np.ndarray, rank: np.ndarray
           ) -> np.ndarray:  # fmt: skip
    """Rows of a session in rank order, 5 s + Exponential(40 s) apart from the session start."""
    order = np.lexsort((np.arange(len(session)), rank, session))
    gaps = (5 + rng.exponential(40, len(session))) * SECOND
    sorted_session = session[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = sorted_session[1:] != sorted_session[:-1]
    elapsed = np.cumsum(np.where(new, 0, gaps).astype(np.int64))
    first_elapsed = np.maximum.accumulate(np.where(new, elapsed, 0))
    ts = np.empty(len(session), dtype=np.int64)
    ts[order] = s.start[sorted_session] + elapsed - first_elapsed
    return ts


def _column(rows: list[_Rows], name: str) -> np.ndarray:
    return np.concatenate([np.full(len(r.session), getattr(r, name)) for r in rows])


def _numbers(rows: list[_Rows], name: str, fill: int) -> np.ndarray:
    return np.concatenate([
        getattr(r, name) if getattr(r, name) is not None
        else np.full(len(r.session), fill, dtype=np.int64)
        for r in rows
    ])  # fmt: skip


def _strings(rows: list[_Rows], name: str) -> pa.Array:
    return pa.concat_arrays([
        getattr(r, name) if getattr(r, name) is not None
        else pa.nulls(len(r.session), pa.string())
        for r in rows
    ])  # fmt: skip


def _finish(
    rng: np.random.Generator, people: People, s: Sessions, rows: list[_Rows], identify: bool
) -> WebResult:
    session = np.concatenate([r.session for r in rows])
    rank = np.concatenate([np.full(len(r.session), r.rank) for r in rows])
    ts = _times(rng, s, session, rank)
    person = s.person[session]
    device = s.device[session].astype(np.int64)
    identity = _column(rows, "identity")
    if identify:
        marks = identity != ""
        np.minimum.at(people.ident_from, (person[marks], device[marks]), ts[marks])
        np.minimum.at(people.known_us, person[marks], ts[marks])
    ad, email, alias = _column(rows, "ad"), _column(rows, "email"), identity == "alias"
    customer = take(people.user_id, person)
    identified = (ts >= people.ident_from[person, device]) & ~ad
    user = pc.if_else(pa.array(email | alias), customer, where(identified, customer))
    cookie = take(pa.concat_arrays(list(people.cookies)), device * people.n + person)
    cookie = pc.if_else(pa.array(email), pa.scalar(None, pa.string()), cookie)

    brand = people.brand[person]
    kind = np.select([ad, email, device == APP_DEVICE], [AD_ROW, EMAIL_ROW, APP_ROW], WEB_ROW)
    context = build_context(rng, s, people, RowContext(
        session, brand, device, pa.concat_arrays([r.path for r in rows]),
        pa.concat_arrays([r.title for r in rows]), rank == LANDING_RANK), kind)  # fmt: skip
    source = np.select(
        [ad, email, device == APP_DEVICE],
        [cat.SOURCE_INDEX["ad_server"], _EMAIL_SOURCE[brand], cat.SOURCE_INDEX["shop_app"]],
        _WEB_SOURCE[brand],
    )
    events = np.concatenate([np.full(len(r.session), cat.EVENT_INDEX[r.event]) for r in rows])
    out = block(
        person, ts, events, source, TRAFFIC_CHANNEL[s.traffic[session]],
        _strings(rows, "properties"), context=context, traits=_strings(rows, "traits"),
        anonymous_id=cookie, user_id=user, previous_id=where(alias, cookie),
        revenue=_numbers(rows, "revenue", -1), cost=_numbers(rows, "cost", -1),
        currency=_numbers(rows, "currency", 0),
    )  # fmt: skip
    result = np.isin(events, _RESULTS)
    return WebResult(
        block=out,
        result_person=person[result],
        result_intent=s.intent[session][result],
        result_ts=ts[result],
        result_device=device[result],
        result_error=events[result] == cat.EVENT_INDEX["checkout_error"],
        result_retry=s.kind[session][result] == RETRY,
    )
