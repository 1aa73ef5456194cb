"""The channel of each touchpoint, derived in SQL for a whole batch.

Rules, first match wins (docs/channels.md has them in full, with examples):

1. an explicit channel (a ``channel`` field on the message, or the mapping's ``channel``);
2. the workspace's own rules (``channel_rules`` in ``journeylens.yaml``), in order;
3. UTM parameters (``context.campaign.source|medium|name``): the default channel grouping that
   web-analytics users know (Google Analytics 4's default channel group);
4. an ad click id in the page URL: ``gclid``/``gbraid``/``wbraid``/``msclkid`` → Paid Search,
   ``dclid`` → Display;
5. the referrer's host (other than the page's own host): a search engine → Organic Search, a
   social network → Organic Social, a video site → Organic Video, a webmail → Email, any other
   site → Referral;
6. a web or app touchpoint (page/screen, or with ``context.page``) with none of the above →
   Direct;
7. anything else → Unassigned.

Offline channels (Store, Phone, Event, Mail, Chat) come from explicit fields: a POS mapping says
``channel: Store``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlglot import exp

from journeylens.config import ChannelRule
from journeylens.sql import col, lit

__all__ = ["CHANNELS", "OFFLINE_CHANNELS", "channel_expression"]

OFFLINE_CHANNELS: Final = ("Store", "Phone", "Event", "Mail", "Chat")
CHANNELS: Final = (
    "Direct", "Organic Search", "Paid Search", "Organic Social", "Paid Social", "Email",
    "Display", "Referral", "Affiliates", "Organic Video", "Paid Video", "Organic Shopping",
    "Paid Shopping", "Paid Other", "SMS", "Mobile Push Notifications", "Audio", "Cross-network",
    *OFFLINE_CHANNELS, "Unassigned",
)

# Site lists: the hosts web-analytics tools group as search, social, video and shopping.
SEARCH_SITES: Final = (
    "google", "bing", "yahoo", "duckduckgo", "baidu", "yandex", "ecosia", "qwant", "ask",
    "aol", "naver", "seznam", "startpage", "search.brave", "libero", "virgilio", "arianna",
)
SOCIAL_SITES: Final = (
    "facebook", "fb", "instagram", "ig", "linkedin", "lnkd.in", "twitter", "t.co", "x",
    "pinterest", "reddit", "tiktok", "snapchat", "threads", "whatsapp", "telegram",
    "tripadvisor", "quora", "tumblr", "vk", "weibo", "messenger", "m.facebook", "l.facebook",
    "lm.facebook", "l.instagram", "meta",
)
VIDEO_SITES: Final = ("youtube", "youtu.be", "vimeo", "twitch", "dailymotion", "wistia")
SHOPPING_SITES: Final = (
    "amazon", "ebay", "shopping.google", "google shopping", "idealo", "trovaprezzi", "etsy",
    "zalando", "booking", "expedia", "shopify", "walmart", "aliexpress",
)
WEBMAIL_SITES: Final = (
    "mail.google.com", "outlook.live.com", "outlook.office.com", "mail.yahoo.com",
    "webmail", "mail.libero.it", "mail.virgilio.it",
)

_PAID_MEDIUM = r"^(.*cp.*|ppc|retargeting|paid.*)$"
_SHOP_CAMPAIGN = r"^(.*(([^a-df-z]|^)shop|shopping).*)$"


def _site_regex(sites: Sequence[str]) -> str:
    """A source or host belongs to a site when it is the name, or a domain of it."""
    names = "|".join(s.replace(".", r"\.") for s in sites)
    return rf"^((.*\.)?({names})(\.[a-z.]+)?|({names}))$"


def _json_text(column: str, path: str) -> exp.Expression:
    return exp.Lower(this=exp.JSONExtractScalar(this=col(column), expression=lit(path)))


def _matches(value: exp.Expression, pattern: str) -> exp.Expression:
    return exp.RegexpLike(this=value, expression=lit(pattern))


def _in(value: exp.Expression, options: Sequence[str]) -> exp.Expression:
    return exp.In(this=value, expressions=[lit(o) for o in options])


def _utm_rules(source: exp.Expression, medium: exp.Expression, campaign: exp.Expression
               ) -> list[tuple[exp.Expression, str]]:
    """GA4's default channel group over (source, medium, campaign), in its documented order."""
    paid = _matches(medium, _PAID_MEDIUM)
    search, social = _matches(source, _site_regex(SEARCH_SITES)), _matches(source, _site_regex(SOCIAL_SITES))
    video, shopping = _matches(source, _site_regex(VIDEO_SITES)), _matches(source, _site_regex(SHOPPING_SITES))
    shop_campaign = _matches(campaign, _SHOP_CAMPAIGN)
    return [
        (exp.and_(exp.EQ(this=source, expression=lit("(direct)")),
                  _in(medium, ["(not set)", "(none)"])), "Direct"),
        (_matches(campaign, r".*cross-network.*"), "Cross-network"),
        (exp.and_(exp.or_(shopping, shop_campaign), paid), "Paid Shopping"),
        (exp.and_(search, paid), "Paid Search"),
        (exp.and_(social, paid), "Paid Social"),
        (exp.and_(video, paid), "Paid Video"),
        (_in(medium, ["display", "banner", "expandable", "interstitial", "cpm"]), "Display"),
        (paid, "Paid Other"),
        (exp.or_(shopping, shop_campaign), "Organic Shopping"),
        (exp.or_(social, _in(medium, ["social", "social-network", "social-media", "sm",
                                      "social network", "social media"])), "Organic Social"),
        (exp.or_(video, _matches(medium, r"^(.*video.*)$")), "Organic Video"),
        (exp.or_(search, exp.EQ(this=medium, expression=lit("organic"))), "Organic Search"),
        (_in(medium, ["referral", "app", "link"]), "Referral"),
        (exp.or_(_in(source, ["email", "e-mail", "e_mail", "e mail", "newsletter"]),
                 _in(medium, ["email", "e-mail", "e_mail", "e mail", "newsletter"])), "Email"),
        (exp.EQ(this=medium, expression=lit("affiliate")), "Affiliates"),
        (exp.EQ(this=medium, expression=lit("audio")), "Audio"),
        (exp.or_(exp.EQ(this=source, expression=lit("sms")),
                 exp.EQ(this=medium, expression=lit("sms"))), "SMS"),
        (exp.or_(_matches(medium, r".*push$"), _matches(medium, r".*(mobile|notification).*"),
                 exp.EQ(this=source, expression=lit("firebase"))), "Mobile Push Notifications"),
    ]


