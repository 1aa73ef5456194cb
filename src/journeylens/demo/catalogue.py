"""The demo's world: two brands, their sources, traffic sources, products, rooms, people's names.

Everything here is invented. The two brands share one workspace and are told apart by
``properties.brand`` on every event (and by their sources' names):

* **Hotel Lago Blu** — a four-star hotel in Malcesine, on Lake Garda (hotellagoblu.it).
* **Bottega Aurora** — natural cosmetics and home fragrances: an online shop (bottegaaurora.it),
  an app, and three shops in Verona, Milano and Brescia.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "BRANDS",
    "EVENTS",
    "HOTEL",
    "PRODUCTS",
    "ROOMS",
    "SHOP",
    "SOURCES",
    "TRAFFIC",
    "Brand",
    "Event",
    "Source",
    "Traffic",
]

HOTEL: Final = 0
SHOP: Final = 1


@dataclass(frozen=True)
class Brand:
    key: str
    name: str
    domain: str
    user_prefix: str
    """Prefix of the customer numbers the brand's systems give (``userId``)."""
    shared_email: str
    """The brand's own address, typed at the till when a customer gives none (a planted trap)."""


BRANDS: Final = (
    Brand("lagoblu", "Hotel Lago Blu", "www.hotellagoblu.it", "LB", "reception@hotellagoblu.it"),
    Brand("aurora", "Bottega Aurora", "www.bottegaaurora.it", "BA", "negozio@bottegaaurora.it"),
)


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    data_party: str
    brand: int | None
    description: str


# fmt: off
SOURCES: Final = (
    Source("hotel_website", "website", "first", HOTEL,
           "hotellagoblu.it: pages, rooms, booking engine, chatbot (analytics.js)"),
    Source("hotel_frontdesk", "frontdesk", "first", HOTEL,
           "Front desk and property-management system: check-in/out, extras, phone bookings"),
    Source("hotel_crm", "crm", "first", HOTEL, "Guest CRM: guest records, B2B accounts, fairs"),
    Source("hotel_email", "email", "first", HOTEL, "Email platform: newsletter and nurturing"),
    Source("hotel_service", "customer_service", "first", HOTEL, "Guest-service helpdesk tickets"),
    Source("booking_portal", "partner", "second", HOTEL,
           "PrenotaLago.it, a booking portal that shares the hotel's bookings made on it"),
    Source("tour_operator", "partner", "second", HOTEL,
           "Garda & Dolomiti Tours, a tour operator that shares its package bookings"),
    Source("shop_ecommerce", "ecommerce", "first", SHOP,
           "bottegaaurora.it online shop: pages, products, cart, checkout, deliveries"),
    Source("shop_app", "app", "first", SHOP, "Bottega Aurora app (iOS/Android)"),
    Source("shop_pos", "pos", "first", SHOP,
           "Tills of the shops in Verona, Milano and Brescia (receipts, loyalty card)"),
    Source("shop_crm", "crm", "first", SHOP, "Customer CRM and loyalty programme, B2B accounts"),
    Source("shop_email", "email", "first", SHOP, "Email platform: newsletter and nurturing"),
    Source("shop_service", "customer_service", "first", SHOP, "Customer-service helpdesk tickets"),
    Source("surveys", "survey", "first", None, "Survey tool: NPS, CSAT and CES, sent by email"),
    Source("social_media", "social", "first", None,
           "Interactions with the brands' own Instagram, Facebook and TikTok posts"),
    Source("review_monitor", "reviews", "third", None,
           "Reviews collected from Google, TripAdvisor and Trustpilot"),
    Source("ad_server", "ads", "third", None,
           "Ad server log: impressions and clicks on Google, Meta, TikTok, display "
           "(cookie-matched)"),
    Source("data_provider", "enrichment", "third", None,
           "AudiencePlus Italia: bought demographic enrichment, matched by email"),
)
# fmt: on
SOURCE_INDEX: Final = {s.name: i for i, s in enumerate(SOURCES)}


@dataclass(frozen=True)
class Event:
    name: str
    type: str
    phase: str


