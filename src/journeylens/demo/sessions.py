"""Website and app sessions: when they happen, where they come from, and how far they get.

Every intent has research sessions in the days before its decision and, when it is decided
online, a final session in which the checkout is attempted. This module decides, per session:
the device, the traffic source (the first session of a person comes through the person's
acquisition source; later ones come back through it or through the brand's return mix), the
newsletter signup, how far the checkout gets (the planted patterns act here), and which sessions
identify the person (signup, checkout, login). :mod:`journeylens.demo.web` turns them into events.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from journeylens.demo import catalogue as cat
from journeylens.demo.intents import Intents
from journeylens.demo.patterns import (
    APP,
    CHECKOUT_ERROR_RATE,
    EMAIL_VISITS,
    LOGIN_RATE,
    NEWSLETTER_CONSENT,
    NURTURE_LIFT,
    PAYMENT_REACHED,
    RETRY_AFTER_ERROR,
    SEGMENT_INDEX,
    SEGMENTS,
    STICKY,
    STICKY_TIKTOK,
    WEB,
    choose,
    return_matrix,
    segment_array,
)
from journeylens.demo.people import APP_DEVICE, DESKTOP, MOBILE, NEVER, People
from journeylens.demo.seasons import HOURS, Window, sample_seconds

__all__ = ["CLICK", "FINAL", "RESEARCH", "RETRY", "Sessions", "plan_sessions"]

RESEARCH, FINAL, RETRY, CLICK = range(4)
BROWSE, CART, CHECKOUT, PAYMENT = range(4)
NO_OUTCOME, SUCCESS, ERROR = range(3)
_RETURN = return_matrix()
_CONVERSION = np.array([t.conversion for t in cat.TRAFFIC])
_APP_TRAFFIC = cat.TRAFFIC_INDEX["shop_app"]
_DIRECT = np.array([cat.TRAFFIC_INDEX["hotel_direct"], cat.TRAFFIC_INDEX["shop_direct"]])
_TIKTOK = cat.TRAFFIC_INDEX["shop_tiktok"]
_NEWSLETTER = np.array(
    [cat.TRAFFIC_INDEX["hotel_newsletter"], cat.TRAFFIC_INDEX["shop_newsletter"]]
)
_ERROR_RATE = np.array(
    [CHECKOUT_ERROR_RATE["desktop"], CHECKOUT_ERROR_RATE["mobile"], CHECKOUT_ERROR_RATE["app"]]
)
_B2B_QUOTES = (SEGMENT_INDEX["travel_agents"], SEGMENT_INDEX["retailers"])
MINUTE = 60_000_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR


@dataclass
class Sessions:
    person: np.ndarray
    intent: np.ndarray
    """Index into the batch's intents, -1 for sessions started by an email click."""
    kind: np.ndarray
    start: np.ndarray
    device: np.ndarray
    traffic: np.ndarray
    signup: np.ndarray
    quote: np.ndarray
    stage: np.ndarray
    """How far the checkout got: BROWSE, CART, CHECKOUT, PAYMENT."""
    outcome: np.ndarray
    """At PAYMENT: SUCCESS or ERROR."""
    login: np.ndarray
    """The session starts with a login (identify; alias on the first app login)."""

    def __len__(self) -> int:
        return len(self.person)

    def take(self, index: np.ndarray) -> Sessions:
        return Sessions(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def concat(parts: list[Sessions]) -> Sessions:
        return Sessions(
            **{
                f.name: np.concatenate([getattr(p, f.name) for p in parts])
                for f in fields(Sessions)
            }
        )


def new_sessions(
    person: np.ndarray,
    intent: np.ndarray,
    kind: int,
    start: np.ndarray,
    device: np.ndarray,
    traffic: np.ndarray,
) -> Sessions:
    n = len(person)
    zeros = np.zeros(n, dtype=np.int8)
    return Sessions(
        person=person.astype(np.int64),
        intent=intent.astype(np.int64),
        kind=np.full(n, kind, dtype=np.int8),
        start=start.astype(np.int64),
        device=device.astype(np.int8),
        traffic=traffic.astype(np.int16),
        signup=np.zeros(n, dtype=bool),
        quote=np.zeros(n, dtype=bool),
        stage=zeros,
        outcome=zeros.copy(),
        login=np.zeros(n, dtype=bool),
    )


def web_devices(rng: np.random.Generator, people: People, person: np.ndarray) -> np.ndarray:
    return np.where(rng.random(len(person)) < people.mobile[person], MOBILE, DESKTOP)


def plan_sessions(
    rng: np.random.Generator, people: People, intents: Intents, win: Window
) -> Sessions:
    """All sessions of the batch's intents, with traffic, signup, checkout and identify flags."""
    seg = intents.segment
    offline = ~np.isin(intents.mode, (WEB, APP))
    mean = segment_array("research")[seg] * np.where(offline, 0.6, 1.0)
    count = rng.poisson(mean)
    owner = np.repeat(np.arange(len(intents)), count)
    span = segment_array("span")[seg][owner]
    back = np.floor(span * rng.random(len(owner)) ** 1.3).astype(np.int64)
    day = intents.day[owner] - back
    start = win.to_utc(day, sample_seconds(rng, HOURS["web"], len(owner)))
    late = start >= intents.anchor[owner]
    start = np.where(
        late, intents.anchor[owner] - rng.integers(10, 600, len(owner)) * MINUTE, start
    )
    research = new_sessions(
        intents.person[owner], owner, RESEARCH, start, np.zeros(len(owner)), np.zeros(len(owner))
    )
    online = np.flatnonzero(~offline)
    final = new_sessions(
        intents.person[online],
        online,
        FINAL,
        intents.anchor[online],
        np.zeros(len(online)),
        np.zeros(len(online)),
    )
    s = Sessions.concat([research, final])
    person = s.person
    app_user = people.app_user[person]
    s.device[:] = web_devices(rng, people, person)
    app_research = (s.kind == RESEARCH) & app_user & (rng.random(len(s)) < 0.4)
    s.device[app_research | ((s.kind == FINAL) & (intents.mode[s.intent] == APP))] = APP_DEVICE

    s = s.take(np.lexsort((s.start, s.person)))
    person = s.person
    first = np.ones(len(s), dtype=bool)
    first[1:] = person[1:] != person[:-1]
    acquisition = people.acquisition[person]
    sticky = np.where(acquisition == _TIKTOK, STICKY_TIKTOK, STICKY)
    returning = choose(rng, _RETURN, people.brand[person])
    s.traffic[:] = np.where(first | (rng.random(len(s)) < sticky), acquisition, returning)
    s.traffic[s.device == APP_DEVICE] = _APP_TRAFFIC

    _signups(rng, people, s, first)
    _newsletter_visits(rng, people, s, first, win)
    _checkout(rng, people, intents, s)
    retry = _retries(rng, people, intents, s)
    s = Sessions.concat([s, retry])
    s = s.take(np.lexsort((s.start, s.person)))
    _logins(rng, people, s)
    return s


def _signups(rng: np.random.Generator, people: People, s: Sessions, first: np.ndarray) -> None:
    """Newsletter signups: on the person's first or second session."""
    starts = np.flatnonzero(first)
    sizes = np.diff(np.append(starts, len(s)))
    rank = np.arange(len(s)) - np.repeat(starts, sizes)
    willing = (rng.random(people.n) < segment_array("signup")[people.segment]) & ~people.known
    target = np.where(rng.random(people.n) < 0.5, 0, 1)
    last_rank = np.zeros(people.n, dtype=np.int64)
    last_rank[s.person[starts]] = sizes - 1
    target = np.minimum(target, last_rank)
    s.signup[:] = willing[s.person] & (rank == target[s.person])
    people.signup_us[s.person[s.signup]] = s.start[s.signup]


def _newsletter_visits(
    rng: np.random.Generator, people: People, s: Sessions, first: np.ndarray, win: Window
) -> None:
    """Subscribers (known people with consent, website signups) come back from newsletters."""
    keys = [seg.key for seg in SEGMENTS]
    consent = np.array([NEWSLETTER_CONSENT.get(k, 0.0) for k in keys])[people.segment]
    subscribed = people.known & (rng.random(people.n) < consent)
    people.subscribed_us[subscribed] = win.start_us - DAY
    np.minimum(people.subscribed_us, people.signup_us, out=people.subscribed_us)
    later = (
        ~first
        & (s.device != APP_DEVICE)
        & (s.start > people.subscribed_us[s.person] + DAY)
        & (rng.random(len(s)) < EMAIL_VISITS)
    )
    s.traffic[later] = _NEWSLETTER[people.brand[s.person[later]]]


def _checkout(rng: np.random.Generator, people: People, intents: Intents, s: Sessions) -> None:
    """How far each session's checkout gets; the planted multipliers act here."""
    n = len(s)
    order = np.lexsort((s.start, s.intent))
    first_of_intent = np.ones(n, dtype=bool)
    first_of_intent[1:] = s.intent[order][1:] != s.intent[order][:-1]
    origin = np.full(len(intents), -1, dtype=np.int64)
    origin[s.intent[order][first_of_intent]] = s.traffic[order][first_of_intent]
    seg = intents.segment[s.intent]
    p = segment_array("conversion")[seg] * np.where(
        origin[s.intent] >= 0, _CONVERSION[np.maximum(origin[s.intent], 0)], 1.0
    )
    nurtured = people.nurture[s.person] & (people.signup_us[s.person] < s.start)
    p = np.minimum(p * np.where(nurtured, NURTURE_LIFT, 1.0), 0.97)
    final = s.kind == FINAL
    shop = people.brand[s.person] == cat.SHOP
    cart_p = np.minimum(p * 1.5, 0.97)
    u = rng.random((4, n))
    cart = np.where(final, u[0] < np.where(shop, cart_p, 1.0), shop & (u[0] < 0.12))
    checkout = np.where(
        final, cart & (u[1] < p / np.where(shop, cart_p, 1.0)), cart & (u[1] < 0.15)
    )
    payment = checkout & final & (u[2] < PAYMENT_REACHED)
    error = payment & (u[3] < _ERROR_RATE[s.device])
    s.stage[:] = np.select([payment, checkout, cart], [PAYMENT, CHECKOUT, CART], BROWSE)
    s.outcome[:] = np.select([error, payment], [ERROR, SUCCESS], NO_OUTCOME)
    b2b = np.isin(seg, _B2B_QUOTES) & (s.kind == 0)
    s.quote[:] = b2b & (rng.random(n) < 0.35)


def _retries(rng: np.random.Generator, people: People, intents: Intents, s: Sessions) -> Sessions:
    """A second try on a computer, some hours after a failed payment."""
    failed = np.flatnonzero((s.outcome == ERROR) & (rng.random(len(s)) < RETRY_AFTER_ERROR))
    person = s.person[failed]
    later = s.start[failed] + HOUR + (rng.exponential(10, len(failed)) * HOUR).astype(np.int64)
    retry = new_sessions(
        person,
        s.intent[failed],
        RETRY,
        later,
        np.full(len(failed), DESKTOP),
        _DIRECT[people.brand[person]],
    )
    error = rng.random(len(failed)) < CHECKOUT_ERROR_RATE["desktop"]
    retry.stage[:] = PAYMENT
    retry.outcome[:] = np.where(error, ERROR, SUCCESS)
    return retry


def _logins(rng: np.random.Generator, people: People, s: Sessions) -> None:
    """Known people log in the first time they use a device (after they became known)."""
    identifies = s.signup | (s.stage >= CHECKOUT) | s.quote
    known_from = np.full(people.n, NEVER, dtype=np.int64)
    np.minimum.at(known_from, s.person[identifies], s.start[identifies])
    known_from[people.known] = np.iinfo(np.int64).min
    eligible = ~identifies & (s.start > known_from[s.person])
    index = np.flatnonzero(eligible)
    order = index[np.lexsort((s.start[index], s.device[index], s.person[index]))]
    key = s.person[order] * 4 + s.device[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    chosen = order[first]
    rate = np.where(s.device[chosen] == APP_DEVICE, 1.0, LOGIN_RATE)
    s.login[chosen[rng.random(len(chosen)) < rate]] = True
