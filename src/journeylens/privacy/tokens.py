"""Suppression tokens: keyed hashes of identifiers, the same in Python and in SQL.

A token stands for one identifier ``(kind, value)`` without revealing it:

* the *form* of the value is the value as sent for ``user_id`` and ``anonymous_id``, and the
  SHA-256 (hex) of the normalised value for a trait identifier (``email``, ``phone``, or your
  own, normalised as :mod:`journeylens.identity.identifiers` does) — the value identity tables
  hold with ``hash_identifiers``, so a person's identifiers can be tokenised whether or not the
  store keeps them hashed;
* the token is ``sha256(secret ␟ kind ␟ form)`` (hex), ``secret`` being a random key of the
  workspace (``␟`` is the unit separator, chr 31). Without the secret, a token cannot be
  checked against a list of guessed emails.

>>> secret = "00" * 32
>>> token(secret, "email", form("email", " Mario.Rossi@Example.IT ", "IT")) == token(
...     secret, "email", form("email", "mario.rossi@example.it", "IT"))
True
>>> form("phone", "333 123 4567", "IT") == hash_value("+393331234567")
True
>>> form("email", "not an email", "IT") is None
True
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from journeylens.identity.identifiers import (
    ANONYMOUS_ID,
    EMAIL,
    ID_KINDS,
    USER_ID,
    WHITESPACE,
    hash_value,
    normalise,
)

__all__ = [
    "SEP",
    "form",
    "given_identifiers",
    "hash_value",
    "message_identifiers",
    "new_secret",
    "request_token",
    "token",
]

SEP: Final = "\x1f"
"""Separator between the secret, the kind and the form in a token's hashed text."""


def new_secret() -> str:
    """A fresh random workspace secret (64 hex digits)."""
    return secrets.token_hex(32)


def form(kind: str, value: Any, region: str) -> str | None:
    """The form of ``value`` that tokens hash; ``None`` when it is no identifier of ``kind``."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value)
    if kind in ID_KINDS:
        return text or None
    normal = normalise(kind, text, region)
    return hash_value(normal) if normal is not None else None


def token(secret: str, kind: str, value_form: str) -> str:
    """``sha256(secret ␟ kind ␟ form)`` in hex; SQL: ``sha256(? || kind || ? || form)``."""
    return hashlib.sha256(f"{secret}{SEP}{kind}{SEP}{value_form}".encode()).hexdigest()


def request_token(secret: str, identifier: str) -> str:
    """What the audit log keeps of the identifier a request named: a token of the key as given
    (trimmed; lower-cased when it is an email), so a later request can be matched to it."""
    text = identifier.strip(WHITESPACE)
    text = text.lower() if "@" in text else text
    return token(secret, "request", text)


def given_identifiers(
    identifier: str, trait_kinds: Sequence[str], region: str
) -> list[tuple[str, str]]:
    """Every ``(kind, form)`` a key nobody has been seen with could be: a user id, an
    anonymous id, and each trait identifier it is a valid value of (an email when it looks like
    one, a phone when it parses as one, a custom identifier when not empty)."""
    out: list[tuple[str, str]] = [(USER_ID, identifier), (ANONYMOUS_ID, identifier)]
    for kind in trait_kinds:
        value = form(kind, identifier, region)
        if value is not None and (kind != EMAIL or "@" in identifier):
            out.append((kind, value))
    return out


def _traits_of(message: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for holder, key in (
        (message, "traits"),
        (message.get("context"), "traits"),
        (message, "$set"),
        (message.get("properties"), "$set"),
    ):
        if isinstance(holder, Mapping):
            traits = holder.get(key)
            if isinstance(traits, Mapping):
                yield traits


def message_identifiers(
    message: Mapping[str, Any], trait_kinds: Iterable[str], region: str
) -> set[tuple[str, str]]:
    """The ``(kind, form)`` identifiers a message as an SDK sent it carries.

    Segment/RudderStack keys (``userId``, ``anonymousId``, ``previousId`` as either kind,
    ``traits`` and ``context.traits``), their snake-case twins, and PostHog's ``distinct_id``
    (either kind) and ``$set`` (top level or in ``properties``).
    """
    out: set[tuple[str, str]] = set()
    for key, kinds in (
        ("userId", (USER_ID,)),
        ("user_id", (USER_ID,)),
        ("anonymousId", (ANONYMOUS_ID,)),
        ("anonymous_id", (ANONYMOUS_ID,)),
        ("previousId", ID_KINDS),
        ("previous_id", ID_KINDS),
        ("distinct_id", ID_KINDS),
    ):
        value = message.get(key)
        if value is None:
            continue
        for kind in kinds:
            text = form(kind, value, region)
            if text is not None:
                out.add((kind, text))
    wanted = tuple(trait_kinds)
    for traits in _traits_of(message):
        for kind in wanted:
            text = form(kind, traits.get(kind), region)
            if text is not None:
                out.add((kind, text))
    return out
