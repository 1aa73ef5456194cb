"""Identifier kinds and their normalisation.

An identifier is a ``(kind, value)`` pair. The kinds are ``user_id`` and ``anonymous_id`` (the
Segment ids, taken exactly as sent) and every trait key listed in ``IdentityConfig.identifiers``
(``email`` and ``phone`` by default, or your own, e.g. ``loyalty_card``).

Normalisation, the same at resolve time (in SQL, for whole batches) and at lookup time (here):

* ``email``: trimmed and lower-cased; a value without exactly one ``@`` with text on both sides
  is not an identifier.
* ``phone``: parsed with ``phonenumbers`` (numbers without ``+`` in ``phone_region``) and written
  in E.164 (``+393331234567``); a value that is not a possible phone number is not an identifier.
* any other trait key: trimmed; empty text is not an identifier.
* ``user_id`` / ``anonymous_id``: as sent.

With ``hash_identifiers`` the trait identifiers are stored as the SHA-256 (hex) of the normalised
value; user and anonymous ids are stored as sent.

>>> normalise_email("  Mario.Rossi@Example.IT ")
'mario.rossi@example.it'
>>> normalise_phone("333 123 4567", "IT")
'+393331234567'
>>> normalise("loyalty_card", " 0042 ", "IT")
'0042'
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Final

import phonenumbers
import pyarrow as pa

from journeylens.config import IdentityConfig

__all__ = [
    "ANONYMOUS_ID",
    "EMAIL",
    "ID_KINDS",
    "PHONE",
    "PLACEHOLDERS",
    "USER_ID",
    "WHITESPACE",
    "blocklist_table",
    "candidates",
    "hash_value",
    "normalise",
    "normalise_email",
    "normalise_phone",
    "phone_table",
]

USER_ID: Final = "user_id"
ANONYMOUS_ID: Final = "anonymous_id"
ID_KINDS: Final = (USER_ID, ANONYMOUS_ID)
EMAIL: Final = "email"
PHONE: Final = "phone"

WHITESPACE: Final = " \t\n\r\f\v"
"""What "trimmed" removes, here and in SQL (``trim(x, WHITESPACE)``)."""
_EMAIL_RE = re.compile("[^@ \t\n\r\f\v]+@[^@ \t\n\r\f\v]+")

PLACEHOLDERS: Final = ("undefined", "null", "none", "nil", "nan", "[object object]")
"""Values that broken integrations send as ids; never used to link (compared lower-cased,
trimmed), whatever the blocklist says."""


def normalise_email(value: str) -> str | None:
    text = value.strip(WHITESPACE).lower()
    return text if _EMAIL_RE.fullmatch(text) else None


def normalise_phone(value: str, region: str) -> str | None:
    """E.164 form of ``value`` or ``None`` when it is not a possible phone number."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def hash_value(value: str) -> str:
    """SHA-256 (hex) of a normalised value: what is stored with ``hash_identifiers``."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def normalise(kind: str, value: str, region: str) -> str | None:
    """Normalised value of one trait identifier (before hashing), ``None`` if unusable."""
    if kind == EMAIL:
        return normalise_email(value)
    if kind == PHONE:
        return normalise_phone(value, region)
    text = value.strip(WHITESPACE)
    return text or None


def stored_value(kind: str, value: str, config: IdentityConfig) -> str | None:
    """The value as the identity tables hold it: normalised, hashed if configured."""
    if kind in ID_KINDS:
        return value
    normal = normalise(kind, value, config.phone_region)
    if normal is None:
        return None
    return hash_value(normal) if config.hash_identifiers else normal


def candidates(key: str, config: IdentityConfig) -> list[tuple[str, str]]:
    """Every ``(kind, stored value)`` that ``key`` could be, in lookup priority order:
    user id, the configured trait identifiers (normalised; also as given, for a hash), then
    anonymous id."""
    out: list[tuple[str, str]] = [(USER_ID, key)]
    for kind in config.identifiers:
        stored = stored_value(kind, key, config)
        if stored is not None:
            out.append((kind, stored))
        if config.hash_identifiers and stored != key.strip(WHITESPACE).lower():
            out.append((kind, key.strip(WHITESPACE).lower()))
    out.append((ANONYMOUS_ID, key))
    return out


def blocklist_table(config: IdentityConfig) -> pa.Table:
    """``(kind, value)`` rows that never link: the blocklist normalised for every kind.

    A blocklist entry applies to every kind it is a valid value of: ``info@shop.it`` blocks
    that email (and a user id spelled exactly so); ``+39 02 1234567`` blocks that phone.
    """
    kinds: list[str] = []
    values: list[str] = []
    for entry in config.blocklist:
        for kind in (*ID_KINDS, *config.identifiers):
            stored = stored_value(kind, entry, config)
            if stored is not None:
                kinds.append(kind)
                values.append(stored)
    return pa.table({"kind": pa.array(kinds, pa.string()), "value": pa.array(values, pa.string())})


def phone_table(raw_values: Iterable[str | None], region: str) -> pa.Table:
    """``(raw, e164)`` for distinct raw phone texts; ``e164`` is null when unusable.

    Called on the distinct values of a batch (not on event rows): the parse is per value.
    """
    raws = sorted({v for v in raw_values if v is not None})
    return pa.table(
        {
            "raw": pa.array(raws, pa.string()),
            "e164": pa.array([normalise_phone(v, region) for v in raws], pa.string()),
        }
    )


def trait_kinds_table(identifiers: Sequence[str]) -> pa.Table:
    """``(kind, pointer)`` for each configured trait identifier (JSON pointer into traits)."""
    pointers = ["/" + k.replace("~", "~0").replace("/", "~1") for k in identifiers]
    return pa.table(
        {"kind": pa.array(list(identifiers), pa.string()), "pointer": pa.array(pointers)}
    )
