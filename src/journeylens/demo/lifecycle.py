"""After the purchase: deliveries, customer-service tickets, surveys, reviews and referrals.

Each purchase or stay has an experience: a latent satisfaction (the person's, 0–10) lowered by
what went wrong — a slow delivery, a failed payment, a slow ticket. Survey scores, review
ratings and comments follow it, so the planted pain points show in the answers (see
docs/demo.md: patterns 1 and 5).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from journeylens.demo import catalogue as cat
from journeylens.demo.columns import Json, concat, int_text, take
from journeylens.demo.feedback import MOOD, mood_by_score, referrals, reviews, survey
from journeylens.demo.frame import Attempts, Block, Conversions, block
from journeylens.demo.intents import Intents
from journeylens.demo.patterns import (
    APP,
    ERROR_PENALTY,
    SLOW_DELIVERY_PENALTY,
    SLOW_DELIVERY_SHARE,
    SLOW_TICKET_PENALTY,
    STORE,
    TICKET_RATE,
    WEB,
)
from journeylens.demo.people import NEVER, People
from journeylens.demo.seasons import HOURS, sample_seconds
from journeylens.demo.tickets import tickets, unconverted_errors
from journeylens.demo.world import LOOKUP, World

__all__ = ["aftercare"]

SECOND = 1_000_000
HOUR = 3600 * SECOND
DAY = 24 * HOUR
_CARRIERS = pa.array(["BRT", "GLS", "Poste Italiane", "SDA"])


def _brand(people: People, p: np.ndarray) -> Json:
    return Json(len(p)).raw("brand", take(LOOKUP.brand_q, people.brand[p]))


def aftercare(
    rng: np.random.Generator,
    people: People,
    intents: Intents,
    conv: Conversions,
    attempts: Attempts,
    check_out: np.ndarray,
    world: World,
) -> list[Block]:
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
    props = (
        _brand(people, p[d])
        .text("order_id", order)
        .text("carrier", take(_CARRIERS, rng.integers(0, 4, len(d))))
        .number("delivery_days", days[d])
        .raw("on_time", take(pa.array(["true", "false"]), slow_delivery[d].astype(np.int8)))
    )
    blocks.append(
        block(
            p[d],
            delivered[d],
            "order_delivered",
            "shop_ecommerce",
            "Unassigned",
            props.build(),
            user_id=take(people.user_id, p[d]),
        )
    )

    # The end of the experience: delivery, check-out, or the purchase itself.
    end = np.where(shop_online, delivered, np.where(check_out < NEVER, check_out, conv.ts))

    # Tickets: slow deliveries and failed payments raise them; some are slow to be solved.
    rate = (
        TICKET_RATE["base"]
        + TICKET_RATE["slow_delivery"] * slow_delivery
        + TICKET_RATE["payment"] * conv.error
        + TICKET_RATE["stay"] * (brand == cat.HOTEL)
    )
    ticket = known & (conv.mode != STORE) & (rng.random(n) < rate)
    failed = unconverted_errors(rng, attempts, conv)
    t_person = np.concatenate([p[ticket], attempts.person[failed]])
    t_cause = np.concatenate(
        [
            np.where(slow_delivery[ticket], 1, np.where(conv.error[ticket], 2, 0)),
            np.full(int(failed.sum()), 2),
        ]
    )
    opened = np.concatenate(
        [
            end[ticket] + (rng.exponential(30, int(ticket.sum())) * HOUR).astype(np.int64),
            attempts.ts[failed] + (rng.exponential(12, int(failed.sum())) * HOUR).astype(np.int64),
        ]
    )
    t_conv = np.concatenate([np.flatnonzero(ticket), np.full(int(failed.sum()), -1)])
    t_blocks, t_slow, t_resolved = tickets(rng, people, t_person, t_cause, opened)
    blocks += t_blocks

    # Satisfaction of each purchase, then the surveys.
    slow_ticket = np.zeros(n, dtype=bool)
    slow_ticket[t_conv[(t_conv >= 0) & t_slow]] = True
    latent = (
        people.satisfaction[p]
        + rng.normal(0, 1.2, n)
        - SLOW_TICKET_PENALTY * slow_ticket
        - ERROR_PENALTY * conv.error
        - SLOW_DELIVERY_PENALTY * slow_delivery
    )
    has_ticket = np.zeros(n, dtype=bool)
    has_ticket[t_conv[t_conv >= 0]] = True
    mood_cause = np.select([slow_ticket, conv.error], [MOOD["service"], MOOD["payment"]], -1)

    # NPS after the purchase or the stay (when there was no ticket).
    asked = known & ~has_ticket & (rng.random(n) < 0.25)
    nps_ts = end + ((1 + rng.random(n) * 5) * DAY).astype(np.int64)
    score = np.clip(np.round(latent + rng.normal(0, 0.7, n)), 0, 10).astype(np.int64)
    mood = np.where(mood_cause >= 0, mood_cause, mood_by_score(score, 6, 9))
    stay_survey = np.where(brand == cat.HOTEL, 1, 0)
    for code, name in ((0, "post_purchase"), (1, "post_stay")):
        sel = asked & (stay_survey == code)
        blocks.append(
            survey(
                rng,
                people,
                p[sel],
                nps_ts[sel],
                "nps_response",
                score[sel],
                name,
                "purchase" if code == 0 else "stay",
                mood[sel],
            )
        )

    # NPS and CSAT after a ticket: slow tickets make detractors (pattern 5).
    t_latent = (
        people.satisfaction[t_person]
        + rng.normal(0, 1.2, len(t_person))
        - SLOW_TICKET_PENALTY * t_slow
    )
    t_mood = np.where(t_slow, MOOD["service"], -1)
    t_nps = np.clip(np.round(t_latent + rng.normal(0, 0.7, len(t_person))), 0, 10).astype(np.int64)
    sel = rng.random(len(t_person)) < 0.45
    blocks.append(
        survey(
            rng,
            people,
            t_person[sel],
            t_resolved[sel] + ((1 + rng.random(int(sel.sum())) * 2) * DAY).astype(np.int64),
            "nps_response",
            t_nps[sel],
            "post_ticket",
            "support",
            np.where(t_mood[sel] >= 0, t_mood[sel], mood_by_score(t_nps[sel], 6, 9)),
        )
    )
    csat = np.clip(np.round((t_latent + 1) / 2.2), 1, 5).astype(np.int64)
    sel = rng.random(len(t_person)) < 0.5
    blocks.append(
        survey(
            rng,
            people,
            t_person[sel],
            t_resolved[sel] + (rng.random(int(sel.sum())) * 4 * HOUR).astype(np.int64),
            "csat_response",
            csat[sel],
            "post_ticket",
            "support",
            np.where(t_mood[sel] >= 0, t_mood[sel], mood_by_score(csat[sel], 2, 4)),
        )
    )
    ces_t = np.clip(
        np.round(
            np.where(
                t_slow, rng.normal(2.5, 0.9, len(t_person)), rng.normal(5.6, 0.8, len(t_person))
            )
        ),
        1,
        7,
    ).astype(np.int64)
    sel = rng.random(len(t_person)) < 0.3
    blocks.append(
        survey(
            rng,
            people,
            t_person[sel],
            t_resolved[sel]
            + (rng.random(int(sel.sum())) * 4 * HOUR + 60 * SECOND).astype(np.int64),
            "ces_response",
            ces_t[sel],
            "post_ticket",
            "support",
            np.where(t_mood[sel] >= 0, t_mood[sel], mood_by_score(ces_t[sel], 3, 6)),
        )
    )

    # CSAT at the hotel's check-out kiosk.
    stay = (check_out < NEVER) & known & (rng.random(n) < 0.15)
    csat_stay = np.clip(np.round((latent + 1) / 2.2), 1, 5).astype(np.int64)
    blocks.append(
        survey(
            rng,
            people,
            p[stay],
            check_out[stay] + 10 * 60 * SECOND,
            "csat_response",
            csat_stay[stay],
            "post_stay",
            "check_out",
            mood_by_score(csat_stay[stay], 2, 4),
        )
    )

    # CES right after a checkout: failed payments are hard work (pattern 1).
    a = attempts
    asked_ces = rng.random(len(a.person)) < np.where(a.error, 0.35, 0.2)
    ces = np.where(
        a.error,
        rng.normal(2.2, 0.9, len(a.person)),
        rng.normal(5.9, 0.8, len(a.person)) - 0.3 * (a.device == 1),
    )
    ces = np.clip(np.round(ces), 1, 7).astype(np.int64)
    sel = asked_ces
    blocks.append(
        survey(
            rng,
            people,
            a.person[sel],
            a.ts[sel] + ((5 + rng.random(int(sel.sum())) * 55) * 60 * SECOND).astype(np.int64),
            "ces_response",
            ces[sel],
            "checkout",
            "checkout",
            np.where(a.error[sel], MOOD["payment"], mood_by_score(ces[sel], 3, 6)),
        )
    )

    blocks.append(reviews(rng, people, p, end, latent, mood_cause))
    promoters = asked & (score >= 9) & (rng.random(n) < 0.3)
    blocks.append(
        referrals(
            rng,
            people,
            p[promoters],
            nps_ts[promoters] + (rng.random(int(promoters.sum())) * 5 * DAY).astype(np.int64),
        )
    )
    return blocks
