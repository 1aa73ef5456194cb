"""Normalisation of identifiers, the blocklist and lookup candidates, by hand-checked cases."""

from __future__ import annotations

import hashlib

import pytest

from journeylens import ConfigError, IdentityConfig
from journeylens.identity.identifiers import (
    blocklist_table,
    candidates,
    normalise,
    normalise_email,
    normalise_phone,
    phone_table,
)
from journeylens.identity.resolve import check_config


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Mario.Rossi@Example.IT ", "mario.rossi@example.it"),
        ("\tANN@x.it\n", "ann@x.it"),
        ("not-an-email", None),
        ("two@@x.it", None),
        ("a b@x.it", None),
        ("", None),
    ],
)
def test_email(raw: str, expected: str | None) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+39 333 123 4567", "IT", "+393331234567"),
        ("3331234567", "IT", "+393331234567"),
        ("333-123-4567", "IT", "+393331234567"),
        ("0039 333 1234567", "IT", "+393331234567"),
        ("06 1234 5678", "IT", "+390612345678"),  # Italian landlines keep their 0
        ("+44 20 7946 0958", "IT", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("n/a", "IT", None),
        ("12", "IT", None),
    ],
)
def test_phone(raw: str, region: str, expected: str | None) -> None:
    assert normalise_phone(raw, region) == expected


def test_custom_identifiers_are_trimmed_and_phone_table_parses_distinct_values() -> None:
    assert normalise("loyalty_card", "  LC-42 ", "IT") == "LC-42"
    assert normalise("loyalty_card", "   ", "IT") is None
    table = phone_table(["3331234567", None, "3331234567", "x"], "IT")
    assert table.to_pydict() == {"raw": ["3331234567", "x"], "e164": ["+393331234567", None]}


def test_blocklist_applies_to_every_kind_it_is_valid_for() -> None:
    config = IdentityConfig(blocklist=("Info@Shop.it", "+39 02 1234567", "guest"))
    rows = set(zip(*blocklist_table(config).to_pydict().values(), strict=True))
    assert rows == {
        ("user_id", "Info@Shop.it"),
        ("anonymous_id", "Info@Shop.it"),
        ("email", "info@shop.it"),
        ("user_id", "+39 02 1234567"),
        ("anonymous_id", "+39 02 1234567"),
        ("phone", "+39021234567"),
        ("user_id", "guest"),
        ("anonymous_id", "guest"),
    }
    hashed = IdentityConfig(blocklist=("Info@Shop.it",), hash_identifiers=True)
    assert ("email", hashlib.sha256(b"info@shop.it").hexdigest()) in set(
        zip(*blocklist_table(hashed).to_pydict().values(), strict=True)
    )


def test_lookup_candidates_in_priority_order() -> None:
    config = IdentityConfig(identifiers=("email", "phone", "card"))
    assert candidates(" Ann@X.it", config) == [
        ("user_id", " Ann@X.it"),
        ("email", "ann@x.it"),
        ("card", "Ann@X.it"),
        ("anonymous_id", " Ann@X.it"),
    ]
    assert ("phone", "+393331234567") in candidates("333 123 4567", config)


def test_settings_that_cannot_work_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"identity\.identifiers"):
        check_config(IdentityConfig(identifiers=("email", "user_id")))
    with pytest.raises(ConfigError, match=r"identity\.identifiers"):
        check_config(IdentityConfig(identifiers=("email", "email")))
    with pytest.raises(ConfigError, match=r"identity\.phone_region: 'XX'"):
        check_config(IdentityConfig(phone_region="XX"))
