"""Channel derivation (journeylens.events.channels), end to end through a real DuckDB workspace.

Each case is a realistic message; the channel is read back from the stored ``events`` table.
A Hypothesis test compares the SQL with a short pure-Python reference of the rules in
docs/channels.md, written with string operations rather than the module's regular expressions.
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pyarrow as pa
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

import journeylens
from journeylens import ChannelRule, ConfigError, Workspace
from journeylens.engines import DuckDBEngine
from journeylens.events.channels import (
    CHANNELS,
    SEARCH_SITES,
    SHOPPING_SITES,
    SOCIAL_SITES,
    VIDEO_SITES,
    WEBMAIL_HOSTS,
    WEBMAIL_PREFIXES,
    channel_expression,
    check_rules,
    unportable_construct,
)
from journeylens.events.messages import MessageDefaults, normalise_message
from journeylens.events.store import append_events
from journeylens.sql import render

SITE = "https://www.hotellagoblu.it"
TS = "2026-11-22T10:15:00Z"


def page(url: str | None = SITE + "/camere", referrer: str | None = None, **extra: Any) -> dict:
    """A browser page view (analytics.js puts url and referrer in context.page)."""
    context: dict[str, Any] = {"page": {}}
    if url is not None:
        context["page"]["url"] = url
    if referrer is not None:
        context["page"]["referrer"] = referrer
    return {"type": "page", "anonymousId": "anon-1", "timestamp": TS, "context": context, **extra}


def utm(source: str | None, medium: str | None, name: str | None = None) -> dict:
    """A landing page view tagged with UTM parameters (context.campaign)."""
    message = page(referrer="https://www.google.com/")
    campaign = {"source": source, "medium": medium, "name": name}
    message["context"]["campaign"] = {k: v for k, v in campaign.items() if v is not None}
    return message


def track(event: str, **extra: Any) -> dict:
    return {"type": "track", "event": event, "userId": "u-1", "timestamp": TS, **extra}


CASES: list[tuple[str, dict, str]] = [
    # UTM parameters: GA4's default channel group, in its order
    ("utm (direct)/(none)", utm("(direct)", "(none)"), "Direct"),
    ("utm google/cpc", utm("google", "cpc"), "Paid Search"),
    ("utm bing/ppc", utm("bing", "ppc"), "Paid Search"),
    ("utm google/cpm is paid search, as in GA4", utm("google", "cpm"), "Paid Search"),
    ("utm facebook/paid_social", utm("facebook", "paid_social"), "Paid Social"),
    ("utm ig/cpc", utm("ig", "cpc"), "Paid Social"),
    ("utm l.facebook.com/paid", utm("l.facebook.com", "paid"), "Paid Social"),
    ("utm youtube/cpv", utm("youtube", "cpv"), "Paid Video"),
    ("utm amazon/cpc", utm("amazon", "cpc"), "Paid Shopping"),
    ("utm shopping campaign", utm("criteo", "retargeting", "eshop_autumn"), "Paid Shopping"),
    ("utm cross-network", utm("google", "cpc", "pmax_cross-network_q4"), "Cross-network"),
    ("utm display/banner", utm("display", "banner"), "Display"),
    ("utm dv360/cpm", utm("dv360", "cpm"), "Display"),
    ("utm criteo/cpc", utm("criteo", "cpc"), "Paid Other"),
    ("utm ebay.de/referral", utm("ebay.de", "referral"), "Organic Shopping"),
    ("utm workshop campaign is not shopping", utm("partner", "referral", "workshop"), "Referral"),
    ("utm linkedin/social", utm("linkedin", "social"), "Organic Social"),
    ("utm blog/social-media", utm("travelblog", "social-media"), "Organic Social"),
    ("utm vimeo/referral", utm("vimeo", "referral"), "Organic Video"),
    ("utm medium video", utm("magazine", "video_review"), "Organic Video"),
    ("utm google/organic", utm("google", "organic"), "Organic Search"),
    ("utm ecosia.org/(none)", utm("ecosia.org", "(none)"), "Organic Search"),
    ("utm partner/referral", utm("lagodigarda.it", "referral"), "Referral"),
    ("utm newsletter/email", utm("newsletter", "email"), "Email"),
    ("utm email/weekly", utm("email", "weekly"), "Email"),
    ("utm awin/affiliate", utm("awin", "affiliate"), "Affiliates"),
    ("utm spotify/audio", utm("spotify", "audio"), "Audio"),
    ("utm sms/text", utm("sms", "text"), "SMS"),
    ("utm app/push", utm("app", "web-push"), "Mobile Push Notifications"),
    ("utm firebase", utm("firebase", "inapp"), "Mobile Push Notifications"),
    ("utm unknown medium", utm("flyer", "qr"), "Unassigned"),
    ("utm source only", utm("flyer", None), "Unassigned"),
    ("utm in the page URL", page(SITE + "/?utm_source=newsletter&utm_medium=email"), "Email"),
    ("utm beat a click id", page(SITE + "/?gclid=x&utm_source=nl&utm_medium=email"), "Email"),
    # ad click ids
    ("gclid", page(SITE + "/offerte?gclid=EAIaIQobChMI"), "Paid Search"),
    ("gbraid", page(SITE + "/?lang=it&gbraid=0AAAAA"), "Paid Search"),
    ("msclkid", page(SITE + "/?msclkid=3f2a"), "Paid Search"),
    ("dclid", page(SITE + "/?dclid=CJ7"), "Display"),
    ("fbclid is not paid", page(SITE + "/?fbclid=IwAR", "https://l.facebook.com/"),
     "Organic Social"),
    # referrers
    ("referrer google.it", page(referrer="https://www.google.it/"), "Organic Search"),
    ("referrer news.google.com", page(referrer="https://news.google.com/a"), "Organic Search"),
    ("referrer duckduckgo", page(referrer="https://duckduckgo.com/?q=hotel"), "Organic Search"),
    ("referrer instagram", page(referrer="https://l.instagram.com/?u=x"), "Organic Social"),
    ("referrer t.co", page(referrer="https://t.co/abc"), "Organic Social"),
    ("referrer youtube", page(referrer="https://m.youtube.com/watch?v=1"), "Organic Video"),
    ("referrer amazon.de", page(referrer="https://www.amazon.de/dp/1"), "Organic Shopping"),
    ("referrer gmail", page(referrer="https://mail.google.com/mail/u/0/"), "Email"),
    ("referrer gmail app", page(referrer="android-app://com.google.android.gm/"), "Email"),
    ("referrer outlook", page(referrer="https://outlook.live.com/"), "Email"),
    ("referrer a blog", page(referrer="https://viaggiareconstile.blogspot.example/p"),
     "Referral"),
    ("referrer google docs-like lookalike", page(referrer="https://googlefans.org/"),
     "Referral"),
    ("own-site referrer", page(referrer=SITE + "/home"), "Direct"),
    ("own-site referrer without www", page(referrer="https://hotellagoblu.it/"), "Direct"),
    ("no referrer", page(), "Direct"),
    ("screen view", {"type": "screen", "name": "Home", "anonymousId": "d", "timestamp": TS},
     "Direct"),
    ("server track with page url", track("room_booked", context={"page": {"url": SITE}}),
     "Direct"),
    # explicit channels and offline touchpoints
    ("explicit Store", track("purchase", channel="Store"), "Store"),
    ("explicit lower-case phone", track("call_answered", channel="phone"), "Phone"),
    ("explicit Event", track("fair_visit", channel="Event"), "Event"),
    ("explicit Mail", track("catalogue_sent", channel="MAIL"), "Mail"),
    ("explicit Chat", track("chat_started", channel="chat"), "Chat"),
    ("explicit custom name kept", track("visit", channel="Trade fair"), "Trade fair"),
    ("explicit beats utm", {**utm("google", "cpc"), "channel": "Store"}, "Store"),
    ("crm identify", {"type": "identify", "userId": "u-9", "timestamp": TS,
                      "traits": {"email": "anna@example.it"}}, "Unassigned"),
    ("crm group", {"type": "group", "userId": "u-9", "groupId": "acme", "timestamp": TS},
     "Unassigned"),
    ("erp order", track("order_completed", properties={"revenue": 120}), "Unassigned"),
]  # fmt: skip


def stored_channels(ws: Workspace, messages: Sequence[dict], **kwargs: Any) -> dict[str, str]:
    batch = [{"messageId": f"m{i}", **m} for i, m in enumerate(messages)]
    report = ws.append_messages(batch, source="website", on_error="stop", **kwargs)
    assert report.stored == len(batch)
    rows = ws.engine.rows("SELECT event_id, channel FROM events")
    return {r["event_id"]: r["channel"] for r in rows}


def test_every_channel_of_the_grouping(workspace: Workspace) -> None:
    channels = stored_channels(workspace, [message for _, message, _ in CASES])
    got = {name: channels[f"m{i}"] for i, (name, _, _) in enumerate(CASES)}
    assert got == {name: expected for name, _, expected in CASES}


def test_the_table_covers_every_channel() -> None:
    assert set(CHANNELS) <= {expected for _, _, expected in CASES}


def test_source_channel_applies_to_every_message(workspace: Workspace) -> None:
    channels = stored_channels(workspace, [track("purchase"), track("return")], channel="Store")
    assert channels == {"m0": "Store", "m1": "Store"}


def test_case_does_not_matter(workspace: Workspace) -> None:
    messages = [
        utm("Google", "CPC"),
        utm("NEWSLETTER", "E-Mail"),
        page(referrer="HTTPS://WWW.GOOGLE.IT/search?q=Hotel"),
        page("HTTPS://WWW.HOTELLAGOBLU.IT/?GCLID=abc"),
        page("https://www.hotellagoblu.it/", "HTTPS://WWW.HOTELLAGOBLU.IT/camere"),
        track("purchase", channel="STORE"),
    ]
    channels = stored_channels(workspace, messages)
    assert [channels[f"m{i}"] for i in range(len(messages))] == [
        "Paid Search", "Email", "Organic Search", "Paid Search", "Direct", "Store",
    ]  # fmt: skip


def test_empty_utm_values_count_as_missing(workspace: Workspace) -> None:
    tagged_blank = utm("", "")
    channels = stored_channels(workspace, [tagged_blank])
    assert channels == {"m0": "Organic Search"}  # from the google.com referrer, not Unassigned


# -- user rules --------------------------------------------------------------------------------

RULES = [
    ChannelRule(channel="Partner", utm_source="booking.*"),
    ChannelRule(channel="Webinar", source="zoom", event="webinar_.*"),
    ChannelRule(channel="Reviews", referrer_host=r"(.*\.)?tripadvisor\.(it|com)"),
    ChannelRule(channel="Never", utm_source="booking.com"),  # shadowed by the first rule
]


@pytest.fixture
def rules_workspace(tmp_path: Path) -> Any:
    with journeylens.create_workspace(tmp_path / "ws", channel_rules=RULES) as ws:
        yield ws


def test_user_rules_override_the_defaults(rules_workspace: Workspace) -> None:
    messages = [
        utm("booking.com", "cpc"),  # default: Paid Other
        utm("Booking.com", "referral"),  # rules are case-insensitive
        utm("bookingsite", "email"),  # booking.* matches the whole value
        utm("mybooking.com", "email"),  # ... and only the whole value
        page(referrer="https://www.tripadvisor.it/Hotel_Review"),  # default: Organic Social
        {**track("webinar_joined"), "source": "zoom"},
        track("webinar_joined"),  # source is website: the Webinar rule needs both
        {**utm("booking.com", "cpc"), "channel": "Phone"},  # explicit beats rules
    ]
    channels = stored_channels(rules_workspace, messages)
    assert [channels[f"m{i}"] for i in range(len(messages))] == [
        "Partner", "Partner", "Partner", "Email", "Reviews", "Webinar", "Unassigned", "Phone",
    ]  # fmt: skip


def test_rules_from_journeylens_yaml(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    journeylens.create_workspace(folder).close()
    config = yaml.safe_load((folder / "journeylens.yaml").read_text(encoding="utf-8"))
    config["channel_rules"] = [
        {"channel": "Partner", "utm_source": "booking.*"},
        {"channel": "Store", "source": "pos"},
    ]
    (folder / "journeylens.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    with journeylens.open_workspace(folder) as ws:
        assert stored_channels(ws, [utm("booking.com", "cpc")]) == {"m0": "Partner"}
        ws.append_messages([{**track("purchase"), "messageId": "pos-1"}], source="pos")
        assert ws.engine.scalar("SELECT channel FROM events WHERE event_id = 'pos-1'") == "Store"


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("booking(?=\\.com)", "a lookahead"),
        ("(?<!my)booking", "a lookbehind"),
        ("(a)\\1", "a backreference"),
        ("(?P<site>booking)", "a named group (Java has no (?P<name>…))"),
        ("a++", "a possessive quantifier"),
        ("(?>ab)", "an atomic group"),
        ("booking\\Z", r"\Z (write $)"),
    ],
)
def test_unportable_patterns_are_refused(tmp_path: Path, pattern: str, problem: str) -> None:
    assert unportable_construct(pattern) == problem
    rule = ChannelRule(channel="Partner", utm_source=pattern)
    with journeylens.create_workspace(tmp_path / "ws", channel_rules=[rule]) as ws:
        with pytest.raises(ConfigError) as caught:
            ws.append_messages([utm("booking.com", "cpc")], source="website", on_error="stop")
        assert caught.value.field == "channel_rules.0.utm_source"
        assert str(caught.value) == (
            f"channel_rules.0.utm_source: {pattern!r} uses {problem}, which the engines' "
            "regular expressions (RE2, Java) do not support; rewrite it without"
        )
        assert ws.engine.scalar("SELECT count(*) FROM events") == 0


@pytest.mark.parametrize(
    "pattern",
    ["booking.*", r"(.*\.)?tripadvisor\.(it|com)", "[(?=]x", r"\(?=", "a+?", "a{2}", "^$",
     r"[\d]+", "(?i)shop|store", "x*y+"],
)  # fmt: skip
def test_portable_patterns_pass(pattern: str) -> None:
    assert unportable_construct(pattern) is None


def test_invalid_pattern_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        check_rules([ChannelRule(channel="Ok", event="x"), ChannelRule(channel="P", event="(a")])
    assert caught.value.field == "channel_rules.1.event"
    assert str(caught.value).startswith("channel_rules.1.event: '(a' is not a regular expression")


# -- portability -------------------------------------------------------------------------------


def test_sql_uses_only_portable_patterns_and_renders_for_every_engine() -> None:
    expression = channel_expression(RULES[:2])
    patterns = [
        node.expression.this
        for node in expression.find_all(exp.RegexpLike, exp.RegexpExtract)
        if isinstance(node.expression, exp.Literal)
    ]
    assert len(patterns) > 20
    for pattern in patterns:
        re.compile(pattern)
        assert unportable_construct(pattern) is None, pattern
    clickhouse = render(channel_expression(RULES[:2]), "clickhouse")
    assert "JSON_VALUE(\"context\", '$.campaign.source')" in clickhouse
    assert "JSONExtractString" not in clickhouse  # it reads numbers as '' and a $-path as a key
    assert clickhouse.startswith("arrayMap(jl_row -> CASE")
    spark = render(channel_expression(RULES[:2]), "spark")
    assert "GET_JSON_OBJECT(`context`, '$.campaign.source')" in spark
    assert spark.startswith("TRANSFORM(ARRAY(ARRAY(") and spark.endswith(")[0]")
    duckdb = render(channel_expression(RULES[:2]), "duckdb")
    assert "NULLIF(LOWER(\"context\" ->> '$.campaign.source'), '')" in duckdb


# -- property test: SQL against a pure-Python reference -------------------------------------------

_LOWER = set(string.ascii_lowercase)


def ref_in_sites(value: str, sites: Sequence[str]) -> bool:
    """An entry, optionally preceded by subdomains and followed by 1–2 labels of 2–3 letters."""
    labels = value.split(".")
    for start in range(len(labels)):
        for end in range(start + 1, len(labels) + 1):
            rest = labels[end:]
            if (
                ".".join(labels[start:end]) in sites
                and len(rest) <= 2
                and all(2 <= len(label) <= 3 and set(label) <= _LOWER for label in rest)
            ):
                return True
    return False


def ref_host(url: str | None) -> str | None:
    """After ``scheme://`` up to the first of ``/ : ? #``, then without a leading ``www.``."""
    if url is None:
        return None
    scheme, separator, rest = url.partition("://")
    valid_scheme = scheme[:1] in _LOWER and set(scheme) <= _LOWER | set("0123456789+.-")
    if not separator or not valid_scheme:
        return None
    end = min([rest.index(c) for c in "/:?#" if c in rest] or [len(rest)])
    host = rest[:end]
    return host.removeprefix("www.") or None


