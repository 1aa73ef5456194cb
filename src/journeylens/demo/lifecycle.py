"""After the purchase: deliveries, customer-service tickets, surveys, reviews and referrals.

Each purchase or stay has an experience: a latent satisfaction (the person's, 0–10) lowered by
what went wrong — a slow delivery, a failed payment, a slow ticket. Survey scores, review
ratings and comments follow it, so the planted pain points show in the answers (see
docs/demo.md: patterns 1 and 5).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeylens.demo import catalogue as cat
from journeylens.demo import texts
from journeylens.demo.columns import Json, concat, hex_ids, int_text, take, where
from journeylens.demo.frame import CHANNEL_INDEX, Block, block
from journeylens.demo.intents import Intents
from journeylens.demo.offline import Conversions
from journeylens.demo.patterns import (
    APP,
    ERROR_PENALTY,
    SLOW_DELIVERY_PENALTY,
    SLOW_DELIVERY_SHARE,
    SLOW_TICKET_PENALTY,
    SLOW_TICKET_SHARE,
    STORE,
    TICKET_RATE,
    WEB,
)
from journeylens.demo.people import NEVER, People
from journeylens.demo.seasons import HOURS, sample_seconds
from journeylens.demo.world import LOOKUP, World

__all__ = ["Attempts", "aftercare"]

SECOND = 1_000_000
HOUR = 3600 * SECOND
DAY = 24 * HOUR
_CARRIERS = pa.array(["BRT", "GLS", "Poste Italiane", "SDA"])
_CONTACT = pa.array(["phone", "chat", "email"])
_CONTACT_CHANNEL = ("Phone", "Chat", "Email")
_SERVICE = np.array([cat.SOURCE_INDEX["hotel_service"], cat.SOURCE_INDEX["shop_service"]])
_WEB_SOURCE = np.array([cat.SOURCE_INDEX["hotel_website"], cat.SOURCE_INDEX["shop_ecommerce"]])
_LANG = pa.array(["it", "en"])
_MOOD = {m: i for i, m in enumerate(texts.MOODS)}


@dataclass
class Attempts:
    """Checkout results on the website and the app (successes and errors)."""

    person: np.ndarray
    intent: np.ndarray
    ts: np.ndarray
    device: np.ndarray
    error: np.ndarray


def _pool(entries: dict[tuple[int, int, int], list[tuple[str, ...]]]) -> tuple[
        list[pa.Array], np.ndarray, np.ndarray]:
    """Flatten text pools keyed (brand, language, mood) into arrays with offsets and sizes."""
    keys = sorted(entries)
    columns = len(next(iter(entries.values()))[0])
    flat: list[list[str]] = [[] for _ in range(columns)]
    offset = np.zeros((2, 2, len(texts.MOODS)), dtype=np.int64)
    size = np.zeros((2, 2, len(texts.MOODS)), dtype=np.int64)
    for key in keys:
        offset[key] = len(flat[0])
        size[key] = len(entries[key])
        for row in entries[key]:
            for c, value in enumerate(row):
                flat[c].append(json.dumps(value, ensure_ascii=False))
    return [pa.array(f) for f in flat], offset, size


_REVIEWS, _REVIEW_OFFSET, _REVIEW_SIZE = _pool({
    (b, lang, _MOOD[m]): list(texts.REVIEWS[brand.key][l][m])
    for b, brand in enumerate(cat.BRANDS) for lang, l in enumerate(texts.LANGUAGES)
    for m in texts.MOODS})
_COMMENTS, _COMMENT_OFFSET, _COMMENT_SIZE = _pool({
    (b, lang, _MOOD[m]): [(c,) for c in texts.COMMENTS[l][m]]
    for b in range(2) for lang, l in enumerate(texts.LANGUAGES) for m in texts.MOODS})
_TOPICS = pa.array([t for b in cat.BRANDS for t, _ in texts.TICKETS[b.key]])
_TOPIC_OFFSET = np.array([0, len(texts.TICKETS[cat.BRANDS[0].key])])
_TOPIC_CAUSE = [np.array([c for _, c in texts.TICKETS[b.key]]) for b in cat.BRANDS]


def _pick(rng: np.random.Generator, offset: np.ndarray, size: np.ndarray, brand: np.ndarray,
          lang: np.ndarray, mood: np.ndarray) -> np.ndarray:
    n = np.maximum(size[brand, lang, mood], 1)
    return offset[brand, lang, mood] + rng.integers(0, 1 << 30, len(brand)) % n


def _brand(people: People, p: np.ndarray) -> Json:
    return Json(len(p)).raw("brand", take(LOOKUP.brand_q, people.brand[p]))


def _survey_context(people: People, p: np.ndarray, survey: str) -> pa.Array:
    name = concat(take(LOOKUP.brand_key, people.brand[p]), "-" + survey)
    return concat('{"campaign":{"source":"survey","medium":"email","name":"', name, '"}}')


def _mood_by_score(score: np.ndarray, low: int, high: int) -> np.ndarray:
    return np.select([score <= low, score >= high], [_MOOD["negative"], _MOOD["positive"]],
                     _MOOD["neutral"])


def _survey(rng: np.random.Generator, people: People, p: np.ndarray, ts: np.ndarray,
            event: str, score: np.ndarray, survey: str, touchpoint: str, mood: np.ndarray
            ) -> Block:
    lang = people.language[p]
    comment = rng.random(len(p)) < .4
    code = _pick(rng, _COMMENT_OFFSET, _COMMENT_SIZE, people.brand[p], lang, mood)
    props = _brand(people, p).number("score", score).text("survey", survey).text(
        "touchpoint", touchpoint).text("language", take(_LANG, lang)).optional(
        comment, "comment", take(_COMMENTS[0], code))
    return block(p, ts, event, "surveys", "Email", props.build(),
                 user_id=take(people.user_id, p), context=_survey_context(people, p, survey))


def aftercare(rng: np.random.Generator, people: People, intents: Intents, conv: Conversions,
              attempts: Attempts, check_out: np.ndarray, world: World) -> list[Block]:
    blocks: list[Block] = []
    n = len(conv)
    p, i = conv.person, conv.intent
    brand = people.brand[p]
    shop_online = (brand == cat.SHOP) & np.isin(conv.mode, (WEB, APP))
    known = people.known_us[p] <= conv.ts + DAY

    # Deliveries of online orders.
    slow_delivery = shop_online & (rng.random(n) < SLOW_DELIVERY_SHARE)
    days = np.where(slow_delivery, rng.integers(5, 11, n), rng.integers(1, 5, n))
    local_day = (conv.ts - world.win.start_us) // DAY + days
    delivered = world.win.to_utc(local_day, sample_seconds(rng, HOURS["office"], n))
    d = np.flatnonzero(shop_online)
    order = concat("BA-O", int_text(intents.number[i[d]]))
    props = _brand(people, p[d]).text("order_id", order).text(
        "carrier", take(_CARRIERS, rng.integers(0, 4, len(d)))).number(
        "delivery_days", days[d]).raw("on_time", take(pa.array(["true", "false"]),
                                                      slow_delivery[d].astype(np.int8)))
    blocks.append(block(p[d], delivered[d], "order_delivered", "shop_ecommerce", "Unassigned",
                        props.build(), user_id=take(people.user_id, p[d])))

    # The end of the experience: delivery, check-out, or the purchase itself.
    end = np.where(shop_online, delivered, np.where(check_out < NEVER, check_out, conv.ts))

    # Tickets: slow deliveries and failed payments raise them; some are slow to be solved.
    rate = TICKET_RATE["base"] + TICKET_RATE["slow_delivery"] * slow_delivery + \
        TICKET_RATE["payment"] * conv.error + TICKET_RATE["stay"] * (brand == cat.HOTEL)
    ticket = known & (conv.mode != STORE) & (rng.random(n) < rate)
    failed = _unconverted_errors(rng, attempts, conv)
    t_person = np.concatenate([p[ticket], attempts.person[failed]])
    t_cause = np.concatenate([np.where(slow_delivery[ticket], 1, np.where(conv.error[ticket],
                                                                          2, 0)),
                              np.full(int(failed.sum()), 2)])
    opened = np.concatenate([
        end[ticket] + (rng.exponential(30, int(ticket.sum())) * HOUR).astype(np.int64),
        attempts.ts[failed] + (rng.exponential(12, int(failed.sum())) * HOUR).astype(np.int64)])
    t_conv = np.concatenate([np.flatnonzero(ticket), np.full(int(failed.sum()), -1)])
    t_blocks, t_slow, t_resolved = _tickets(rng, people, t_person, t_cause, opened)
    blocks += t_blocks

    # Satisfaction of each purchase, then the surveys.
    slow_ticket = np.zeros(n, dtype=bool)
    slow_ticket[t_conv[(t_conv >= 0) & t_slow]] = True
    latent = people.satisfaction[p] + rng.normal(0, 1.2, n) - SLOW_TICKET_PENALTY * slow_ticket \
        - ERROR_PENALTY * conv.error - SLOW_DELIVERY_PENALTY * slow_delivery
    has_ticket = np.zeros(n, dtype=bool)
    has_ticket[t_conv[t_conv >= 0]] = True
    mood_cause = np.select([slow_ticket, conv.error], [_MOOD["service"], _MOOD["payment"]], -1)

    # NPS after the purchase or the stay (when there was no ticket).
    asked = known & ~has_ticket & (rng.random(n) < .25)
    nps_ts = end + ((1 + rng.random(n) * 5) * DAY).astype(np.int64)
    score = np.clip(np.round(latent + rng.normal(0, .7, n)), 0, 10).astype(np.int64)
    mood = np.where(mood_cause >= 0, mood_cause, _mood_by_score(score, 6, 9))
    survey = np.where(brand == cat.HOTEL, 1, 0)
    for code, name in ((0, "post_purchase"), (1, "post_stay")):
        sel = asked & (survey == code)
        blocks.append(_survey(rng, people, p[sel], nps_ts[sel], "nps_response", score[sel],
                              name, "purchase" if code == 0 else "stay", mood[sel]))

    # NPS and CSAT after a ticket: slow tickets make detractors (pattern 5).
    t_latent = people.satisfaction[t_person] + rng.normal(0, 1.2, len(t_person)) \
        - SLOW_TICKET_PENALTY * t_slow
    t_mood = np.where(t_slow, _MOOD["service"], -1)
    t_nps = np.clip(np.round(t_latent + rng.normal(0, .7, len(t_person))), 0, 10).astype(
        np.int64)
    sel = rng.random(len(t_person)) < .45
    blocks.append(_survey(rng, people, t_person[sel], t_resolved[sel] + (
        (1 + rng.random(int(sel.sum())) * 2) * DAY).astype(np.int64), "nps_response",
        t_nps[sel], "post_ticket", "support",
        np.where(t_mood[sel] >= 0, t_mood[sel], _mood_by_score(t_nps[sel], 6, 9))))
    csat = np.clip(np.round((t_latent + 1) / 2.2), 1, 5).astype(np.int64)
    sel = rng.random(len(t_person)) < .5
    blocks.append(_survey(rng, people, t_person[sel], t_resolved[sel] + (
        rng.random(int(sel.sum())) * 4 * HOUR).astype(np.int64), "csat_response", csat[sel],
        "post_ticket", "support",
        np.where(t_mood[sel] >= 0, t_mood[sel], _mood_by_score(csat[sel], 2, 4))))
    ces_t = np.clip(np.round(np.where(t_slow, rng.normal(2.5, .9, len(t_person)),
                                      rng.normal(5.6, .8, len(t_person)))), 1, 7).astype(np.int64)
    sel = rng.random(len(t_person)) < .3
    blocks.append(_survey(rng, people, t_person[sel], t_resolved[sel] + (
        rng.random(int(sel.sum())) * 4 * HOUR + 60 * SECOND).astype(np.int64), "ces_response",
        ces_t[sel], "post_ticket", "support",
        np.where(t_mood[sel] >= 0, t_mood[sel], _mood_by_score(ces_t[sel], 3, 6))))

    # CSAT at the hotel's check-out kiosk.
    stay = (check_out < NEVER) & known & (rng.random(n) < .15)
    csat_stay = np.clip(np.round((latent + 1) / 2.2), 1, 5).astype(np.int64)
    blocks.append(_survey(rng, people, p[stay], check_out[stay] + 10 * 60 * SECOND, "csat_response",
                          csat_stay[stay], "post_stay", "check_out",
                          _mood_by_score(csat_stay[stay], 2, 4)))

    # CES right after a checkout: failed payments are hard work (pattern 1).
    a = attempts
    asked_ces = rng.random(len(a.person)) < np.where(a.error, .35, .2)
    ces = np.where(a.error, rng.normal(2.2, .9, len(a.person)),
                   rng.normal(5.9, .8, len(a.person)) - .3 * (a.device == 1))
    ces = np.clip(np.round(ces), 1, 7).astype(np.int64)
    sel = asked_ces
    blocks.append(_survey(rng, people, a.person[sel], a.ts[sel] + (
        (5 + rng.random(int(sel.sum())) * 55) * 60 * SECOND).astype(np.int64), "ces_response",
        ces[sel], "checkout", "checkout",
        np.where(a.error[sel], _MOOD["payment"], _mood_by_score(ces[sel], 3, 6))))

    blocks.append(_reviews(rng, people, p, end, latent, mood_cause))
    promoters = asked & (score >= 9) & (rng.random(n) < .3)
    blocks.append(_referrals(rng, people, p[promoters], nps_ts[promoters] + (
        rng.random(int(promoters.sum())) * 5 * DAY).astype(np.int64)))
    return blocks


def _unconverted_errors(rng: np.random.Generator, attempts: Attempts,
                        conv: Conversions) -> np.ndarray:
    """Failed payments whose intent never converted: a fifth of them open a ticket."""
    size = int(max(attempts.intent.max(initial=-1), conv.intent.max(initial=-1))) + 2
    converted = np.zeros(size, dtype=bool)
    converted[conv.intent] = True
    return attempts.error & ~converted[attempts.intent] & (rng.random(len(attempts.ts)) < .2)


def _tickets(rng: np.random.Generator, people: People, p: np.ndarray, cause: np.ndarray,
             opened: np.ndarray) -> tuple[list[Block], np.ndarray, np.ndarray]:
    n = len(p)
    brand = people.brand[p]
    slow = rng.random(n) < SLOW_TICKET_SHARE
    hours = np.where(slow, 48 + rng.exponential(60, n), 0.5 + np.minimum(
        rng.exponential(6, n), 40))
    first = np.where(slow, 12 + rng.random(n) * 36, 0.1 + rng.random(n) * 2)
    resolved = opened + (hours * HOUR).astype(np.int64)
    topic = np.zeros(n, dtype=np.int64)
    for b in (0, 1):
        causes = _TOPIC_CAUSE[b]
        for c, name in ((0, "any"), (1, "delivery"), (2, "payment")):
            options = np.flatnonzero(causes == name) if name != "any" else \
                np.flatnonzero(np.isin(causes, ("any", "stay")))
            sel = (brand == b) & (cause == c)
            topic[sel] = options[rng.integers(0, len(options), int(sel.sum()))]
    topic_text = take(_TOPICS, _TOPIC_OFFSET[brand] + topic)
    contact = rng.integers(0, 3, n)
    ticket_id = hex_ids(rng, n, 5, "T-")
    source = _SERVICE[brand]
    channel = np.array([_CONTACT_CHANNEL[c] for c in range(3)])[contact]
    base = _brand(people, p).text("ticket_id", ticket_id).text("topic", topic_text).text(
        "contact_method", take(_CONTACT, contact))
    opened_props = base.text("priority", take(pa.array(["normal", "high"]),
                                               (cause > 0).astype(np.int8))).build()
    resolved_props = _brand(people, p).text("ticket_id", ticket_id).text(
        "topic", topic_text).text("contact_method", take(_CONTACT, contact)).raw(
        "resolution_hours", _one_decimal(hours)).raw(
        "first_response_hours", _one_decimal(first)).raw("resolved", "true").build()
    user = take(people.user_id, p)
    codes = np.array([CHANNEL_INDEX[c] for c in channel], dtype=np.int8) if n else \
        np.zeros(0, dtype=np.int8)
    blocks = [
        block(p, opened, "support_ticket_opened", source, codes, opened_props, explicit=True,
              user_id=user),
        block(p, resolved, "support_ticket_resolved", source, codes, resolved_props,
              explicit=True, user_id=user),
    ]
    return blocks, slow, resolved


def _one_decimal(values: np.ndarray) -> pa.Array:
    tenths = np.round(values * 10).astype(np.int64)
    return concat(int_text(tenths // 10), ".", int_text(tenths % 10))


_PLATFORMS = ("Google", "TripAdvisor", "Trustpilot")
_PLATFORM_SOURCE = pa.array(["google", "tripadvisor", "trustpilot"])
_PLATFORM_CHANNEL = ("Organic Search", "Organic Social", "Referral")
_REVIEW_URL = pa.array(["https://www.google.com/maps/reviews", "https://www.tripadvisor.it/",
                        "https://it.trustpilot.com/review/"])


def _reviews(rng: np.random.Generator, people: People, p: np.ndarray, end: np.ndarray,
             latent: np.ndarray, mood_cause: np.ndarray) -> Block:
    """Reviews on Google, TripAdvisor and Trustpilot, collected by the review monitor."""
    n = len(p)
    wrote = rng.random(n) < .04 + .10 * (latent < 5) + .06 * (latent >= 9)
    p, end, latent, cause = p[wrote], end[wrote], latent[wrote], mood_cause[wrote]
    k = len(p)
    brand = people.brand[p]
    u = rng.random(k)
    platform = np.where(brand == cat.HOTEL, np.select([u < .5, u < .9], [1, 0], 2),
                        np.where(u < .5, 2, 0))
    rating = np.clip(np.round(latent / 2), 1, 5).astype(np.int64)
    mood = np.where(cause >= 0, cause, _mood_by_score(rating, 2, 4))
    lang = people.language[p]
    code = _pick(rng, _REVIEW_OFFSET, _REVIEW_SIZE, brand, lang, mood)
    author = concat(take(people.first_name, p), " ",
                    pc.utf8_slice_codeunits(take(people.last_name, p), 0, 1), ".")
    props = _brand(people, p).number("rating", rating).text(
        "platform", take(pa.array(list(_PLATFORMS)), platform)).raw(
        "title", take(_REVIEWS[0], code)).raw("text", take(_REVIEWS[1], code)).text(
        "language", take(_LANG, lang)).text("author", author)
    linked = platform != 0
    traits = where(linked, concat('{"email":"', take(people.email, p), '"}'))
    context = concat('{"campaign":{"source":"', take(_PLATFORM_SOURCE, platform),
                     '","medium":"referral"},"page":{"url":"', take(_REVIEW_URL, platform),
                     '"}}')
    channel = np.array([CHANNEL_INDEX[c] for c in _PLATFORM_CHANNEL], dtype=np.int8)[platform]
    ts = end + ((2 + rng.random(k) * 12) * DAY).astype(np.int64)
    return block(p, ts, "review_written", "review_monitor", channel, props.build(),
                 anonymous_id=hex_ids(rng, k, 8, "rv-"), traits=traits, context=context)


def _referrals(rng: np.random.Generator, people: People, p: np.ndarray, ts: np.ndarray) -> Block:
    """Promoters invite friends from the website ("invita un amico")."""
    domain = take(LOOKUP.domain, people.brand[p])
    medium = take(pa.array(["whatsapp", "email", "link"]), rng.integers(0, 3, len(p)))
    props = _brand(people, p).text("referral_code", concat(
        "AMICO-", take(people.user_id, p))).text("medium", medium)
    context = concat('{"page":{"path":"/invita-un-amico","title":"Invita un amico","url":"https://',
                     domain, '/invita-un-amico"},"device":{"type":"desktop"}}')
    return block(p, ts, "referral_sent", _WEB_SOURCE[people.brand[p]], "Direct", props.build(),
                 user_id=take(people.user_id, p), anonymous_id=people.cookies[0].take(
                     pa.array(p)), context=context)

