"""Who a privacy request is about: the customer an identifier belongs to, every identifier
linked to them, and every event of theirs.

A key is looked up as :func:`journeylens.identity.customer_of` does (customer id, user id,
trait identifiers normalised, anonymous id) on the resolved identities; the person's events are
those of the customer in ``customer_events`` plus any stored event whose user id, anonymous id
or previous id is one of theirs (so events stored after the last resolve are covered too), or
whose person traits carry one of their trait identifiers (an email on an event that identity
gave to someone else, e.g. of a quarantined user id, is still theirs).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from journeylens.engines.base import Engine
from journeylens.identity import customer_of
from journeylens.identity.extract import PERSON_TRAITS
from journeylens.identity.identifiers import (
    ANONYMOUS_ID,
    ID_KINDS,
    USER_ID,
    hash_value,
    stored_value,
    trait_kinds_table,
)
from journeylens.identity.resolve import stored_config

__all__ = ["Person", "find_person", "person_events"]


@dataclass(frozen=True)
class Person:
    """One resolved person: customer id, customer key, identifiers as the store holds them."""

    customer_id: str
    customer_key: int | None
    identifiers: tuple[tuple[str, str], ...]
    """``(kind, value)``: ids as sent; trait identifiers normalised (or their hash, with
    ``hash_identifiers``)."""
    hashed: bool
    """Whether trait identifier values are stored as hashes."""

    def ids(self, kind: str) -> list[str]:
        return [v for k, v in self.identifiers if k == kind]

    def token_forms(self) -> list[tuple[str, str]]:
        """``(kind, form)`` of every identifier, as tokens hash them. A user or anonymous id
        is given in both kinds: a ``previousId`` can come back in either field."""
        out: set[tuple[str, str]] = set()
        for kind, value in self.identifiers:
            if kind in ID_KINDS:
                out.update((k, value) for k in ID_KINDS)
            else:
                out.add((kind, value if self.hashed else hash_value(value)))
        return sorted(out)

    def trait_values(self) -> list[tuple[str, str]]:
        """Plain ``(kind, value)`` of the trait identifiers (none when stored hashed)."""
        if self.hashed:
            return []
        return [(k, v) for k, v in self.identifiers if k not in ID_KINDS]


def find_person(engine: Engine, key: str) -> Person:
    """The person ``key`` belongs to; :class:`~journeylens.errors.NotFoundError` if nobody."""
    customer_id = customer_of(engine, key)
    rows = engine.rows(
        "SELECT DISTINCT kind, value FROM identity_identifiers WHERE customer_id = ? "
        "ORDER BY kind, value",
        [customer_id],
    )
    customer_key = engine.scalar(
        "SELECT customer_key FROM _identity_reps WHERE customer_id = ?", [customer_id]
    )
    config = stored_config(engine)
    return Person(
        customer_id=customer_id,
        customer_key=customer_key,
        identifiers=tuple((r["kind"], r["value"]) for r in rows),
        hashed=bool(config and config.hash_identifiers),
    )


def _trait_texts(engine: Engine, person: Person) -> list[tuple[str, list[str]]]:
    """``(JSON pointer, raw texts)`` per configured trait identifier: the texts stored events
    carry that normalise (and hash, if configured) to one of the person's values."""
    config = stored_config(engine)
    if config is None:
        return []
    out: list[tuple[str, list[str]]] = []
    kinds = trait_kinds_table(config.identifiers).to_pylist()
    for row in kinds:
        wanted = {v for k, v in person.identifiers if k == row["kind"]}
        if not wanted:
            continue
        texts = engine.arrow(
            f"SELECT DISTINCT json_extract_string({PERSON_TRAITS}, ?) AS raw FROM events "
            "WHERE raw IS NOT NULL",
            [row["pointer"]],
        ).column("raw")
        raws = [t for t in texts.to_pylist() if stored_value(row["kind"], t, config) in wanted]
        if raws:
            out.append((row["pointer"], raws))
    return out


def person_events(engine: Engine, person: Person) -> pa.Table:
    """``event_id`` of every stored event of the person (distinct)."""
    users, anons = person.ids(USER_ID), person.ids(ANONYMOUS_ID)
    either = users + anons
    query = (
        "SELECT event_id FROM events WHERE list_contains(?::VARCHAR[], user_id) "
        "OR list_contains(?::VARCHAR[], anonymous_id) "
        "OR list_contains(?::VARCHAR[], previous_id)"
    )
    params: list[object] = [users, anons, either]
    for pointer, raws in _trait_texts(engine, person):
        query += f" OR list_contains(?::VARCHAR[], json_extract_string({PERSON_TRAITS}, ?))"
        params += [raws, pointer]
    if engine.table_exists("customer_events"):
        query += " UNION SELECT event_id FROM customer_events WHERE customer_id = ?"
        params.append(person.customer_id)
    return engine.arrow(f"SELECT DISTINCT event_id FROM ({query})", params)
