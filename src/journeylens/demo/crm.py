"""The brands' CRMs: the people they know (``identify`` with email, phone, name, place), B2B
accounts (``group`` calls with the account's traits; contacts carry a ``role``), the fairs where
contacts were met (channel Event) and printed catalogues (channel Mail).

The CRM knows some people before the window (loyal customers, B2B contacts): they arrive in a
first sync. New customers enter it the night after their first purchase or booking.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa

from journeylens.demo import catalogue as cat
from journeylens.demo.columns import Json, take
from journeylens.demo.frame import Block, Conversions, block
from journeylens.demo.patterns import SEGMENTS
from journeylens.demo.people import NEVER, People
from journeylens.demo.seasons import HOURS, sample_seconds
from journeylens.demo.world import LOOKUP, World

__all__ = ["crm_identify", "crm_new_customers", "crm_sync"]

SECOND = 1_000_000
_LANGUAGES = pa.array(["it", "en"])


def _brand_json(people: People, person: np.ndarray) -> Json:
    return Json(len(person)).raw("brand", take(LOOKUP.brand_q, people.brand[person]))


def crm_identify(
    people: People, p: np.ndarray, ts: np.ndarray, source: np.ndarray | str, role: bool = False
) -> Block:
    """A CRM record of the person: customer number with email, phone, name, place."""
    traits = (
        Json(len(p))
        .text("email", take(people.email, p))
        .text("phone", take(people.phone, p))
        .text("first_name", take(people.first_name, p))
        .text("last_name", take(people.last_name, p))
        .text("city", take(people.city, p))
        .text("country", take(people.country_code, p))
        .text("language", take(_LANGUAGES, people.language[p]))
    )
    if role:
        traits.text("role", take(people.role_name, p)).text("company", take(people.account_name, p))
    return block(
        p,
        ts,
        "identify",
        source,
        "Unassigned",
        _brand_json(people, p).build(),
        user_id=take(people.user_id, p),
        traits=traits.build(),
    )


def crm_sync(rng: np.random.Generator, people: People, world: World) -> list[Block]:
    """The CRM's first sync: the people it knew before the window, their B2B accounts
    (``group``), the fairs where contacts were met and the printed catalogues."""
    win = world.win
    crm = _crm_source(people)
    known = np.flatnonzero(people.known)
    sync = win.to_utc(
        rng.integers(0, 14, len(known)), sample_seconds(rng, HOURS["batch"], len(known))
    )
    np.minimum.at(people.known_us, known, sync)
    b2b = people.account[known] >= 0
    blocks = [
        crm_identify(people, known[~b2b], sync[~b2b], crm[known[~b2b]]),
        crm_identify(people, known[b2b], sync[b2b], crm[known[b2b]], role=True),
    ]
    contacts = known[b2b]
    g_ts = sync[b2b] + SECOND
    traits = (
        Json(len(contacts))
        .text("name", take(people.account_name, contacts))
        .text("industry", take(people.account_industry, contacts))
        .number("employees", people.account_employees[contacts])
        .text("account_type", take(people.account_type, contacts))
        .text("city", take(people.city, contacts))
        .text("country", "IT")
    )
    blocks.append(
        block(
            contacts,
            g_ts,
            "group",
            crm[contacts],
            "Unassigned",
            _brand_json(people, contacts).build(),
            user_id=take(people.user_id, contacts),
            group_id=take(people.account_id, contacts),
            traits=traits.build(),
        )
    )

    # Fairs: BIT Milano (hotel, February) and Cosmoprof Bologna (shop, March).
    met = contacts[rng.random(len(contacts)) < 0.5]
    is_hotel = people.brand[met] == cat.HOTEL
    fair_days = np.where(
        is_hotel, _day_of(win.start, 2, 9), _day_of(win.start, 3, 19)
    ) + rng.integers(0, 3, len(met))
    props = (
        _brand_json(people, met)
        .text("fair", take(pa.array(["Cosmoprof Bologna", "BIT Milano"]), is_hotel.astype(np.int8)))
        .text(
            "outcome",
            take(pa.array(["follow_up", "quote", "no_interest"]), rng.integers(0, 3, len(met))),
        )
    )
    blocks.append(
        block(
            met,
            win.to_utc(fair_days, sample_seconds(rng, HOURS["office"], len(met))),
            "fair_meeting",
            crm[met],
            "Event",
            props.build(),
            explicit=True,
            user_id=take(people.user_id, met),
        )
    )

    # Printed catalogues: Christmas for the shop's known customers, groups for travel agents.
    segs = np.array([s.key for s in SEGMENTS])[people.segment]
    mailed = np.flatnonzero(
        np.isin(segs, ("loyal_customers", "retailers", "travel_agents"))
        & (rng.random(people.n) < 0.8)
    )
    hotel = people.brand[mailed] == cat.HOTEL
    day = np.where(hotel, _day_of(win.start, 1, 15), _day_of(win.start, 11, 10)) + rng.integers(
        0, 4, len(mailed)
    )
    props = _brand_json(people, mailed).text(
        "catalogue",
        take(pa.array(["Catalogo Natale", "Catalogo gruppi e congressi"]), hotel.astype(np.int8)),
    )
    blocks.append(
        block(
            mailed,
            win.to_utc(day, np.full(len(mailed), 9 * 3600)),
            "catalogue_mailed",
            crm[mailed],
            "Mail",
            props.build(),
            explicit=True,
            user_id=take(people.user_id, mailed),
        )
    )
    return blocks


def _crm_source(people: People) -> np.ndarray:
    return np.where(
        people.brand == cat.HOTEL, cat.SOURCE_INDEX["hotel_crm"], cat.SOURCE_INDEX["shop_crm"]
    ).astype(np.int8)


def crm_new_customers(
    rng: np.random.Generator, people: People, conv: Conversions, world: World
) -> Block:
    """New customers enter the CRM the night after their first purchase or booking."""
    win = world.win
    first = np.full(people.n, NEVER, dtype=np.int64)
    np.minimum.at(first, conv.person, conv.ts)
    new = np.flatnonzero((first < NEVER) & ~people.known)
    local_day = ((first[new] - win.start_us) // (86_400 * SECOND)) + 1
    night = win.to_utc(local_day, sample_seconds(rng, HOURS["batch"], len(new)))
    np.minimum.at(people.known_us, new, night)
    return crm_identify(people, new, night, _crm_source(people)[new])


def _day_of(start: date, month: int, day: int) -> int:
    """Index of the first ``month``/``day`` on or after the window's start."""
    target = date(start.year, month, day)
    if target < start:
        target = date(start.year + 1, month, day)
    return (target - start).days
