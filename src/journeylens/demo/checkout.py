"""Rows of website and app sessions, deciding part: identify, newsletter signup, B2B quote,
cart, checkout steps, payment errors, purchases and bookings."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from journeylens.demo import catalogue as cat
from journeylens.demo import texts
from journeylens.demo.columns import Json, concat, int_text, money_text, take, where
from journeylens.demo.frame import CURRENCIES
from journeylens.demo.intents import PRODUCT_PRICE, RATE_PLANS, Intents
from journeylens.demo.webrows import Fields, View, fixed
from journeylens.demo.world import LOOKUP, World

__all__ = ["booking_properties"]

_PAYMENTS = pa.array(list(cat.PAYMENT_METHODS))
_ERRORS = pa.array(list(texts.CHECKOUT_ERRORS))
_RATES = pa.array(list(RATE_PLANS))
_DISCOUNTS = pa.array(list(cat.DISCOUNT_CODES))
_CURRENCY = pa.array(list(CURRENCIES))
_LANGUAGES = pa.array(list(texts.LANGUAGES))


def identify(v: View, session: np.ndarray, j: np.ndarray, *, kind: str) -> Fields:
    """The person gives their details: newsletter ``signup``, B2B ``quote``, ``checkout``."""
    p = v.s.person[session]
    traits = (
        Json(len(session))
        .text("email", take(v.people.email, p))
        .text("first_name", take(v.people.first_name, p))
    )
    if kind != "signup":
        traits.text("last_name", take(v.people.last_name, p))
    if kind == "checkout":
        phone = concat('"', take(v.people.phone, p), '"')
        traits.optional(v.rng.random(len(session)) < 0.6, "phone", phone)
    traits.text("language", take(_LANGUAGES, v.people.language[p]))
    if kind == "signup":
        traits.raw("marketing_consent", "true")
    return {"properties": v.brand_json(session).build(), **fixed(session, "/", '""'),
            "traits": traits.build(), "identity": "identify"}  # fmt: skip


def signup(v: View, session: np.ndarray, j: np.ndarray) -> Fields:
    location = take(pa.array(["popup", "footer"]), (v.u[6][session] < 0.7).astype(np.int8))
    props = (
        v.brand_json(session)
        .text("list", "newsletter")
        .text("location", location)
        .raw("consent", "true")
    )
    return {"properties": props.build(), **fixed(session, "/", '"Newsletter"')}


def quote(v: View, session: np.ndarray, j: np.ndarray) -> Fields:
    i = v.intent[session]
    quantity = np.where(v.hotel[session], v.intents.rooms[i], v.intents.quantity[i])
    kind = take(pa.array(["group_booking", "wholesale"]), v.brand[session])
    props = v.brand_json(session).text("request", kind).number("quantity", quantity)
    return {"properties": props.build(), **fixed(session, "/b2b", '"Richiesta preventivo"')}


def checkout_step(v: View, session: np.ndarray, j: np.ndarray, *, step: str) -> Fields:
    """``started``, ``payment`` or ``error`` (with the reason the payment failed)."""
    i = v.intent[session]
    props = (
        v.brand_json(session)
        .text("order_id", v.order_id(session))
        .money("value", v.intents.revenue[i])
        .text("currency", take(_CURRENCY, v.intents.currency[i]))
    )
    if step != "started":
        method = v.rng.integers(0, len(cat.PAYMENT_METHODS), len(session))
        props.text("payment_method", take(_PAYMENTS, method))
    if step == "error":
        reason = take(_ERRORS, v.rng.integers(0, len(texts.CHECKOUT_ERRORS), len(session)))
        props.text("reason", reason).text("step", "payment")
    path = "/checkout" if step == "started" else "/checkout/pagamento"
    return {"properties": props.build(), **fixed(session, path, '"Checkout"'),
            "currency": v.intents.currency[i].astype(np.int64)}  # fmt: skip


def _line(intents: Intents, item: np.ndarray, quantity: np.ndarray, first: bool) -> pa.Array:
    return concat(
        "{" if first else ',{', '"product_id":"', take(LOOKUP.product_id, item),
        '","name":', take(LOOKUP.product_name_q, item),
        ',"price":', money_text(PRODUCT_PRICE[item]), ',"quantity":', int_text(quantity), "}",
    )  # fmt: skip


def purchase(v: View, session: np.ndarray, j: np.ndarray) -> Fields:
    i = v.intent[session]
    it = v.intents
    second = where(it.item2[i] >= 0, _line(it, np.maximum(it.item2[i], 0), it.quantity2[i], False))
    products = concat("[", _line(it, it.item[i], it.quantity[i], True), second, "]",
                      skip_nulls=True)  # fmt: skip
    code = it.discount[i]
    order_type = take(pa.array(["online", "wholesale"]), it.wholesale[i].astype(np.int8))
    props = (
        v.brand_json(session)
        .text("order_id", v.order_id(session))
        .money("revenue", it.revenue[i])
        .text("currency", "EUR")
        .raw("products", products)
        .money("shipping", it.shipping[i])
        .text("payment_method", take(_PAYMENTS, v.rng.integers(0, 4, len(session))))
        .text("order_type", order_type)
        .optional(code >= 0, "discount_code",
                  concat('"', take(_DISCOUNTS, np.maximum(code, 0)), '"'))
    )  # fmt: skip
    return {"properties": props.build(),
            **fixed(session, "/checkout/grazie", '"Grazie per il tuo ordine"'),
            "revenue": it.revenue[i], "currency": it.currency[i]}  # fmt: skip


def booking(v: View, session: np.ndarray, j: np.ndarray) -> Fields:
    i = v.intent[session]
    props = booking_properties(v.brand_json(session), v.intents, i, v.world, v.order_id(session))
    return {"properties": props.build(),
            **fixed(session, "/prenota/conferma", '"Prenotazione confermata"'),
            "revenue": v.intents.revenue[i], "currency": v.intents.currency[i]}  # fmt: skip


def booking_properties(
    props: Json, intents: Intents, i: np.ndarray, world: World, booking_id: pa.Array
) -> Json:
    """Properties of a hotel booking (shared by the website, the phone and the partners)."""
    stay = intents.stay_day[i]
    kind = take(pa.array(["individual", "group"]), (intents.rooms[i] > 1).astype(np.int8))
    return (
        props.text("booking_id", booking_id)
        .text("room_type", take(LOOKUP.room_id, intents.item[i]))
        .text("check_in", world.date_text(stay))
        .text("check_out", world.date_text(stay + intents.nights[i]))
        .number("nights", intents.nights[i])
        .number("adults", intents.adults[i])
        .number("children", intents.children[i])
        .number("rooms", intents.rooms[i])
        .text("rate_plan", take(_RATES, intents.rate[i]))
        .money("revenue", intents.revenue[i])
        .text("currency", take(_CURRENCY, intents.currency[i]))
        .number("booking_window_days", np.maximum(stay - intents.day[i], 0))
        .text("booking_type", kind)
    )
