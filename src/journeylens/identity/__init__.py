"""Identity resolution: identifiers → customers, profiles with merged traits, accounts (B2B).

Events are stitched into customers by the identifiers they carry: ``identify`` and any event
with both ids link an anonymous id to a user id; ``alias`` links ``previousId`` to ``userId``;
the trait identifiers (``email`` and ``phone`` by default, normalised) link the events that
carry them. A runaway-merge guard keeps blocked values and identifiers shared by too many ids
from linking anything. docs/identity.md has the rules in full; :mod:`.graph` has them in short.

>>> import tempfile, journeylens
>>> with journeylens.create_workspace(tempfile.mkdtemp() + "/ws") as ws:
...     _ = ws.append_messages([
...         {"type": "page", "anonymousId": "a1", "timestamp": "2026-11-02T10:00:00Z"},
...         {"type": "identify", "anonymousId": "a1", "userId": "u1",
...          "traits": {"email": " Mario.Rossi@Example.IT "}, "timestamp": "2026-11-02T10:05:00Z"},
...         {"type": "track", "event": "purchase", "userId": "crm-9",
...          "traits": {"email": "mario.rossi@example.it"}, "timestamp": "2026-11-03T09:00:00Z"},
...     ], source="web")
...     result = ws.resolve_identities()
...     profile = ws.profile("MARIO.ROSSI@example.it")
...     (result.customers, profile.events, profile.identifiers["user_id"])
(1, 3, ('crm-9', 'u1'))

Tables written (docs/identity.md lists their columns): ``customer_events``, ``event_names``,
``customer_profiles``, ``accounts``, ``account_members`` and the views
``identity_identifiers``, ``identity_links`` (the audit), ``identity_quarantine``.
"""

from __future__ import annotations

from journeylens.identity.lookup import accounts, customer_of, get_profile, quarantined, timeline
from journeylens.identity.resolve import resolve
from journeylens.identity.results import Link, Listing, Profile, ResolveResult, Timeline

__all__ = [
    "Link",
    "Listing",
    "Profile",
    "ResolveResult",
    "Timeline",
    "accounts",
    "customer_of",
    "get_profile",
    "quarantined",
    "resolve",
    "timeline",
]
