"""The channel of each touchpoint, derived in SQL for a whole batch.

Rules, first match wins (docs/channels.md has them in full, with the site lists and examples).
Every value is compared in lower case; an empty value counts as missing.

1. an explicit channel (a ``channel`` field on the message, or the source's or mapping's
   ``channel``), written with the canonical spelling when it names a known channel
   (``store`` → ``Store``);
2. the workspace's own rules (``channel_rules`` in ``journeylens.yaml``), in order;
3. UTM parameters (``context.campaign.source|medium|name``, present when there is a source or a
   medium): Google Analytics 4's default channel group, rule for rule; tagged traffic that no
   rule fits is ``Unassigned``, as in GA4;
4. an ad click id in the page URL: ``gclid``, ``gbraid``, ``wbraid``, ``msclkid`` → Paid Search,
   ``dclid`` → Display;
5. the referrer's host, when it is not the page's own host: a webmail → Email, then, as GA4
   classifies a referral: a shopping site → Organic Shopping, a social network → Organic Social,
   a video site → Organic Video, a search engine → Organic Search, any other site → Referral;
6. a web or app touchpoint (page or screen, or with ``context.page.url``) → Direct;
7. anything else (a CRM update, a POS sale without an explicit channel) → Unassigned.

Offline channels (Store, Phone, Event, Mail, Chat) come from explicit fields: a POS source says
``channel: Store``.

Where this departs from GA4 on purpose: webmail referrers are Email (GA4 lists
``mail.google.com`` as a search site); ``msclkid`` and ``dclid`` are recognised; UTM parameters
win over a click id (GA4's "manual tagging overrides auto-tagging" setting); a site list entry
also matches its subdomains and country domains (``google`` matches ``google.co.uk`` and
``news.google.com``), so the lists stay short.

Portability. The same expression is rendered for DuckDB, ClickHouse and Spark:

* regular expressions use only what RE2 (DuckDB, ClickHouse) and Java (Spark) share: no
  lookaround, no backreferences, no possessive or atomic groups; user rules are checked for
  these (:func:`check_rules`) before any SQL runs;
* matching is a partial search (``regexp_matches``/``match``/``RLIKE``); full matches are
  written with ``^…$``. Java's ``$`` also matches before a final line break, RE2's does not: a
  value that ends in a line break may be classified differently on Spark;
* JSON values are read with a ``$.a.b`` path (``->>`` on DuckDB, ``GET_JSON_OBJECT`` on Spark,
  ``JSON_VALUE`` on ClickHouse through the rewrite in :mod:`journeylens.sql.dialects`).
  ClickHouse returns ``''`` where the others return NULL: empty strings are made NULL
  (``NULLIF``) so that every engine treats a missing and an empty value alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from sqlglot import exp

from journeylens.config import ChannelRule
from journeylens.errors import ConfigError
from journeylens.sql import col, lit

__all__ = [
    "CHANNELS",
    "OFFLINE_CHANNELS",
    "RULE_FIELDS",
    "channel_expression",
    "check_rules",
    "site_pattern",
    "unportable_construct",
]

OFFLINE_CHANNELS: Final = ("Store", "Phone", "Event", "Mail", "Chat")
CHANNELS: Final = (
    "Direct", "Organic Search", "Paid Search", "Organic Social", "Paid Social", "Email",
    "Display", "Referral", "Affiliates", "Organic Video", "Paid Video", "Organic Shopping",
    "Paid Shopping", "Paid Other", "SMS", "Mobile Push Notifications", "Audio", "Cross-network",
    *OFFLINE_CHANNELS, "Unassigned",
)  # fmt: skip

# Site lists, after GA4's source categories (search, social, video, shopping). An entry matches
# itself, its subdomains and its country/top-level domains: see site_pattern.
SEARCH_SITES: Final = (
    "google", "bing", "yahoo", "duckduckgo", "baidu", "yandex", "ecosia", "qwant", "ask",
    "aol", "naver", "daum", "seznam", "startpage", "search.brave", "msn", "sogou", "so.com",
    "360.cn", "rambler", "onet", "lycos", "dogpile", "startsiden", "kvasir", "eniro", "najdi",
    "excite", "libero", "virgilio", "arianna", "alice",
)  # fmt: skip
SOCIAL_SITES: Final = (
    "facebook", "fb", "fb.me", "instagram", "ig", "linkedin", "lnkd.in", "twitter", "t.co", "x",
    "threads", "pinterest", "reddit", "tiktok", "snapchat", "whatsapp", "telegram", "t.me",
    "messenger", "line", "wechat", "weibo", "vk", "vkontakte", "tumblr", "quora", "tripadvisor",
    "yelp", "flickr", "meetup", "xing", "medium", "disqus", "digg", "blogger", "blogspot",
    "wordpress", "news.ycombinator", "stackoverflow", "stackexchange", "glassdoor", "goodreads",
    "houzz", "slideshare", "scribd", "bit.ly", "tinyurl", "discord", "bsky", "mastodon",
)  # fmt: skip
VIDEO_SITES: Final = (
    "youtube", "youtu.be", "vimeo", "twitch", "dailymotion", "wistia", "netflix", "hulu",
    "disneyplus", "ted", "youku", "iqiyi", "veoh", "crackle", "curiositystream",
)  # fmt: skip
SHOPPING_SITES: Final = (
    "amazon", "amazon-adsystem", "ebay", "etsy", "shopify", "shop.app", "walmart", "alibaba",
    "aliexpress", "mercadolibre", "shopzilla", "stripe", "igshopping", "google shopping",
    "shopping.google", "shopping.naver", "shopping.yahoo", "zalando", "idealo", "trovaprezzi",
)  # fmt: skip
WEBMAIL_PREFIXES: Final = ("mail.", "webmail.", "outlook.")
"""A referrer host that begins with one of these is a webmail (Gmail, Yahoo Mail, Outlook…)."""
WEBMAIL_HOSTS: Final = ("com.google.android.gm", "com.microsoft.office.outlook")
"""Mail apps, as they appear in ``android-app://`` referrers."""