def _user_rule(rule: ChannelRule, fields: dict[str, exp.Expression]) -> exp.Expression:
    conditions = []
    for name in ("source", "event", "utm_source", "utm_medium", "utm_campaign", "referrer_host"):
        pattern = getattr(rule, name)
        if pattern is not None:
            value = exp.Lower(this=fields[name])
            conditions.append(_matches(value, f"^(?:{pattern.lower()})$"))
    return exp.and_(*conditions) if conditions else exp.true()


def channel_expression(rules: Sequence[ChannelRule] = ()) -> exp.Expression:
    """The channel of a row with columns ``explicit_channel``, ``source``, ``event``, ``type``,
    ``context`` (JSON text), as one SQL expression."""
    utm_source = _json_text("context", "$.campaign.source")
    utm_medium = _json_text("context", "$.campaign.medium")
    utm_campaign = _json_text("context", "$.campaign.name")
    url = _json_text("context", "$.page.url")
    referrer = _json_text("context", "$.page.referrer")
    host_of = lambda u: exp.RegexpExtract(  # noqa: E731
        this=u, expression=lit(r"^[a-z][a-z0-9+.-]*://(?:www\.)?([^/:?#]+)"), group=lit(1)
    )
    ref_host, page_host = host_of(referrer), host_of(url)
    fields = {"source": col("source"), "event": col("event"), "utm_source": utm_source,
              "utm_medium": utm_medium, "utm_campaign": utm_campaign, "referrer_host": ref_host}
    explicit = col("explicit_channel")
    case = exp.Case().when(
        exp.and_(exp.Not(this=exp.Is(this=explicit, expression=exp.null())),
                 exp.NEQ(this=explicit, expression=lit(""))), explicit,
    )
    for rule in rules:
        case = case.when(_user_rule(rule, fields), lit(rule.channel))
    has_utm = exp.or_(
        exp.Not(this=exp.Is(this=utm_source, expression=exp.null())),
        exp.Not(this=exp.Is(this=utm_medium, expression=exp.null())),
    )
    blank = lit("")
    src, med, camp = (exp.Coalesce(this=e, expressions=[blank])
                      for e in (utm_source, utm_medium, utm_campaign))
    for condition, name in _utm_rules(src, med, camp):
        case = case.when(exp.and_(has_utm, condition), lit(name))
    case = case.when(exp.and_(has_utm), lit("Unassigned"))
    case = case.when(_matches(exp.Coalesce(this=url, expressions=[blank]),
                              r".*[?&](gclid|gbraid|wbraid|msclkid)=.*"), lit("Paid Search"))
    case = case.when(_matches(exp.Coalesce(this=url, expressions=[blank]), r".*[?&]dclid=.*"),
                     lit("Display"))
    external = exp.and_(
        exp.NEQ(this=exp.Coalesce(this=ref_host, expressions=[blank]), expression=blank),
        exp.NEQ(this=exp.Coalesce(this=ref_host, expressions=[blank]),
                expression=exp.Coalesce(this=page_host, expressions=[blank])),
    )
    host = exp.Coalesce(this=ref_host, expressions=[blank])
    case = case.when(exp.and_(external, _matches(host, _site_regex(WEBMAIL_SITES))), lit("Email"))
    case = case.when(exp.and_(external, _matches(host, _site_regex(SEARCH_SITES))),
                     lit("Organic Search"))
    case = case.when(exp.and_(external, _matches(host, _site_regex(SOCIAL_SITES))),
                     lit("Organic Social"))
    case = case.when(exp.and_(external, _matches(host, _site_regex(VIDEO_SITES))),
                     lit("Organic Video"))
    case = case.when(external, lit("Referral"))
    web = exp.or_(
        _in(col("type"), ["page", "screen"]),
        exp.Not(this=exp.Is(this=url, expression=exp.null())),
    )
    case = case.when(web, lit("Direct"))
    return case.else_(lit("Unassigned"))
