"""Customer-service tickets: opened after what went wrong (a slow delivery, a failed payment, a
stay), resolved fast or — for a planted share — slowly (pattern 5 in docs/demo.md)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from journeylens.demo import catalogue as cat
from journeylens.demo import texts
from journeylens.demo.columns import Json, concat, hex_ids, int_text, take
from journeylens.demo.frame import CHANNEL_INDEX, Attempts, Block, Conversions, block
from journeylens.demo.patterns import SLOW_TICKET_SHARE
from journeylens.demo.people import People
from journeylens.demo.world import LOOKUP

__all__ = ["ANY", "DELIVERY", "PAYMENT", "one_decimal", "tickets", "unconverted_errors"]

SECOND = 1_000_000
HOUR = 3600 * SECOND
ANY, DELIVERY, PAYMENT = range(3)
"""What raised a ticket."""
_CONTACT = pa.array(["phone", "chat", "email"])
_CONTACT_CHANNEL = np.array([CHANNEL_INDEX[c] for c in ("Phone", "Chat", "Email")], np.int8)
_SERVICE = np.array([cat.SOURCE_INDEX["hotel_service"], cat.SOURCE_INDEX["shop_service"]])
_TOPICS = pa.array([t for b in cat.BRANDS for t, _ in texts.TICKETS[b.key]])
_TOPIC_OFFSET = np.array([0, len(texts.TICKETS[cat.BRANDS[0].key])])
_TOPIC_CAUSE = [np.array([c for _, c in texts.TICKETS[b.key]]) for b in cat.BRANDS]


def _brand(people: People, p: np.ndarray) -> Json:
    return Json(len(p)).raw("brand", take(LOOKUP.brand_q, people.brand[p]))


def unconverted_errors(
    rng: np.random.Generator, attempts: Attempts, conv: Conversions
) -> np.ndarray:
    """Failed payments whose intent never converted: a fifth of them open a ticket."""
    size = int(max(attempts.intent.max(initial=-1), conv.intent.max(initial=-1))) + 2
    converted = np.zeros(size, dtype=bool)
    converted[conv.intent] = True
    chosen = rng.random(len(attempts.ts)) < 0.2
    return np.asarray(attempts.error & ~converted[attempts.intent] & chosen)


def tickets(
    rng: np.random.Generator, people: People, p: np.ndarray, cause: np.ndarray, opened: np.ndarray
) -> tuple[list[Block], np.ndarray, np.ndarray]:
    n = len(p)
    brand = people.brand[p]
    slow = rng.random(n) < SLOW_TICKET_SHARE
    hours = np.where(slow, 48 + rng.exponential(60, n), 0.5 + np.minimum(rng.exponential(6, n), 40))
    first = np.where(slow, 12 + rng.random(n) * 36, 0.1 + rng.random(n) * 2)
    resolved = opened + (hours * HOUR).astype(np.int64)
    topic = np.zeros(n, dtype=np.int64)
    for b in (0, 1):
        causes = _TOPIC_CAUSE[b]
        for c, name in ((0, "any"), (1, "delivery"), (2, "payment")):
            options = (
                np.flatnonzero(causes == name)
                if name != "any"
                else np.flatnonzero(np.isin(causes, ("any", "stay")))
            )
            sel = (brand == b) & (cause == c)
            topic[sel] = options[rng.integers(0, len(options), int(sel.sum()))]
    topic_text = take(_TOPICS, _TOPIC_OFFSET[brand] + topic)
    contact = rng.integers(0, 3, n)
    ticket_id = hex_ids(rng, n, 5, "T-")
    source = _SERVICE[brand]
    base = (
        _brand(people, p)
        .text("ticket_id", ticket_id)
        .text("topic", topic_text)
        .text("contact_method", take(_CONTACT, contact))
    )
    opened_props = base.text(
        "priority", take(pa.array(["normal", "high"]), (cause > 0).astype(np.int8))
    ).build()
    resolved_props = (
        _brand(people, p)
        .text("ticket_id", ticket_id)
        .text("topic", topic_text)
        .text("contact_method", take(_CONTACT, contact))
        .raw("resolution_hours", one_decimal(hours))
        .raw("first_response_hours", one_decimal(first))
        .raw("resolved", "true")
        .build()
    )
    user = take(people.user_id, p)
    codes = _CONTACT_CHANNEL[contact]
    blocks = [
        block(
            p,
            opened,
            "support_ticket_opened",
            source,
            codes,
            opened_props,
            explicit=True,
            user_id=user,
        ),
        block(
            p,
            resolved,
            "support_ticket_resolved",
            source,
            codes,
            resolved_props,
            explicit=True,
            user_id=user,
        ),
    ]
    return blocks, slow, resolved


def one_decimal(values: np.ndarray) -> pa.Array:
    tenths = np.round(values * 10).astype(np.int64)
    return concat(int_text(tenths // 10), ".", int_text(tenths % 10))