PAID_MEDIUM: Final = r"^(.*cp.*|ppc|retargeting|paid.*)$"
SHOPPING_CAMPAIGN: Final = r"^(.*(([^a-df-z]|^)shop|shopping).*)$"
DISPLAY_MEDIUMS: Final = ("display", "banner", "expandable", "interstitial", "cpm")
SOCIAL_MEDIUMS: Final = (
    "social", "social-network", "social-media", "sm", "social network", "social media",
)  # fmt: skip
EMAIL_VALUES: Final = ("email", "e-mail", "e_mail", "e mail")
REFERRAL_MEDIUMS: Final = ("referral", "app", "link")
PAID_SEARCH_CLICK_IDS: Final = ("gclid", "gbraid", "wbraid", "msclkid")
DISPLAY_CLICK_IDS: Final = ("dclid",)

HOST_PATTERN: Final = r"^[a-z][a-z0-9+.-]*://(?:www\.)?([^/:?#]+)"
"""The host of a URL: after ``scheme://`` up to the first ``/ : ? #``, without ``www.``."""

RULE_FIELDS: Final = ("source", "event", "utm_source", "utm_medium", "utm_campaign",
                      "referrer_host")  # fmt: skip
"""The conditions a user rule (:class:`~journeylens.config.ChannelRule`) can set."""


def site_pattern(sites: Sequence[str]) -> str:
    """A value belongs to a site list when it is an entry, optionally preceded by subdomains and
    followed by one or two labels of 2–3 letters (``.com``, ``.it``, ``.co.uk``)."""
    names = "|".join(site.replace(".", r"\.") for site in sites)
    return rf"^(.*\.)?({names})(\.[a-z]{{2,3}}){{0,2}}$"


# -- user rules: portable regular expressions -----------------------------------------------

_UNPORTABLE_GROUPS: Final = (
    ("(?=", "a lookahead"),
    ("(?!", "a lookahead"),
    ("(?<=", "a lookbehind"),
    ("(?<!", "a lookbehind"),
    ("(?>", "an atomic group"),
    ("(?(", "a conditional"),
    ("(?P=", "a backreference"),
    ("(?P<", "a named group (Java has no (?P<name>…))"),
)


