"""The fast ``normalise_message`` against the one it replaced (tests/server/reference_messages.py):
the same row, or the same error (message, field, row), for generated messages of every shape.

Allowed differences: ``properties``/``traits``/``context`` are compact JSON (compared as parsed
JSON here), and a date that leaves the calendar is a RecordError naming the field where the
reference raised OverflowError.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeylens.errors import RecordError
from journeylens.events.messages import MessageDefaults, normalise_message
from tests.server import reference_messages as reference

JSON_FIELDS = ("properties", "traits", "context")

ISO = st.sampled_from(
    ["2026-11-20T10:00:00.000Z", "2026-11-20T10:00:00Z", "2026-11-20t10:00:00z",
     "2026-11-22T11:15:00+01:00", "2026-11-22T15:45:00+0530", "2026-11-22 10:15:00.123+00:00",
     "2026-11-22T10:15:00.123456789Z", "2026-11-22", " 2026-11-22T10:15:00Z ", "2026-11-22T10:15",
     "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00Z",
     "9999-12-31T00:00:00Z", "22/11/2026", "", "  ", "yesterday", "2026-11-20T10:00:00.000+00:00",
     "2026-11-20 10:00:00+00:00", "2026-11-20T10:00:00.1234567Z", "2026-11-22T10:15:00+01:00Z",
     "2026-11-22 Z", "2026-11-22Z", "2026-11-22T10Z", "20261122T101500Z", "2026-W47-1Z",
     "2026-11-22T24:00:00Z", "2026-13-01T00:00:00Z", "2026-11-20T10:00:00.Z", "+00:00",
     "2026-11-20T10:00:00+00:00+00:00", "2026-11-20T10:00:00-00:00", "２026-11-20T10:00:00Z"]
)  # fmt: skip
TIME = st.one_of(
    ISO,
    st.integers(-(10**13), 10**13),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([None, True, [], {"at": 1}]),
)
TEXT = st.one_of(
    st.sampled_from(["", " ", "u-1", "a-1", "acme", "Store", " web ", "FIRST", "third", "x"]),
    st.text(max_size=8),
    st.integers(-5, 10**20),
    st.sampled_from([None, True, 1.5, ["x"], {"id": 1}]),
)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
)
VALUE = st.recursive(
    SCALAR,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
URL = st.sampled_from(
    ["https://shop.example/?utm_source=google&utm_medium=cpc&utm_id=5", "https://x.it/a?UTM_Campaign=Winter&utm_id=42&utm_source=",
     "https://x.it/?utm_term=a%20b&utm_content=c&utm_source=", "http://[::1/?utm_source=x",
     "https://x.it/", "/checkout?utm_medium=email", "", "https://x.it/?utm_source=a+b&utm_medium",
     "https://x.it/#top?utm_source=frag", "https://x.it/?utm_source=q#utm_medium=frag",
     "https://x.it/?utm_so\turce=tab&utm_medium=e\nmail", "https://città.it/?utm_source=ü",
     "http://[::1]/?utm_source=v6&&utm_medium=&=x&utm_campaign=a=b", " \x01https://x.it/?utm_id=7",
     "https://x.it/?utm_source=a;utm_medium=b", "https://x.it/?UTM_SOURCE=A&utm_source=B"]
)  # fmt: skip
MONEY = st.one_of(
    st.none(),
    st.sampled_from(["", "12.5", "12,50", " 7 ", "1e3", "nan", "abc"]),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([True, [10]]),
)
PROPERTIES = st.fixed_dictionaries(
    {},
    optional={
        "revenue": MONEY, "total": MONEY, "value": MONEY, "cost": MONEY,
        "currency": st.sampled_from(["EUR", " eur ", "euro", "", None, 978, "E1R"]),
        "url": URL, "referrer": st.sampled_from(["https://google.com/", "", None, 3]),
        "name": TEXT, "extra": VALUE,
    },
)  # fmt: skip
MONEY_PROPERTIES = st.fixed_dictionaries(
    {"total": MONEY, "value": MONEY},
    optional={"revenue": MONEY, "cost": MONEY, "currency": st.sampled_from(["EUR", " usd "])},
)
CONTEXT = st.fixed_dictionaries(
    {},
    optional={
        "page": st.one_of(
            st.fixed_dictionaries({}, optional={"url": URL, "referrer": URL}), st.just("p")
        ),
        "campaign": st.sampled_from([{}, {"source": "news"}, None, "c"]),
        "traits": st.one_of(
            st.dictionaries(st.text(max_size=3), SCALAR, max_size=2), st.just("vip")
        ),
        "library": st.just({"name": "analytics-python", "version": "2.4.0"}),
        "extra": VALUE,
    },
)  # fmt: skip
GOOD_ID = st.sampled_from(["u-1", "a-1", "acme", "u-2", 42])
GOOD_TIME = st.one_of(ISO, st.sampled_from([1_000_000_000, 1_700_000_000_000, 1.5e9]))
MOSTLY_VALID = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["track", "track", "track", "page", "screen", "identify", "group",
                                 "alias", "TRACK", " Page "]),
        "userId": GOOD_ID, "anonymousId": GOOD_ID, "groupId": GOOD_ID, "previousId": GOOD_ID,
        "event": st.sampled_from(
            ["Order Completed", "purchase", "product_viewed", "Checkout_Completed"]
        ),
        "timestamp": GOOD_TIME,
    },
    optional={
        "messageId": st.sampled_from(["m-1", "m-2", 7]), "originalTimestamp": GOOD_TIME,
        "sentAt": GOOD_TIME, "properties": st.one_of(PROPERTIES, MONEY_PROPERTIES),
        "context": CONTEXT,
        "traits": st.dictionaries(st.text(max_size=3), VALUE, max_size=2),
        "name": st.sampled_from(["Home", "Cart", ""]), "category": st.sampled_from(["Shop", None]),
        "dataParty": st.sampled_from(["first", " Second ", "THIRD"]),
        "channel": st.sampled_from(["Store", " ", "Email"]), "source": st.sampled_from(["pos", ""]),
    },
)  # fmt: skip
ANY_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["click", "", None, 3]),
        "userId": TEXT, "anonymousId": TEXT, "groupId": TEXT, "previousId": TEXT, "event": TEXT,
        "messageId": st.one_of(TEXT, st.just("m" * 101)),
        "timestamp": TIME, "originalTimestamp": TIME, "sentAt": TIME,
        "properties": st.one_of(PROPERTIES, st.sampled_from([None, [1, 2], "p"])),
        "context": st.one_of(CONTEXT, st.sampled_from([None, "web"])),
        "traits": st.one_of(st.dictionaries(st.text(max_size=3), VALUE, max_size=2), st.none()),
        "name": TEXT, "category": TEXT, "dataParty": TEXT, "channel": TEXT, "source": TEXT,
    },
)  # fmt: skip


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    """A mostly valid message, often with a few fields replaced by anything, some removed."""
    message = draw(MOSTLY_VALID)
    if draw(st.booleans()):
        for key in draw(st.lists(st.sampled_from(sorted(message)), max_size=2, unique=True)):
            del message[key]
    if draw(st.booleans()):
        message.update(draw(ANY_FIELDS))
    return message


MESSAGE = messages()
RECEIVED = st.one_of(
    st.none(),
    st.sampled_from(
        [datetime(2026, 11, 20, 10, 0, 5), datetime(1, 1, 1, 0, 0, 1), datetime(9999, 12, 31)]
    ),
)
DEFAULTS = st.sampled_from(
    [("website", "first", None), ("pos", "second", "Store"), ("crm", "partner", " ")]
)


def outcome(normalise: Any, message: Any, defaults: tuple[Any, ...], received: Any) -> Any:
    make = MessageDefaults if normalise is normalise_message else reference.MessageDefaults
    module_defaults = make(*defaults)
    try:
        row = normalise(message, module_defaults, row=4, received_at=received)
    except RecordError as error:
        return ("error", error.message, error.field, error.row)
    except OverflowError:
        return ("overflow",)
    row.pop("received_at") if received is None else None  # "now" when nobody says
    for name in JSON_FIELDS:
        if row[name] is not None:
            row[name] = json.loads(row[name])
    return row


def same(a: Any, b: Any) -> bool:
    """Equal, NaN equal to NaN (JSON cannot hold it, but the comparison may meet one)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) and type(a) is type(b)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=MESSAGE, defaults=DEFAULTS, received=RECEIVED)