def ref_ga4(source: str, medium: str, campaign: str) -> str:
    paid = "cp" in medium or medium in ("ppc", "retargeting") or medium.startswith("paid")
    shop_campaign = "shopping" in campaign or any(
        campaign[i : i + 4] == "shop"
        and (i == 0 or not ("a" <= campaign[i - 1] <= "d" or "f" <= campaign[i - 1] <= "z"))
        for i in range(len(campaign))
    )
    shopping = ref_in_sites(source, SHOPPING_SITES) or shop_campaign
    search = ref_in_sites(source, SEARCH_SITES)
    social = ref_in_sites(source, SOCIAL_SITES)
    video = ref_in_sites(source, VIDEO_SITES)
    email = ("email", "e-mail", "e_mail", "e mail")
    rules = [
        (source == "(direct)" and medium in ("(not set)", "(none)"), "Direct"),
        ("cross-network" in campaign, "Cross-network"),
        (shopping and paid, "Paid Shopping"),
        (search and paid, "Paid Search"),
        (social and paid, "Paid Social"),
        (video and paid, "Paid Video"),
        (medium in ("display", "banner", "expandable", "interstitial", "cpm"), "Display"),
        (paid, "Paid Other"),
        (shopping, "Organic Shopping"),
        (social or medium in ("social", "social-network", "social-media", "sm",
                              "social network", "social media"), "Organic Social"),
        (video or "video" in medium, "Organic Video"),
        (search or medium == "organic", "Organic Search"),
        (medium in ("referral", "app", "link"), "Referral"),
        (source in email or medium in email, "Email"),
        (medium == "affiliate", "Affiliates"),
        (medium == "audio", "Audio"),
        ("sms" in (source, medium), "SMS"),
        (medium.endswith("push") or "mobile" in medium or "notification" in medium
         or source == "firebase", "Mobile Push Notifications"),
    ]  # fmt: skip
    return next((name for holds, name in rules if holds), "Unassigned")