def unportable_construct(pattern: str) -> str | None:
    """What in ``pattern`` RE2 or Java would not run as Python does, or None.

    Flags lookarounds, atomic groups, conditionals, backreferences, ``(?P<name>…)`` groups,
    possessive quantifiers and ``\\Z`` (write ``$``).
    """
    i, in_class, after_quantifier = 0, False, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            following = pattern[i + 1 : i + 2]
            if not in_class and following.isdigit() and following != "0":
                return "a backreference"
            if following == "Z":
                return r"\Z (write $)"
            i, after_quantifier = i + 2, False
            continue
        if in_class:
            in_class = char != "]"
            i += 1
            continue
        if char == "[":
            i += 2 if pattern.startswith("^", i + 1) else 1
            i += 1 if pattern.startswith("]", i) else 0
            in_class = True
            continue
        for opening, name in _UNPORTABLE_GROUPS:
            if pattern.startswith(opening, i):
                return name
        if char == "+" and after_quantifier:
            return "a possessive quantifier"
        after_quantifier = char in "*+?}" and not after_quantifier
        i += 1
    return None


def check_rules(rules: Sequence[ChannelRule]) -> None:
    """Refuse a user rule whose pattern is not a valid, portable regular expression."""
    for number, rule in enumerate(rules):
        for name in RULE_FIELDS:
            pattern = getattr(rule, name)
            if pattern is None:
                continue
            field = f"channel_rules.{number}.{name}"
            try:
                re.compile(pattern)
            except re.error as error:
                raise ConfigError(
                    f"{field}: {pattern!r} is not a regular expression ({error})", field=field
                ) from None
            problem = unportable_construct(pattern)
            if problem:
                raise ConfigError(
                    f"{field}: {pattern!r} uses {problem}, which the engines' regular "
                    "expressions (RE2, Java) do not support; rewrite it without",
                    field=field,
                )


# -- expression building ----------------------------------------------------------------------


def _matches(value: exp.Expr, pattern: str) -> exp.Expr:
    return exp.RegexpLike(this=value.copy(), expression=lit(pattern))


def _in(value: exp.Expr, options: Sequence[str]) -> exp.Expr:
    return exp.In(this=value.copy(), expressions=[lit(o) for o in options])


def _eq(value: exp.Expr, option: str) -> exp.Expr:
    return exp.EQ(this=value.copy(), expression=lit(option))


def _present(value: exp.Expr) -> exp.Expr:
    return exp.Not(this=_is_null(value))


def _is_null(value: exp.Expr) -> exp.Expr:
    return exp.Is(this=value.copy(), expression=exp.null())


def _blank_null(value: exp.Expr) -> exp.Expr:
    return exp.Nullif(this=value.copy(), expression=lit(""))


def _context_text(*keys: str) -> exp.Expr:
    """``lower(context -> keys)``, NULL when missing or empty (the same on every engine)."""
    raw = exp.JSONExtractScalar(this=col("context"), expression=lit("$." + ".".join(keys)))
    return _blank_null(exp.Lower(this=raw))


def _host(url: exp.Expr) -> exp.Expr:
    return _blank_null(exp.RegexpExtract(this=url, expression=lit(HOST_PATTERN), group=lit(1)))


def _ga4_rules(
    source: exp.Expr, medium: exp.Expr, campaign: exp.Expr
) -> list[tuple[exp.Expr, str]]:
    """GA4's default channel group for manual (UTM) traffic, in its documented order."""
    paid = _matches(medium, PAID_MEDIUM)
    search = _matches(source, site_pattern(SEARCH_SITES))
    social = _matches(source, site_pattern(SOCIAL_SITES))
    video = _matches(source, site_pattern(VIDEO_SITES))
    shopping = exp.or_(
        _matches(source, site_pattern(SHOPPING_SITES)), _matches(campaign, SHOPPING_CAMPAIGN)
    )
    return [
        (exp.and_(_eq(source, "(direct)"), _in(medium, ["(not set)", "(none)"])), "Direct"),
        (_matches(campaign, "cross-network"), "Cross-network"),
        (exp.and_(shopping, paid), "Paid Shopping"),
        (exp.and_(search, paid), "Paid Search"),
        (exp.and_(social, paid), "Paid Social"),
        (exp.and_(video, paid), "Paid Video"),
        (_in(medium, DISPLAY_MEDIUMS), "Display"),
        (paid, "Paid Other"),
        (shopping, "Organic Shopping"),
        (exp.or_(social, _in(medium, SOCIAL_MEDIUMS)), "Organic Social"),
        (exp.or_(video, _matches(medium, "video")), "Organic Video"),
        (exp.or_(search, _eq(medium, "organic")), "Organic Search"),
        (_in(medium, REFERRAL_MEDIUMS), "Referral"),
        (exp.or_(_in(source, EMAIL_VALUES), _in(medium, EMAIL_VALUES)), "Email"),
        (_eq(medium, "affiliate"), "Affiliates"),
        (_eq(medium, "audio"), "Audio"),
        (exp.or_(_eq(source, "sms"), _eq(medium, "sms")), "SMS"),
        (
            exp.or_(_matches(medium, "(push$|mobile|notification)"), _eq(source, "firebase")),
            "Mobile Push Notifications",
        ),
    ]