# fmt: off
EVENTS: Final = (
    Event("ad_impression", "track", "awareness"),
    Event("ad_click", "track", "awareness"),
    Event("social_post_engaged", "track", "awareness"),
    Event("page_viewed", "page", "consideration"),
    Event("screen_viewed", "screen", "consideration"),
    Event("product_viewed", "track", "consideration"),
    Event("room_viewed", "track", "consideration"),
    Event("availability_searched", "track", "consideration"),
    Event("site_search", "track", "consideration"),
    Event("review_read", "track", "consideration"),
    Event("chatbot_message", "track", "consideration"),
    Event("products_compared", "track", "consideration"),
    Event("rooms_compared", "track", "consideration"),
    Event("newsletter_signup", "track", "consideration"),
    Event("quote_requested", "track", "consideration"),
    Event("fair_meeting", "track", "consideration"),
    Event("catalogue_mailed", "track", "consideration"),
    Event("add_to_cart", "track", "consideration"),
    Event("checkout_started", "track", "purchase"),
    Event("checkout_payment", "track", "purchase"),
    Event("checkout_error", "track", "purchase"),
    Event("purchase", "track", "purchase"),
    Event("booking_confirmed", "track", "purchase"),
    Event("phone_call", "track", "purchase"),
    Event("store_visit", "track", "purchase"),
    Event("check_in", "track", "retention"),
    Event("check_out", "track", "retention"),
    Event("extra_purchased", "track", "retention"),
    Event("order_delivered", "track", "retention"),
    Event("email_sent", "track", "retention"),
    Event("email_opened", "track", "retention"),
    Event("email_clicked", "track", "retention"),
    Event("support_ticket_opened", "track", "retention"),
    Event("support_ticket_resolved", "track", "retention"),
    Event("csat_response", "track", "retention"),
    Event("ces_response", "track", "retention"),
    Event("nps_response", "track", "advocacy"),
    Event("review_written", "track", "advocacy"),
    Event("referral_sent", "track", "advocacy"),
    Event("identify", "identify", "identity"),
    Event("group", "group", "identity"),
    Event("alias", "alias", "identity"),
)
# fmt: on
EVENT_INDEX: Final = {e.name: i for i, e in enumerate(EVENTS)}


@dataclass(frozen=True)
class Traffic:
    """Where a website or app session comes from, and the context that says so.

    ``utm`` is the landing page's UTM triple; ``tag`` is the (source, medium) the site's tag keeps
    in ``context.campaign`` on the later events of the session (organic and referral sessions
    have no UTM on the landing page, only a referrer). ``channel`` is what the default channel
    grouping makes of it (checked by the tests against the store's SQL).
    """

    key: str
    brand: int
    channel: str
    utm: tuple[str, str, str] | None = None
    referrer: str | None = None
    tag: tuple[str, str] | None = None
    click_id: str | None = None
    cpc: float = 0.0
    """Cost of the ad click that starts the session (EUR), 0 for unpaid traffic."""
    cpm: float = 0.0
    """Cost of a thousand impressions of the same campaign (EUR)."""
    platform: str | None = None
    conversion: float = 1.0
    """Multiplier of the chance that a purchase intent started here converts (planted)."""