def ref_channel(message: dict, source: str, rules: Sequence[ChannelRule]) -> str:
    context = message.get("context") or {}
    page_context = context.get("page") or {}
    url = (page_context.get("url") or "").lower() or None
    campaign = context.get("campaign") or {}
    if not campaign and url:
        utms = {k.lower(): v for k, v in parse_qsl(urlsplit(url).query) if v}
        keys = {"utm_source": "source", "utm_medium": "medium", "utm_campaign": "name"}
        campaign = {name: utms[key] for key, name in keys.items() if key in utms}
    utm_source, utm_medium, utm_campaign = (
        (campaign.get(k) or "").lower() for k in ("source", "medium", "name")
    )
    referrer_host = ref_host((page_context.get("referrer") or "").lower() or None)
    page_host = ref_host(url)

    explicit = (message.get("channel") or "").strip()
    if explicit:
        return {c.lower(): c for c in CHANNELS}.get(explicit.lower(), explicit)
    values = {
        "source": (message.get("source") or source).lower(),
        "event": (message.get("event") or f"{message['type']}_viewed").lower(),
        "utm_source": utm_source or None,
        "utm_medium": utm_medium or None,
        "utm_campaign": utm_campaign or None,
        "referrer_host": referrer_host,
    }
    for rule in rules:
        conditions = [(values[k], getattr(rule, k)) for k in values if getattr(rule, k)]
        if all(v is not None and re.fullmatch(p, v, re.I) for v, p in conditions):
            return rule.channel
    if utm_source or utm_medium:
        return ref_ga4(utm_source, utm_medium, utm_campaign)
    if url and any(f"{s}{k}=" in url for s in "?&" for k in PAID_SEARCH_IDS):
        return "Paid Search"
    if url and ("?dclid=" in url or "&dclid=" in url):
        return "Display"
    if referrer_host and referrer_host != page_host:
        if referrer_host.startswith(WEBMAIL_PREFIXES) or referrer_host in WEBMAIL_HOSTS:
            return "Email"
        for sites, name in [
            (SHOPPING_SITES, "Organic Shopping"),
            (SOCIAL_SITES, "Organic Social"),
            (VIDEO_SITES, "Organic Video"),
            (SEARCH_SITES, "Organic Search"),
        ]:
            if ref_in_sites(referrer_host, sites):
                return name
        return "Referral"
    if message["type"] in ("page", "screen") or url:
        return "Direct"
    return "Unassigned"


