"""The people of one batch: who they are, how to reach them, and what the systems know of them.

A person belongs to one brand and one (hidden) customer group. Every person has a browser
cookie per device, a customer number, an email and a phone — most of them are never seen: they
appear in events only once the person gives them (identify, checkout, a receipt, a booking).
Ids are unique across batches because they are built from the person's global index.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeylens.demo import catalogue as cat
from journeylens.demo.columns import concat, hex_ids, int_text, take
from journeylens.demo.patterns import (
    HOTEL_SHARE,
    NURTURE_SHARE,
    SEGMENTS,
    acquisition_matrix,
    choose,
    segment_array,
)

__all__ = ["DEVICES", "NEVER", "People", "make_people"]

NEVER = np.iinfo(np.int64).max
"""Timestamp meaning "never" (a person who is never identified on a device, never subscribes)."""
DEVICES = ("desktop", "mobile", "app")
DESKTOP, MOBILE, APP_DEVICE = 0, 1, 2

_ACQ = acquisition_matrix()


def _ascii(text: str) -> str:
    text = text.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return folded.lower().replace(" ", "").replace("'", "")


def _array(values: tuple[str, ...] | list[str]) -> pa.Array:
    return pa.array(list(values), pa.string())


_FIRST = (_array(cat.FIRST_NAMES), _array(cat.FOREIGN_FIRST))
_LAST = (_array(cat.LAST_NAMES), _array(cat.FOREIGN_LAST))
_FIRST_MAIL = (
    _array([_ascii(x) for x in cat.FIRST_NAMES]),
    _array([_ascii(x) for x in cat.FOREIGN_FIRST]),
)
_LAST_MAIL = (
    _array([_ascii(x) for x in cat.LAST_NAMES]),
    _array([_ascii(x) for x in cat.FOREIGN_LAST]),
)
_DOMAINS = (_array(cat.EMAIL_DOMAINS_IT), _array(cat.EMAIL_DOMAINS_FOREIGN))
_CITY_FLAT = _array([city for c in cat.COUNTRIES for city in c[2]])
_CITY_SIZE = np.array([len(c[2]) for c in cat.COUNTRIES])
_CITY_OFFSET = np.concatenate([[0], np.cumsum(_CITY_SIZE)[:-1]])
_COUNTRY_CODES = _array([c[0] for c in cat.COUNTRIES])
_PHONE_PREFIX = _array(list(cat.PHONE_PREFIX))
_HOTEL_COUNTRIES = np.cumsum([0.65, 0.12, 0.08, 0.05, 0.05, 0.05])
_SHOP_COUNTRIES = np.cumsum([0.96, 0.01, 0.02, 0.0, 0.01, 0.0])


@dataclass
class People:
    """Arrays over the persons of a batch (index = batch-local person number)."""

    n: int
    gidx: np.ndarray
    brand: np.ndarray
    segment: np.ndarray
    country: np.ndarray
    language: np.ndarray
    """0 = Italian, 1 = English."""
    mobile: np.ndarray
    acquisition: np.ndarray
    known: np.ndarray
    """Known to the brand's CRM before the window."""
    nurture: np.ndarray
    """Would be nurtured if they sign up (randomised: the planted experiment)."""
    app_user: np.ndarray
    engagement: np.ndarray
    """Chance of opening a newsletter."""
    satisfaction: np.ndarray
    first_name: pa.Array
    last_name: pa.Array
    email: pa.Array
    phone: pa.Array
    """International format with spaces, as the CRM keeps it: ``+39 347 123 4567``."""
    phone_local: pa.Array
    """As a till or a portal writes it: ``3471234567`` (Italy) or ``+41791234567``."""
    user_id: pa.Array
    cookies: tuple[pa.Array, pa.Array, pa.Array]
    city: pa.Array
    country_code: pa.Array
    account: np.ndarray
    """Batch-local account number of B2B contacts, -1 for consumers."""
    role: np.ndarray
    account_id: pa.Array
    account_name: pa.Array
    account_industry: pa.Array
    account_type: pa.Array
    account_employees: np.ndarray
    role_name: pa.Array
    # filled while generating
    ident_from: np.ndarray
    """(n, 3): UTC µs from which each device's events carry the userId."""
    known_us: np.ndarray
    """UTC µs from which the brand's systems know the person (NEVER if not)."""
    subscribed_us: np.ndarray
    signup_us: np.ndarray
    """Newsletter signup on the website (starts the nurture programme)."""