# fmt: off
TRAFFIC: Final = (
    # Hotel Lago Blu
    Traffic("hotel_direct", HOTEL, "Direct"),
    Traffic("hotel_google_organic", HOTEL, "Organic Search", referrer="https://www.google.it/",
            tag=("google", "organic")),
    Traffic("hotel_bing_organic", HOTEL, "Organic Search", referrer="https://www.bing.com/",
            tag=("bing", "organic")),
    Traffic("hotel_google_brand", HOTEL, "Paid Search", ("google", "cpc", "lagoblu-brand"),
            click_id="gclid", cpc=0.45, cpm=9.0, platform="Google Ads", conversion=1.4),
    Traffic("hotel_google_generic", HOTEL, "Paid Search",
            ("google", "cpc", "lagoblu-hotel-lago-di-garda"), click_id="gclid", cpc=1.2,
            cpm=14.0, platform="Google Ads", conversion=1.0),
    Traffic("hotel_meta_families", HOTEL, "Paid Social",
            ("facebook", "paid_social", "lagoblu-meta-famiglie-estate"), cpc=0.55, cpm=6.5,
            platform="Meta Ads", conversion=0.6),
    Traffic("hotel_instagram_spa", HOTEL, "Paid Social",
            ("instagram", "paid_social", "lagoblu-ig-weekend-spa"), cpc=0.5, cpm=6.0,
            platform="Meta Ads", conversion=0.55),
    Traffic("hotel_display", HOTEL, "Display", ("dv360", "display", "lagoblu-retargeting"),
            cpc=0.4, cpm=2.5, platform="Display & Video 360", conversion=0.8),
    Traffic("hotel_instagram_organic", HOTEL, "Organic Social",
            referrer="https://l.instagram.com/", tag=("instagram", "social"), conversion=0.8),
    Traffic("hotel_facebook_organic", HOTEL, "Organic Social", referrer="https://m.facebook.com/",
            tag=("facebook", "social"), conversion=0.8),
    Traffic("hotel_tripadvisor", HOTEL, "Organic Social",
            referrer="https://www.tripadvisor.it/", tag=("tripadvisor", "referral")),
    Traffic("hotel_youtube", HOTEL, "Organic Video", referrer="https://www.youtube.com/",
            tag=("youtube", "video"), conversion=0.7),
    Traffic("hotel_newsletter", HOTEL, "Email", ("newsletter", "email", "lagoblu-newsletter"),
            conversion=1.3),
    Traffic("hotel_blog", HOTEL, "Referral", referrer="https://www.gardalakeguide.it/",
            tag=("gardalakeguide.it", "referral"), conversion=1.1),
    Traffic("hotel_friend", HOTEL, "Referral", ("friend", "referral", "invita-un-amico"),
            conversion=1.5),
    # Bottega Aurora
    Traffic("shop_direct", SHOP, "Direct"),
    Traffic("shop_google_organic", SHOP, "Organic Search", referrer="https://www.google.it/",
            tag=("google", "organic")),
    Traffic("shop_bing_organic", SHOP, "Organic Search", referrer="https://www.bing.com/",
            tag=("bing", "organic")),
    Traffic("shop_google_brand", SHOP, "Paid Search", ("google", "cpc", "aurora-brand"),
            click_id="gclid", cpc=0.3, cpm=7.0, platform="Google Ads", conversion=1.4),
    Traffic("shop_google_generic", SHOP, "Paid Search",
            ("google", "cpc", "aurora-cosmetici-naturali"), click_id="gclid", cpc=0.8, cpm=10.0,
            platform="Google Ads", conversion=1.0),
    Traffic("shop_google_shopping", SHOP, "Paid Shopping",
            ("google", "cpc", "aurora-shopping-feed"), click_id="gclid", cpc=0.5, cpm=8.0,
            platform="Google Ads", conversion=1.2),
    Traffic("shop_meta", SHOP, "Paid Social",
            ("facebook", "paid_social", "aurora-meta-prospecting"), cpc=0.45, cpm=5.5,
            platform="Meta Ads", conversion=0.6),
    Traffic("shop_tiktok", SHOP, "Paid Social",
            ("tiktok", "paid_social", "aurora-tiktok-glow-challenge"), cpc=0.18, cpm=3.0,
            platform="TikTok Ads", conversion=0.12),
    Traffic("shop_display", SHOP, "Display", ("dv360", "display", "aurora-retargeting"),
            cpc=0.35, cpm=2.2, platform="Display & Video 360", conversion=0.8),
    Traffic("shop_instagram_organic", SHOP, "Organic Social",
            referrer="https://l.instagram.com/", tag=("instagram", "social"), conversion=0.8),
    Traffic("shop_facebook_organic", SHOP, "Organic Social", referrer="https://m.facebook.com/",
            tag=("facebook", "social"), conversion=0.8),
    Traffic("shop_newsletter", SHOP, "Email", ("newsletter", "email", "aurora-newsletter"),
            conversion=1.3),
    Traffic("shop_blog", SHOP, "Referral", referrer="https://www.bellezzanaturale-blog.it/",
            tag=("bellezzanaturale-blog.it", "referral"), conversion=1.1),
    Traffic("shop_friend", SHOP, "Referral", ("friend", "referral", "invita-un-amico"),
            conversion=1.5),
    Traffic("shop_coupons", SHOP, "Affiliates", ("scontiweb", "affiliate", "aurora-coupon"),
            cpc=0.25, platform="ScontiWeb", conversion=0.9),
    Traffic("shop_app", SHOP, "Direct", tag=("(direct)", "(none)")),
)
# fmt: on
TRAFFIC_INDEX: Final = {t.key: i for i, t in enumerate(TRAFFIC)}