PAID_SEARCH_IDS = ("gclid", "gbraid", "wbraid", "msclkid")

# -- strategies: values near the edges of the rules ---------------------------------------------

LABELS = ["www", "m", "l", "mail", "webmail", "google", "news", "x", "t", "co", "com", "it",
          "uk", "de", "blog", "info", "travel", "tripadvisor", "ask", "fm", "amazon", "youtube",
          "instagram", "ebay", "hotellagoblu", "b1", "facebook", "outlook", "shop", "search",
          "brave", "so", "360", "cn"]  # fmt: skip
SOURCE_VALUES = ["google", "Google", "bing", "facebook", "ig", "instagram.com", "youtube",
                 "amazon", "ebay.de", "newsletter", "email", "e mail", "booking.com", "(direct)",
                 "firebase", "sms", "criteo", "l.facebook.com", "x", "t.co", "google shopping",
                 "", "ecosia.org"]  # fmt: skip
SOURCE_BITS = ["e", "mail", "-", "_", " ", "sms", "firebase", "(direct)", "x", "google"]
MEDIUM_VALUES = ["cpc", "CPC", "ppc", "paid_social", "paidsearch", "retargeting", "cpm",
                 "display", "banner", "organic", "social", "sm", "social media", "email",
                 "e-mail", "referral", "app", "link", "affiliate", "audio", "sms", "push",
                 "web-push", "mobile", "notification", "video", "(none)", "(not set)", "",
                 "qr"]  # fmt: skip
