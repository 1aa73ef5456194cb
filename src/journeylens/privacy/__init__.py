"""Privacy requests (GDPR): delete, suppress, suppress-and-delete, unsuppress, export, audit.

A request names one identifier — a customer id (``c-…``), a user id, an anonymous id, an email
or a phone — and covers the person it belongs to with every identifier linked to them.
Suppressed identities are dropped when events are stored (the event store calls
:func:`~journeylens.privacy.suppression.drop_suppressed`), and a server can check messages
without opening the store (:class:`SuppressionFilter`). docs/privacy.md has the details.

>>> import tempfile, journeylens
>>> with journeylens.create_workspace(tempfile.mkdtemp() + "/ws") as ws:
...     _ = ws.append_messages([
...         {"type": "identify", "anonymousId": "a1", "userId": "u1",
...          "traits": {"email": "mario@example.it"}, "timestamp": "2026-11-02T10:00:00Z"},
...         {"type": "track", "event": "purchase", "userId": "u2",
...          "timestamp": "2026-11-02T11:00:00Z"}], source="web")
...     request = ws.privacy.delete("MARIO@example.it")
...     (request.events_deleted, ws.summary().events, ws.privacy.requests()[0].action)
(1, 1, 'delete')
"""

from journeylens.privacy.api import ACTIONS, Privacy, PrivacyRequest
from journeylens.privacy.suppression import SuppressionFilter

__all__ = ["ACTIONS", "Privacy", "PrivacyRequest", "SuppressionFilter"]
