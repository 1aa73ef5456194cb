"""Feedback: survey answers (NPS, CSAT, CES) with optional comments, reviews on Google,
TripAdvisor and Trustpilot, and referrals by promoters. Texts are drawn by brand, language and
mood (:mod:`journeylens.demo.texts`)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeylens.demo import catalogue as cat
from journeylens.demo import texts
from journeylens.demo.columns import Json, concat, hex_ids, take, where
from journeylens.demo.frame import CHANNEL_INDEX, Block, block
from journeylens.demo.people import People
from journeylens.demo.world import LOOKUP

__all__ = ["MOOD", "mood_by_score", "referrals", "reviews", "survey"]

SECOND = 1_000_000
HOUR = 3600 * SECOND
DAY = 24 * HOUR
MOOD = {m: i for i, m in enumerate(texts.MOODS)}
_LANG = pa.array(list(texts.LANGUAGES))
_WEB_SOURCE = np.array([cat.SOURCE_INDEX["hotel_website"], cat.SOURCE_INDEX["shop_ecommerce"]])


def _pool(
    entries: dict[tuple[int, int, int], list[tuple[str, ...]]],
) -> tuple[list[pa.Array], np.ndarray, np.ndarray]:
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


_REVIEWS, _REVIEW_OFFSET, _REVIEW_SIZE = _pool(
    {
        (b, lang, MOOD[m]): list(texts.REVIEWS[brand.key][language][m])
        for b, brand in enumerate(cat.BRANDS)
        for lang, language in enumerate(texts.LANGUAGES)
        for m in texts.MOODS
    }
)
_COMMENTS, _COMMENT_OFFSET, _COMMENT_SIZE = _pool(
    {
        (b, lang, MOOD[m]): [(c,) for c in texts.COMMENTS[language][m]]
        for b in range(2)
        for lang, language in enumerate(texts.LANGUAGES)
        for m in texts.MOODS
    }
)


def _pick(
    rng: np.random.Generator,
    offset: np.ndarray,
    size: np.ndarray,
    brand: np.ndarray,
    lang: np.ndarray,
    mood: np.ndarray,
) -> np.ndarray:
    n = np.maximum(size[brand, lang, mood], 1)
    return np.asarray(offset[brand, lang, mood] + rng.integers(0, 1 << 30, len(brand)) % n)


def _brand(people: People, p: np.ndarray) -> Json:
    return Json(len(p)).raw("brand", take(LOOKUP.brand_q, people.brand[p]))


def _survey_context(people: People, p: np.ndarray, survey: str) -> pa.Array:
    name = concat(take(LOOKUP.brand_key, people.brand[p]), "-" + survey)
    return concat('{"campaign":{"source":"survey","medium":"email","name":"', name, '"}}')


def mood_by_score(score: np.ndarray, low: int, high: int) -> np.ndarray:
    return np.select(
        [score <= low, score >= high], [MOOD["negative"], MOOD["positive"]], MOOD["neutral"]
    )


def survey(
    rng: np.random.Generator,
    people: People,
    p: np.ndarray,
    ts: np.ndarray,
    event: str,
    score: np.ndarray,
    survey: str,
    touchpoint: str,
    mood: np.ndarray,
) -> Block:
    lang = people.language[p]
    comment = rng.random(len(p)) < 0.4
    code = _pick(rng, _COMMENT_OFFSET, _COMMENT_SIZE, people.brand[p], lang, mood)
    props = (
        _brand(people, p)
        .number("score", score)
        .text("survey", survey)
        .text("touchpoint", touchpoint)
        .text("language", take(_LANG, lang))
        .optional(comment, "comment", take(_COMMENTS[0], code))
    )
    return block(
        p,
        ts,
        event,
        "surveys",
        "Email",
        props.build(),
        user_id=take(people.user_id, p),
        context=_survey_context(people, p, survey),
    )


_PLATFORMS = ("Google", "TripAdvisor", "Trustpilot")
_PLATFORM_SOURCE = pa.array(["google", "tripadvisor", "trustpilot"])
_PLATFORM_CHANNEL = ("Organic Search", "Organic Social", "Referral")
_REVIEW_URL = pa.array(
    [
        "https://www.google.com/maps/reviews",
        "https://www.tripadvisor.it/",
        "https://it.trustpilot.com/review/",
    ]
)


def reviews(
    rng: np.random.Generator,
    people: People,
    p: np.ndarray,
    end: np.ndarray,
    latent: np.ndarray,
    mood_cause: np.ndarray,
) -> Block:
    """Reviews on Google, TripAdvisor and Trustpilot, collected by the review monitor."""
    n = len(p)
    wrote = rng.random(n) < 0.04 + 0.10 * (latent < 5) + 0.06 * (latent >= 9)
    p, end, latent, cause = p[wrote], end[wrote], latent[wrote], mood_cause[wrote]
    k = len(p)
    brand = people.brand[p]
    u = rng.random(k)
    platform = np.where(
        brand == cat.HOTEL, np.select([u < 0.5, u < 0.9], [1, 0], 2), np.where(u < 0.5, 2, 0)
    )
    rating = np.clip(np.round(latent / 2), 1, 5).astype(np.int64)
    mood = np.where(cause >= 0, cause, mood_by_score(rating, 2, 4))
    lang = people.language[p]
    code = _pick(rng, _REVIEW_OFFSET, _REVIEW_SIZE, brand, lang, mood)
    author = concat(
        take(people.first_name, p),
        " ",
        pc.utf8_slice_codeunits(take(people.last_name, p), 0, 1),
        ".",
    )
    props = (
        _brand(people, p)
        .number("rating", rating)
        .text("platform", take(pa.array(list(_PLATFORMS)), platform))
        .raw("title", take(_REVIEWS[0], code))
        .raw("text", take(_REVIEWS[1], code))
        .text("language", take(_LANG, lang))
        .text("author", author)
    )
    linked = platform != 0
    traits = where(linked, concat('{"email":"', take(people.email, p), '"}'))
    context = concat(
        '{"campaign":{"source":"',
        take(_PLATFORM_SOURCE, platform),
        '","medium":"referral"},"page":{"url":"',
        take(_REVIEW_URL, platform),
        '"}}',
    )
    channel = np.array([CHANNEL_INDEX[c] for c in _PLATFORM_CHANNEL], dtype=np.int8)[platform]
    ts = end + ((2 + rng.random(k) * 12) * DAY).astype(np.int64)
    return block(
        p,
        ts,
        "review_written",
        "review_monitor",
        channel,
        props.build(),
        anonymous_id=hex_ids(rng, k, 8, "rv-"),
        traits=traits,
        context=context,
    )


def referrals(rng: np.random.Generator, people: People, p: np.ndarray, ts: np.ndarray) -> Block:
    """Promoters invite friends from the website ("invita un amico")."""
    domain = take(LOOKUP.domain, people.brand[p])
    medium = take(pa.array(["whatsapp", "email", "link"]), rng.integers(0, 3, len(p)))
    props = (
        _brand(people, p)
        .text("referral_code", concat("AMICO-", take(people.user_id, p)))
        .text("medium", medium)
    )
    context = concat(
        '{"page":{"path":"/invita-un-amico","title":"Invita un amico","url":"https://',
        domain,
        '/invita-un-amico"},"device":{"type":"desktop"}}',
    )
    return block(
        p,
        ts,
        "referral_sent",
        _WEB_SOURCE[people.brand[p]],
        "Direct",
        props.build(),
        user_id=take(people.user_id, p),
        anonymous_id=people.cookies[0].take(pa.array(p)),
        context=context,
    )