MEDIUM_BITS = ["cp", "c", "p", "paid", "ppc", "push", "mobile", "notification", "video",
               "social", "sm", "e", "mail", "-", "_", " ", "x", "organic", "referral", "(none)",
               "display", "retargeting", "app", "link", "web", "Push"]  # fmt: skip
CAMPAIGN_VALUES = ["summer_sale", "pmax_cross-network", "eshop", "webshop", "Shop-Now",
                   "shopping_q4", "workshop", "", "e-shop"]  # fmt: skip
CAMPAIGN_BITS = ["shop", "ping", "e", "w", "d", "-", "x", "1", "cross", "-network", "Shop", " "]
REFERRER_VALUES = ["https://www.google.it/", "https://l.instagram.com/", SITE + "/prev",
                   "https://mail.google.com/mail/u/0", "android-app://com.google.android.gm/",
                   "https://www./x", "https://www.:8080/", "https://www.www.google.it/",
                   "not a url", "", "https:///p", "HTTPS://WWW.TRIPADVISOR.IT/r"]  # fmt: skip
QUERY_KEYS = ["gclid", "GCLID", "msclkid", "dclid", "wbraid", "xgclid", "lang", "utm_source",
              "utm_medium", "utm_campaign", "UTM_SOURCE"]  # fmt: skip