# fmt: off
# Products of Bottega Aurora: (id, name, category, price EUR, slug)
PRODUCTS: Final = (
    ("BA-101", "Crema viso idratante all'aloe", "viso", 24.90, "crema-viso-aloe"),
    ("BA-102", "Siero viso alla vitamina C", "viso", 32.50, "siero-vitamina-c"),
    ("BA-103", "Latte detergente alla camomilla", "viso", 14.90, "latte-detergente-camomilla"),
    ("BA-104", "Maschera viso all'argilla verde", "viso", 12.90, "maschera-argilla-verde"),
    ("BA-105", "Contorno occhi al fiordaliso", "viso", 19.90, "contorno-occhi-fiordaliso"),
    ("BA-201", "Bagnoschiuma al fico d'India", "corpo", 9.90, "bagnoschiuma-fico-india"),
    ("BA-202", "Crema corpo al burro di karité", "corpo", 18.50, "crema-corpo-karite"),
    ("BA-203", "Olio corpo alla mandorla dolce", "corpo", 16.90, "olio-mandorla-dolce"),
    ("BA-204", "Scrub corpo al sale del Garda", "corpo", 21.00, "scrub-sale"),
    ("BA-205", "Crema mani alla lavanda", "corpo", 7.50, "crema-mani-lavanda"),
    ("BA-301", "Shampoo delicato all'ortica", "capelli", 11.90, "shampoo-ortica"),
    ("BA-302", "Balsamo all'olio di oliva", "capelli", 12.90, "balsamo-olio-oliva"),
    ("BA-303", "Maschera capelli al cocco", "capelli", 15.90, "maschera-capelli-cocco"),
    ("BA-401", "Diffusore ai fiori di limone", "casa", 29.90, "diffusore-limone"),
    ("BA-402", "Candela profumata al fico", "casa", 22.00, "candela-fico"),
    ("BA-403", "Spray ambiente alla lavanda", "casa", 13.50, "spray-lavanda"),
    ("BA-404", "Ricarica diffusore 500 ml", "casa", 19.90, "ricarica-diffusore"),
    ("BA-501", "Cofanetto regalo Benessere", "cofanetti", 39.90, "cofanetto-benessere"),
    ("BA-502", "Cofanetto regalo Agrumi", "cofanetti", 34.90, "cofanetto-agrumi"),
    ("BA-503", "Cofanetto Natale Deluxe", "cofanetti", 59.90, "cofanetto-natale-deluxe"),
    ("BA-601", "Rossetto naturale rosso Garda", "trucco", 14.90, "rossetto-rosso"),
    ("BA-602", "Mascara volume vegano", "trucco", 16.50, "mascara-vegano"),
    ("BA-603", "Fondotinta fluido minerale", "trucco", 24.00, "fondotinta-minerale"),
    ("BA-604", "Matita occhi marrone", "trucco", 8.90, "matita-occhi"),
)

# Rooms of Hotel Lago Blu: (id, name, base price per night EUR, slug, max guests)
ROOMS: Final = (
    ("classica", "Camera Classica", 115.0, "camera-classica", 2),
    ("superior", "Camera Superior Vista Lago", 155.0, "superior-vista-lago", 2),
    ("family", "Family Room", 195.0, "family-room", 4),
    ("junior", "Junior Suite", 235.0, "junior-suite", 3),
    ("panorama", "Suite Panorama", 330.0, "suite-panorama", 2),
)

HOTEL_PAGES: Final = (
    ("/", "Hotel Lago Blu – Malcesine, Lago di Garda", "home"),
    ("/camere", "Camere e suite", "rooms"),
    ("/offerte", "Offerte speciali", "offers"),
    ("/spa", "Spa e benessere", "spa"),
    ("/ristorante", "Ristorante Terrazza sul Lago", "restaurant"),
    ("/lago-di-garda", "Cosa fare sul Lago di Garda", "blog"),
    ("/contatti", "Contatti e come arrivare", "contact"),
    ("/famiglie", "Vacanze in famiglia", "offers"),
)
SHOP_PAGES: Final = (
    ("/", "Bottega Aurora – cosmetici naturali", "home"),
    ("/viso", "Cura del viso", "category"),
    ("/corpo", "Corpo e bagno", "category"),
    ("/capelli", "Capelli", "category"),
    ("/casa", "Profumi per la casa", "category"),
    ("/cofanetti", "Idee regalo", "category"),
    ("/offerte", "Offerte e promozioni", "offers"),
    ("/negozi", "I nostri negozi", "stores"),
)
STORES: Final = (("VR01", "Verona"), ("MI01", "Milano"), ("BS01", "Brescia"))

HOTEL_EXTRAS: Final = (
    ("spa", "Percorso spa", 45.0),
    ("dinner", "Cena in terrazza", 68.0),
    ("boat", "Giro in barca a Limone", 35.0),
    ("wine", "Degustazione vini del Garda", 28.0),
    ("bike", "Noleggio e-bike", 30.0),
)
SHOP_SEARCHES: Final = (
    "crema viso", "regalo natale", "profumo casa", "shampoo naturale", "vitamina c",
    "cofanetto", "crema mani", "black friday", "siero", "rossetto", "diffusore", "sconti",
)
PAYMENT_METHODS: Final = ("card", "paypal", "satispay", "apple_pay")
DISCOUNT_CODES: Final = ("BLACKAURORA30", "BENVENUTA10", "TIKTOK15", "NATALE20")