def _referrer_rules(host: exp.Expr) -> list[tuple[exp.Expr, str]]:
    webmail = exp.or_(
        _matches(host, "^(" + "|".join(re.escape(p) for p in WEBMAIL_PREFIXES) + ")"),
        _in(host, WEBMAIL_HOSTS),
    )
    return [
        (webmail, "Email"),
        (_matches(host, site_pattern(SHOPPING_SITES)), "Organic Shopping"),
        (_matches(host, site_pattern(SOCIAL_SITES)), "Organic Social"),
        (_matches(host, site_pattern(VIDEO_SITES)), "Organic Video"),
        (_matches(host, site_pattern(SEARCH_SITES)), "Organic Search"),
        (exp.true(), "Referral"),
    ]


def _user_rule(rule: ChannelRule, fields: dict[str, exp.Expr]) -> exp.Expr:
    conditions = [
        _matches(fields[name], f"(?i)^(?:{getattr(rule, name)})$")
        for name in RULE_FIELDS
        if getattr(rule, name) is not None
    ]
    return exp.and_(*conditions) if conditions else exp.true()


def _canonical(explicit: exp.Expr) -> exp.Expr:
    """The explicit channel with the canonical spelling of a known channel."""
    ifs = [exp.If(this=lit(name.lower()), true=lit(name)) for name in CHANNELS]
    return exp.Case(this=exp.Lower(this=explicit.copy()), ifs=ifs, default=explicit.copy())


def _param_pattern(names: Sequence[str]) -> str:
    return "[?&](" + "|".join(names) + ")="


def channel_expression(rules: Sequence[ChannelRule] = ()) -> exp.Expression:
    """The channel of a row, as one SQL expression (a ``CASE``) over the columns
    ``explicit_channel``, ``source``, ``event``, ``type`` and ``context`` (JSON text).

    ``rules`` are the workspace's ``channel_rules``, tried after an explicit channel and before
    the defaults; a :class:`ConfigError` names a rule whose pattern cannot run on every engine.
    """
    check_rules(rules)
    utm_source = _context_text("campaign", "source")
    utm_medium = _context_text("campaign", "medium")
    utm_campaign = _context_text("campaign", "name")
    url = _context_text("page", "url")
    referrer_host = _host(_context_text("page", "referrer"))
    page_host = _host(url)
    fields = {
        "source": exp.Lower(this=col("source")),
        "event": exp.Lower(this=col("event")),
        "utm_source": utm_source,
        "utm_medium": utm_medium,
        "utm_campaign": utm_campaign,
        "referrer_host": referrer_host,
    }

    explicit = _blank_null(exp.Trim(this=col("explicit_channel")))
    case = exp.Case().when(_present(explicit), _canonical(explicit), copy=False)
    for rule in rules:
        case = case.when(_user_rule(rule, fields), lit(rule.channel), copy=False)

    tagged = exp.or_(_present(utm_source), _present(utm_medium))
    blank = lit("")
    source, medium, campaign = (
        exp.Coalesce(this=e.copy(), expressions=[blank.copy()])
        for e in (utm_source, utm_medium, utm_campaign)
    )
    for condition, name in _ga4_rules(source, medium, campaign):
        case = case.when(exp.and_(tagged, condition), lit(name), copy=False)
    case = case.when(tagged, lit("Unassigned"), copy=False)

    for ids, name in ((PAID_SEARCH_CLICK_IDS, "Paid Search"), (DISPLAY_CLICK_IDS, "Display")):
        case = case.when(_matches(url, _param_pattern(ids)), lit(name), copy=False)

    external = exp.and_(
        _present(referrer_host),
        exp.or_(
            _is_null(page_host), exp.NEQ(this=referrer_host.copy(), expression=page_host.copy())
        ),
    )
    for condition, name in _referrer_rules(referrer_host):
        case = case.when(exp.and_(external, condition), lit(name), copy=False)

    web = exp.or_(_in(col("type"), ["page", "screen"]), _present(url))
    return case.when(web, lit("Direct"), copy=False).else_(lit("Unassigned"), copy=False)