QUERY_VALUES = ["1", "", "email", "newsletter", "google", "cpc", "booking.com"]
PAGE_URLS = [SITE + "/", "https://hotellagoblu.it/x", "https://shop.example.com/"]
EXPLICIT = ["Store", "store", " Phone ", "Trade fair", "paid search", " "]

_TEXT = st.text(alphabet=string.ascii_letters + string.digits + " ._-()/", max_size=10)


def _joined(fragments: Sequence[str]) -> st.SearchStrategy[str]:
    """Strings glued from fragments near the rules' edges (``pushy``, ``eshop``, ``cpx``…)."""
    return st.lists(st.sampled_from(fragments), max_size=4).map("".join)


def _rarely(values: Sequence[str]) -> st.SearchStrategy[str | None]:
    """None six times in seven, else one of ``values``."""
    return st.one_of(*[st.none()] * 6, st.sampled_from(values))


_HOSTS = st.lists(st.sampled_from(LABELS), min_size=1, max_size=4).map(".".join)
_SOURCES = st.one_of(st.sampled_from(SOURCE_VALUES), _HOSTS, _joined(SOURCE_BITS), _TEXT)
_MEDIUMS = st.one_of(st.sampled_from(MEDIUM_VALUES), _joined(MEDIUM_BITS), _TEXT)
_CAMPAIGNS = st.one_of(st.sampled_from(CAMPAIGN_VALUES), _joined(CAMPAIGN_BITS), _TEXT)
_REFERRERS = st.one_of(
    st.none(),
    st.sampled_from(REFERRER_VALUES),
    st.builds(
        lambda scheme, host, tail: f"{scheme}://{host}{tail}",
        st.sampled_from(["https", "http", "android-app", "1x"]),
        _HOSTS,
        st.sampled_from(["", "/", "/p?q=1", ":443/", "#top"]),
    ),
)
_QUERIES = st.lists(
    st.tuples(st.sampled_from(QUERY_KEYS), st.sampled_from(QUERY_VALUES)), max_size=3
).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs))
_URLS = st.one_of(
    st.none(),
    st.builds(lambda base, q: base + ("?" + q if q else ""), st.sampled_from(PAGE_URLS), _QUERIES),
)
PROPERTY_RULES = [
    ChannelRule(channel="Partner", utm_source="booking.*"),
    ChannelRule(channel="Webinar", source="zoom", event="webinar_.*"),
    ChannelRule(channel="Reviews", referrer_host=r"(.*\.)?tripadvisor\.(it|com)"),
]