def make_people(rng: np.random.Generator, first_index: int, n: int) -> People:
    gidx = np.arange(first_index, first_index + n, dtype=np.int64)
    brand = (rng.random(n) >= HOTEL_SHARE).astype(np.int8)
    shares = np.array([[s.share if s.brand == b else 0 for s in SEGMENTS] for b in (0, 1)])
    cumulative = np.cumsum(shares / shares.sum(axis=1, keepdims=True), axis=1)
    segment = choose(rng, cumulative, brand).astype(np.int8)
    country = np.where(
        brand == cat.HOTEL,
        np.searchsorted(_HOTEL_COUNTRIES, rng.random(n) * _HOTEL_COUNTRIES[-1]),
        np.searchsorted(_SHOP_COUNTRIES, rng.random(n) * _SHOP_COUNTRIES[-1]),
    ).astype(np.int8)
    # Foreign business travellers are rare; B2B contacts are Italian companies.
    b2b = segment_array("account", object)[segment] != None  # noqa: E711
    country[b2b] = 0
    language = (country != 0).astype(np.int8)
    italian = language == 0
    mobile = np.clip(segment_array("mobile")[segment] + rng.normal(0, 0.1, n), 0.02, 0.98)
    acquisition = choose(rng, _ACQ, segment).astype(np.int16)
    known = rng.random(n) < segment_array("known")[segment]
    app_user = rng.random(n) < segment_array("mobile_app")[segment]
    engagement = rng.beta(2, 5, n) * np.where(known, 1.5, 1.0)
    satisfaction = segment_array("satisfaction")[segment] + rng.normal(0, 0.8, n)

    foreign = (~italian).astype(np.int64)
    first_codes = np.where(
        italian,
        rng.integers(0, len(cat.FIRST_NAMES), n),
        rng.integers(0, len(cat.FOREIGN_FIRST), n),
    )
    last_codes = np.where(
        italian, rng.integers(0, len(cat.LAST_NAMES), n), rng.integers(0, len(cat.FOREIGN_LAST), n)
    )
    first_name = _pick(_FIRST, foreign, first_codes)
    last_name = _pick(_LAST, foreign, last_codes)
    domains = np.where(
        italian,
        rng.integers(0, len(cat.EMAIL_DOMAINS_IT), n),
        rng.integers(0, len(cat.EMAIL_DOMAINS_FOREIGN), n),
    )
    style = rng.integers(0, 3, n)
    f_mail, l_mail = (
        _pick(_FIRST_MAIL, foreign, first_codes),
        _pick(_LAST_MAIL, foreign, last_codes),
    )
    sep = take(_array([".", "", "_"]), style)
    number = int_text(gidx)
    email = concat(f_mail, sep, l_mail, number, "@", _pick(_DOMAINS, foreign, domains))

    # Unique mobile numbers: an affine bijection of the global index.
    subscriber = 3_200_000_000 + (gidx * 387_420_489 + 1_234_567) % 799_999_999
    digits = int_text(subscriber)
    a, b, c = (pc.utf8_slice_codeunits(digits, s, e) for s, e in ((0, 3), (3, 6), (6, 10)))
    prefix = take(_PHONE_PREFIX, country)
    phone = concat(prefix, " ", a, " ", b, " ", c)
    phone_local = pc.if_else(pa.array(italian), digits, concat(prefix, digits))
    user_prefix = take(_array([b.user_prefix + "-" for b in cat.BRANDS]), brand)
    user_id = concat(user_prefix, pc.utf8_lpad(number, width=7, padding="0"))
    cookies = (hex_ids(rng, n, 16), hex_ids(rng, n, 16), hex_ids(rng, n, 16))
    city = take(_CITY_FLAT, _CITY_OFFSET[country] + rng.integers(0, 1000, n) % _CITY_SIZE[country])
    accounts = _accounts(rng, segment, gidx, city)
    never = np.full(n, NEVER, dtype=np.int64)
    return People(
        n=n,
        gidx=gidx,
        brand=brand,
        segment=segment,
        country=country,
        language=language,
        mobile=mobile,
        acquisition=acquisition,
        known=known,
        nurture=rng.random(n) < NURTURE_SHARE,
        app_user=app_user,
        engagement=engagement,
        satisfaction=satisfaction,
        first_name=first_name,
        last_name=last_name,
        email=email,
        phone=phone,
        phone_local=phone_local,
        user_id=user_id,
        cookies=cookies,
        city=city,
        country_code=take(_COUNTRY_CODES, country),
        **accounts,  # type: ignore[arg-type]
        ident_from=np.full((n, 3), NEVER, dtype=np.int64),
        known_us=never.copy(),
        subscribed_us=never.copy(),
        signup_us=never.copy(),
    )


