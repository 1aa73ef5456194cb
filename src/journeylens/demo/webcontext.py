"""The ``context`` of website, app, ad and email rows, and the traffic sources as lookups.

The landing page of a session carries the UTM parameters in its URL and in
``context.campaign``, and the referrer; later pages carry the session's campaign (or the
source/medium tag of organic sessions) and the site itself as referrer. Ad rows carry the
campaign; email rows the newsletter campaign. The default channel grouping of the store turns
these into the channel each traffic source was designed for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeylens.demo import catalogue as cat
from journeylens.demo.columns import concat, hex_ids, take, where
from journeylens.demo.frame import CHANNEL_INDEX
from journeylens.demo.people import People
from journeylens.demo.sessions import Sessions
from journeylens.demo.world import LOOKUP, World

__all__ = [
    "AD_CAMPAIGN",
    "CAMPAIGN_NAME",
    "PLATFORM",
    "TRAFFIC_CHANNEL",
    "RowContext",
    "build_context",
    "newsletter_campaign",
]

_T = cat.TRAFFIC
TRAFFIC_CHANNEL = np.array([CHANNEL_INDEX[t.channel] for t in _T], dtype=np.int8)
"""Designed channel of each traffic source (code into CHANNELS)."""
PAID = np.array([t.cpc > 0 for t in _T])
CPC = np.array([round(t.cpc * 10_000) for t in _T], dtype=np.int64)
NEWSLETTER = np.array([t.key.endswith("_newsletter") for t in _T])
_HAS_UTM = np.array([t.utm is not None for t in _T])
_CLICK_ID = np.array([t.click_id is not None for t in _T])
_HAS_REFERRER = np.array([t.referrer is not None for t in _T])


def _campaign(source: str, medium: str, name: str | None = None) -> str:
    body = {"source": source, "medium": medium} | ({"name": name} if name else {})
    return ',"campaign":' + json.dumps(body)


def _ad_campaign(t: cat.Traffic) -> str:
    if t.utm is None:
        return "{}"
    return json.dumps({"source": t.utm[0], "medium": t.utm[1], "name": t.utm[2]})


def _query(t: cat.Traffic) -> str:
    if t.utm is None:
        return ""
    return f"?utm_source={t.utm[0]}&utm_medium={t.utm[1]}&utm_campaign={t.utm[2]}"


_LANDING_CAMPAIGN = pa.array([_campaign(*t.utm) if t.utm else "" for t in _T])
_LATER_CAMPAIGN = pa.array(
    [_campaign(*t.utm) if t.utm else _campaign(*t.tag) if t.tag else "" for t in _T]
)
AD_CAMPAIGN = pa.array([_ad_campaign(t) for t in _T])
CAMPAIGN_NAME = pa.array([t.utm[2] if t.utm else "" for t in _T])
PLATFORM = pa.array([t.platform or "" for t in _T])
_UTM_QUERY = pa.array([_query(t) for t in _T])
_REFERRER = pa.array([t.referrer or "" for t in _T])
_USER_AGENTS = pa.array(list(cat.USER_AGENTS))
_DEVICE_TYPE = pa.array(["desktop", "mobile", "mobile"])
_LOCALE = pa.array(["it-IT", "en-GB"])
_APP_CONTEXT = (
    '{"app":{"name":"Bottega Aurora","version":"3.4.0","build":"340"},'
    '"device":{"type":"mobile"},"os":{"name":"iOS","version":"17.6"},'
    '"campaign":{"source":"(direct)","medium":"(none)"},"library":{"name":"analytics-ios",'
    '"version":"4.1.8"},"screen":{"name":'
)
WEB_ROW, APP_ROW, AD_ROW, EMAIL_ROW = range(4)


@dataclass
class RowContext:
    """What the context of a set of rows is made of (arrays over the rows)."""

    session: np.ndarray
    brand: np.ndarray
    device: np.ndarray
    path: pa.Array
    title: pa.Array
    """Quoted JSON string: page title, screen name, or the email campaign."""
    landing: np.ndarray

    def take(self, rows: np.ndarray) -> RowContext:
        index = pa.array(rows)
        return RowContext(
            self.session[rows], self.brand[rows], self.device[rows], self.path.take(index),
            self.title.take(index), self.landing[rows],
        )  # fmt: skip


def build_context(
    rng: np.random.Generator, s: Sessions, people: People, rows: RowContext, kind: np.ndarray
) -> pa.Array:
    """``context`` of every row: built per kind of row (website, app, ad, email), each only for
    its own rows, then put back in row order."""
    order = np.argsort(kind, kind="stable")
    bounds = np.searchsorted(kind[order], np.arange(5))
    parts = []
    builders = (_web_context, _app_context, _ad_context, _email_context)
    for k, build in enumerate(builders):
        selected = order[bounds[k] : bounds[k + 1]]
        if len(selected):
            parts.append(build(rng, s, people, rows.take(selected)))
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.arange(len(order))
    return pa.concat_arrays(parts).take(pa.array(inverse))


def _user_agent(s: Sessions, people: People, r: RowContext) -> pa.Array:
    variant = (people.gidx[s.person[r.session]] % 2) + np.where(r.device == 0, 0, 2)
    return take(_USER_AGENTS, variant)


def _locale(s: Sessions, people: People, r: RowContext) -> pa.Array:
    return take(_LOCALE, people.language[s.person[r.session]])


def _web_context(rng: np.random.Generator, s: Sessions, people: People, r: RowContext) -> pa.Array:
    traffic = s.traffic[r.session]
    host = concat("https://", take(LOOKUP.domain, r.brand))
    tagged = r.landing & _HAS_UTM[traffic]
    t = traffic[tagged]
    gclid = pc.replace_with_mask(
        pa.nulls(len(t), pa.string()),
        pa.array(_CLICK_ID[t]),
        concat("&gclid=", hex_ids(rng, int(_CLICK_ID[t].sum()), 10)),
    )
    query = pc.replace_with_mask(
        pa.nulls(len(traffic), pa.string()),
        pa.array(tagged),
        concat(take(_UTM_QUERY, t), gclid, skip_nulls=True),
    )
    url = concat(host, r.path, query, skip_nulls=True)
    first = traffic[r.landing]
    referrer = pc.replace_with_mask(
        concat(host, "/"),
        pa.array(r.landing),
        where(_HAS_REFERRER[first], take(_REFERRER, first)),
    )
    campaign = pc.replace_with_mask(
        take(_LATER_CAMPAIGN, traffic), pa.array(r.landing), take(_LANDING_CAMPAIGN, first)
    )
    return concat(
        '{"page":{"path":"', r.path, '"', concat(',"referrer":"', referrer, '"'),
        ',"title":', r.title, ',"url":"', url, '"}', campaign,
        ',"userAgent":"', _user_agent(s, people, r),
        '","device":{"type":"', take(_DEVICE_TYPE, r.device),
        '"},"locale":"', _locale(s, people, r),
        '","library":{"name":"analytics.js","version":"4.1.0"}}',
        skip_nulls=True,
    )  # fmt: skip


def _app_context(rng: np.random.Generator, s: Sessions, people: People, r: RowContext) -> pa.Array:
    return concat(_APP_CONTEXT, r.title, '},"locale":"', _locale(s, people, r), '"}')


def _ad_context(rng: np.random.Generator, s: Sessions, people: People, r: RowContext) -> pa.Array:
    return concat(
        '{"campaign":', take(AD_CAMPAIGN, s.traffic[r.session]),
        ',"userAgent":"', _user_agent(s, people, r),
        '","device":{"type":"', take(_DEVICE_TYPE, r.device), '"}}',
    )  # fmt: skip


def _email_context(
    rng: np.random.Generator, s: Sessions, people: People, r: RowContext
) -> pa.Array:
    return concat('{"campaign":{"source":"newsletter","medium":"email","name":', r.title, "}}")


def newsletter_campaign(world: World, brand: np.ndarray, ts: np.ndarray) -> pa.Array:
    """Name of each brand's last newsletter sent before ``ts`` (aurora-newsletter-2026-03-12)."""
    out = pa.nulls(len(ts), pa.string())
    for b in (cat.HOTEL, cat.SHOP):
        sel = brand == b
        if not sel.any():
            continue
        sends = world.newsletter_sends[b]
        last = np.maximum(np.searchsorted(sends, ts[sel], side="right") - 1, 0)
        day = world.newsletter_days[b][last]
        names = concat(cat.BRANDS[b].key + "-newsletter-", world.date_text(day))
        out = pc.replace_with_mask(out, pa.array(sel), names)
    return out