@st.composite
def messages(draw: st.DrawFn) -> dict:
    kind = draw(st.sampled_from(["page", "track", "screen", "identify"]))
    message: dict[str, Any] = {"type": kind, "anonymousId": "a", "timestamp": TS}
    if kind == "track":
        message["event"] = draw(st.sampled_from(["purchase", "webinar_joined", "Webinar_x"]))
    context: dict[str, Any] = {}
    page_context = {
        k: v for k, v in (("url", draw(_URLS)), ("referrer", draw(_REFERRERS))) if v is not None
    }
    if page_context:
        context["page"] = page_context
    if draw(st.booleans()):
        drawn = {"source": draw(_SOURCES), "medium": draw(_MEDIUMS), "name": draw(_CAMPAIGNS)}
        context["campaign"] = {k: v for k, v in drawn.items() if draw(st.booleans())}
    if context:
        message["context"] = context
    explicit = draw(_rarely(EXPLICIT))
    if explicit is not None:
        message["channel"] = explicit
    source = draw(_rarely(["zoom", "pos"]))
    if source is not None:
        message["source"] = source
    return message


_ids = itertools.count()


@pytest.fixture(scope="module")
def property_workspace(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("channels") / "ws"
    with journeylens.create_workspace(folder, channel_rules=PROPERTY_RULES) as ws:
        yield ws


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(messages(), min_size=1, max_size=150))
def test_stored_channels_agree_with_the_reference(
    property_workspace: Workspace, batch: list[dict]
) -> None:
    """End to end: append_messages, then the channel read back from the events table."""
    ids = [f"p{next(_ids)}" for _ in batch]
    report = property_workspace.append_messages(
        [{**m, "messageId": i} for m, i in zip(batch, ids, strict=True)],
        source="website",
        on_error="stop",
    )
    assert report.stored == len(batch)
    rows = property_workspace.engine.rows(
        "SELECT event_id, channel FROM events WHERE event_id IN (SELECT unnest(?))", [ids]
    )
    got = {r["event_id"]: r["channel"] for r in rows}
    for message, event_id in zip(batch, ids, strict=True):
        assert got[event_id] == ref_channel(message, "website", PROPERTY_RULES), message