USER_AGENTS: Final = (
    # desktop
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/129.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Safari/605.1.15",
    # mobile
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/129.0 Mobile Safari/537.36",
)

FIRST_NAMES: Final = (
    "Giulia", "Francesca", "Chiara", "Sara", "Martina", "Valentina", "Alessia", "Elena",
    "Federica", "Silvia", "Laura", "Paola", "Anna", "Giorgia", "Elisa", "Roberta", "Monica",
    "Sofia", "Aurora", "Beatrice", "Marco", "Luca", "Andrea", "Matteo", "Alessandro",
    "Francesco", "Davide", "Stefano", "Simone", "Lorenzo", "Giovanni", "Paolo", "Riccardo",
    "Federico", "Roberto", "Massimo", "Fabio", "Nicola", "Gabriele", "Tommaso",
)
LAST_NAMES: Final = (
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
    "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano",
    "Rizzo", "Lombardi", "Moretti", "Barbieri", "Fontana", "Santoro", "Mariani", "Rinaldi",
    "Caruso", "Ferrara", "Galli", "Martini", "Leone", "Longo", "Gentile", "Martinelli",
    "Vitale", "Lombardo", "Serra", "Coppola", "De Santis", "Marchetti", "Zanetti", "Benedetti",
    "Bertolini", "Pellegrini", "Fabbri", "Zanella", "Tosi", "Bonetti", "Sartori",
)
FOREIGN_FIRST: Final = (
    "Anna", "Lukas", "Hannah", "Jonas", "Emma", "Felix", "Laura", "Noah", "Sophie", "Daniel",
    "Olivia", "James", "Emily", "Thomas", "Sarah", "Michael", "Lotte", "Daan",
)
FOREIGN_LAST: Final = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Keller", "Huber",
    "Brunner", "Smith", "Johnson", "Brown", "Taylor", "Miller", "de Vries", "Jansen", "Bakker",
)
EMAIL_DOMAINS_IT: Final = (
    "gmail.com", "libero.it", "hotmail.it", "yahoo.it", "outlook.it", "icloud.com",
    "alice.it", "tiscali.it", "virgilio.it",
)
EMAIL_DOMAINS_FOREIGN: Final = ("gmail.com", "gmx.de", "bluewin.ch", "outlook.com", "web.de")

# (country, language, cities)
COUNTRIES: Final = (
    ("IT", "it", ("Milano", "Verona", "Brescia", "Bergamo", "Torino", "Bologna", "Padova",
                  "Roma", "Trento", "Mantova", "Vicenza", "Modena", "Firenze", "Parma")),
    ("DE", "en", ("München", "Stuttgart", "Frankfurt", "Köln", "Berlin")),
    ("CH", "en", ("Zürich", "Basel", "Bern", "Lugano")),
    ("NL", "en", ("Amsterdam", "Utrecht", "Rotterdam")),
    ("GB", "en", ("London", "Manchester", "Bristol")),
    ("US", "en", ("New York", "Chicago", "Boston", "San Francisco")),
)
PHONE_PREFIX: Final = ("+39", "+49", "+41", "+31", "+44", "+1")

ACCOUNT_STEMS: Final = (
    "Benaco", "Baldo", "Sirmione", "Scaligera", "Adige", "Garda", "Mincio", "Valpolicella",
    "Lessinia", "Franciacorta", "Orobica", "Brenta", "Dolomia", "Berica", "Euganea", "Iseo",
)
# account type → (brand, name patterns, industries, roles)
ACCOUNT_TYPES: Final = {
    "travel_agency": (
        HOTEL, ("Agenzia Viaggi {}", "{} Travel", "Viaggi {} & Co."), ("Travel agency",),
        ("Titolare", "Agente di viaggio", "Responsabile gruppi"),
    ),
    "corporate": (
        HOTEL, ("{} Meccanica S.p.A.", "{} Pharma S.r.l.", "Banca del {}", "{} Software S.r.l."),
        ("Manufacturing", "Pharmaceuticals", "Banking", "Software"),
        ("Travel manager", "Office manager", "Sales manager", "Assistente di direzione"),
    ),
    "retailer": (
        SHOP, ("Profumeria {}", "Erboristeria {}", "Farmacia {}", "Concept store {}"),
        ("Retail",), ("Titolare", "Buyer", "Responsabile acquisti", "Store manager"),
    ),
}
# fmt: on