def test_fast_normalise_agrees_with_the_reference(
    message: dict[str, Any], defaults: tuple[Any, ...], received: datetime | None
) -> None:
    expected = outcome(reference.normalise_message, message, defaults, received)
    got = outcome(normalise_message, message, defaults, received)
    if expected == ("overflow",):
        # the reference crashed; the fast one names the field of the time at fault
        assert got[0] == "error" and got[2] in ("timestamp", "originalTimestamp", "sentAt"), got
        assert "outside the years 1 to 9999" in got[1]
        return
    assert same(got, expected), (got, expected)
    if not has_nan(message):  # what the server sends (orjson refuses NaN): the check is skipped
        nan_free = normalise_message(
            message, MessageDefaults(*defaults), row=4, received_at=received, nan_free=True
        ) if isinstance(got, dict) else None  # fmt: skip
        if nan_free is not None:
            direct = normalise_message(
                message, MessageDefaults(*defaults), row=4, received_at=received
            )
            for name in ("ts", "properties", "traits", "context", "event_id", "revenue"):
                assert nan_free[name] == direct[name]


def has_nan(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(has_nan(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_nan(v) for v in value)
    return False


def test_the_benchmark_shape_agrees_exactly() -> None:
    message = {
        "type": "page", "event": "product_viewed", "userId": "u1", "anonymousId": "a-1",
        "messageId": "c0-0-0", "timestamp": "2026-11-20T10:00:00.000Z",
        "sentAt": "2026-11-20T10:00:01.000Z",
        "properties": {"sku": "sku-1", "price": 19.9, "url": "https://shop.example/cart"},
        "context": {"library": {"name": "analytics-python", "version": "2.4.0"}, "ip": "10.1.2.3",
                    "locale": "it-IT", "page": {"url": "https://shop.example/?utm_source=google&utm_medium=cpc"}},
    }  # fmt: skip
    received = datetime(2026, 11, 20, 10, 0, 3)
    got = normalise_message(message, MessageDefaults("bench"), row=0, received_at=received)
    expected = reference.normalise_message(
        message, reference.MessageDefaults("bench"), row=0, received_at=received
    )
    assert got["ts"] == datetime(2026, 11, 20, 10, 0, 2)  # 10:00:03 − (10:00:01 − 10:00:00)
    assert json.loads(got["context"])["campaign"] == {"source": "google", "medium": "cpc"}
    # the JSON is compact, and otherwise the same text
    assert got["properties"] == expected["properties"].replace(", ", ",").replace(": ", ":")
    for name in JSON_FIELDS:
        got[name] = json.loads(got[name]) if got[name] else None
        expected[name] = json.loads(expected[name]) if expected[name] else None
    assert got == expected