@pytest.fixture(scope="module")
def channel_sql() -> Any:
    """The derivation as one SELECT over a registered batch, on an in-memory DuckDB."""
    engine = DuckDBEngine(None)
    query = f"SELECT event_id, {render(channel_expression(PROPERTY_RULES), 'duckdb')} AS channel"
    yield engine, query + " FROM batch"
    engine.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(messages(), min_size=20, max_size=120))
def test_channel_sql_agrees_with_the_reference(channel_sql: Any, batch: list[dict]) -> None:
    """Many messages per example: normalise_message, then the SQL over the whole batch."""
    engine, query = channel_sql
    defaults = MessageDefaults("website")
    rows = [
        normalise_message({**m, "messageId": f"b{i}"}, defaults, row=i) for i, m in enumerate(batch)
    ]
    with engine.registered("batch", pa.Table.from_pylist(rows)):
        got = {r["event_id"]: r["channel"] for r in engine.rows(query)}
    mismatches = [
        (m, got[f"b{i}"], expected)
        for i, m in enumerate(batch)
        if got[f"b{i}"] != (expected := ref_channel(m, "website", PROPERTY_RULES))
    ]
    assert not mismatches, mismatches[:3]


def test_explicit_channel_from_a_file_import_is_trimmed(workspace: Workspace) -> None:
    """File imports build rows in SQL, without normalise_message: the SQL trims and respells."""
    row = normalise_message({**track("purchase"), "messageId": "pos-1"}, MessageDefaults("pos"))
    rows = [
        {**row, "explicit_channel": "  store "},
        {**row, "event_id": "pos-2", "explicit_channel": "   "},
    ]
    with workspace.engine.transaction():
        append_events(workspace.engine, pa.Table.from_pylist(rows))
    got = workspace.engine.rows("SELECT event_id, channel FROM events ORDER BY 1")
    assert got == [
        {"event_id": "pos-1", "channel": "Store"},
        {"event_id": "pos-2", "channel": "Unassigned"},
    ]


def test_channels_md_documents_every_channel_and_site() -> None:
    text = (Path(__file__).parents[2] / "docs" / "channels.md").read_text(encoding="utf-8")
    for name in CHANNELS:
        assert f"\n| {name} |" in text, name
    for title, sites in [
        ("search", SEARCH_SITES),
        ("social", SOCIAL_SITES),
        ("video", VIDEO_SITES),
        ("shopping", SHOPPING_SITES),
    ]:
        row = text.split(f"\n| {title} | ", 1)[1].split(" |\n", 1)[0]
        assert row.split(", ") == list(sites), title
    for prefix in WEBMAIL_PREFIXES + WEBMAIL_HOSTS:
        assert f"`{prefix}`" in text