def _pick(pools: tuple[pa.Array, pa.Array], which: np.ndarray, codes: np.ndarray) -> pa.Array:
    """``pools[which][codes]`` row by row (two pools)."""
    joined = pa.concat_arrays(list(pools))
    return take(joined, np.where(which == 0, codes, len(pools[0]) + codes))


def _accounts(
    rng: np.random.Generator, segment: np.ndarray, gidx: np.ndarray, city: pa.Array
) -> dict[str, object]:
    """Group the batch's B2B contacts into accounts of 2–6 contacts; give each a role.

    The account's id is made of its first contact's global index, so it is unique across
    batches; its name, industry and size are drawn per account (a loop over accounts, not
    events)."""
    n = len(segment)
    account = np.full(n, -1, dtype=np.int64)
    role = np.zeros(n, dtype=np.int8)
    ids: list[str | None] = [None] * n
    names: list[str | None] = [None] * n
    industries: list[str | None] = [None] * n
    types: list[str | None] = [None] * n
    roles: list[str | None] = [None] * n
    employees = np.zeros(n, dtype=np.int64)
    cities = city.to_pylist()
    next_account = 0
    for code, seg in enumerate(SEGMENTS):
        if seg.account is None:
            continue
        members = np.flatnonzero(segment == code)
        if len(members) == 0:
            continue
        brand, patterns, industry_list, role_list = cat.ACCOUNT_TYPES[seg.account]
        sizes = rng.integers(2, 6, len(members))
        numbers = np.searchsorted(np.cumsum(sizes), np.arange(len(members)), side="right")
        if len(members) > 1 and numbers[-1] != numbers[-2]:
            numbers[-1] = numbers[-2]  # no account of one contact: join the previous one
        account[members] = next_account + numbers
        role[members] = rng.integers(0, len(role_list), len(members))
        scale = {"travel_agency": (2.3, 0.6), "corporate": (5.5, 1.0), "retailer": (1.8, 0.6)}
        for number in np.unique(numbers):
            group = members[numbers == number]
            head = int(group[0])
            pick = rng.integers(0, 1 << 30, 3)
            name = patterns[pick[0] % len(patterns)].format(
                cat.ACCOUNT_STEMS[pick[1] % len(cat.ACCOUNT_STEMS)]
            )
            industry = industry_list[pick[0] % len(industry_list)]
            size = max(2, int(rng.lognormal(*scale[seg.account])))
            for m in group:
                ids[m] = f"ACC-{cat.BRANDS[brand].user_prefix}-{gidx[head]:07d}"
                names[m] = f"{name} ({cities[head]})"
                industries[m] = industry
                types[m] = seg.account
                roles[m] = role_list[role[m]]
                employees[m] = size
        next_account += int(numbers.max()) + 1
    return {
        "account": account,
        "role": role,
        "account_id": pa.array(ids, pa.string()),
        "account_name": pa.array(names, pa.string()),
        "account_industry": pa.array(industries, pa.string()),
        "account_type": pa.array(types, pa.string()),
        "account_employees": employees,
        "role_name": pa.array(roles, pa.string()),
    }
