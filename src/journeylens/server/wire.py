"""The wire formats of the SDKs: request bodies → Segment-Spec messages.

* Segment and RudderStack (``/v1/batch`` and ``/v1/track|identify|page|screen|group|alias``,
  with the browser's one-letter forms): the write key is the HTTP Basic user name (empty
  password) or ``writeKey`` in the body; a batch's top-level ``context`` and ``integrations``
  are merged into each message (the message's own keys win). RudderStack's ``channel``
  (``server``, ``web``, ``mobile``: the platform) moves to ``context.channel``.
* PostHog (``/batch/``, ``/capture/``, ``/i/v0/e/``): ``api_key`` (or ``token``) in the body or
  a Bearer token; events are turned into Segment-Spec messages by :func:`posthog_message`.

Nothing here touches the store; errors are :class:`~journeylens.errors.InputError` whose
``to_dict()`` is the JSON body of the 400 answer.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any, Final

import orjson

from journeylens.errors import InputError

__all__ = [
    "BodyTooLarge",
    "decode_body",
    "key_from_headers",
    "posthog_messages",
    "segment_messages",
]

SEGMENT_TYPES: Final = {
    "track": "track", "t": "track", "identify": "identify", "i": "identify",
    "page": "page", "p": "page", "screen": "screen", "s": "screen",
    "group": "group", "g": "group", "alias": "alias", "a": "alias",
}  # fmt: skip
"""Route name → message type (``/v1/t`` is what analytics.js posts for ``track``)."""


class BodyTooLarge(Exception):
    """The (decompressed) body is above the limit: answered with 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def decode_body(body: bytes, encoding: str | None, limit: int) -> Any:
    """The JSON value of a request body, gunzipped (or inflated) first when its
    ``Content-Encoding`` says so; raises :class:`BodyTooLarge` past ``limit`` bytes."""
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("gzip", "deflate"):
        wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
        inflater = zlib.decompressobj(wbits)
        try:
            body = inflater.decompress(body, limit + 1)
        except zlib.error as exc:
            raise InputError(
                f"body: Content-Encoding is {encoding} but the body does not inflate ({exc})",
                field="body",
            ) from None
        if len(body) > limit or inflater.unconsumed_tail:
            raise BodyTooLarge(limit)
    elif encoding != "identity":
        raise InputError(
            f"Content-Encoding: {encoding!r} is not supported; send gzip, deflate or plain JSON",
            field="Content-Encoding",
        )
    if len(body) > limit:
        raise BodyTooLarge(limit)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"body: not valid JSON ({exc})", field="body") from None


def key_from_headers(authorization: str | None) -> str | None:
    """The key in an ``Authorization`` header: Basic (user name, any password) or Bearer."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return value.strip() or None
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0] or None
    return None


def _body_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InputError(
            f"body: expected a JSON object ({{...}}), got {type(body).__name__}", field="body"
        )
    return body


def _merged(message: Any, context: Any, integrations: Any) -> Any:
    """``message`` with the batch's ``context``/``integrations`` under its own keys."""
    if not isinstance(message, dict):
        return message
    out = message
    if isinstance(context, dict) and context:
        own = message.get("context")
        out = {**out, "context": {**context, **own} if isinstance(own, dict) else context}
    if isinstance(integrations, dict) and integrations:
        own = message.get("integrations")
        merged = {**integrations, **own} if isinstance(own, dict) else integrations
        out = {**out, "integrations": merged}
    return out


_SDK_PLATFORMS: Final = frozenset({"server", "web", "mobile", "android", "ios", "sources"})
"""Values RudderStack SDKs put in a message's ``channel`` (the platform that sent it), which
are no marketing channel: they move to ``context.channel``."""


def _platform_channel(message: Any) -> Any:
    if not isinstance(message, dict):
        return message
    channel = message.get("channel")
    if not isinstance(channel, str) or channel.strip().lower() not in _SDK_PLATFORMS:
        return message
    out = {k: v for k, v in message.items() if k != "channel"}
    context = out.get("context")
    if context is None or isinstance(context, dict):
        out["context"] = {**(context or {}), "channel": channel}
    return out


def segment_messages(body: Any, route_type: str | None) -> tuple[list[Any], str | None]:
    """(messages, writeKey in the body) of a Segment/RudderStack request.

    ``route_type`` is the type the route implies (``None`` for a batch); a single message
    without a ``type`` takes it.
    """
    body = _body_object(body)
    write_key = body.get("writeKey") if isinstance(body.get("writeKey"), str) else None
    if route_type is None:
        batch = body.get("batch")
        if not isinstance(batch, list):
            raise InputError(
                'batch: missing or not a list; send {"batch": [message, ...]}', field="batch"
            )
        sent_at = body.get("sentAt")
        context, integrations = body.get("context"), body.get("integrations")
        messages = [_platform_channel(_merged(m, context, integrations)) for m in batch]
        if sent_at is not None:
            messages = [
                {**m, "sentAt": sent_at} if isinstance(m, dict) and "sentAt" not in m else m
                for m in messages
            ]
        return messages, write_key
    message = {k: v for k, v in body.items() if k != "writeKey"}
    message.setdefault("type", route_type)
    return [_platform_channel(message)], write_key


# -- PostHog -------------------------------------------------------------------------------


def posthog_messages(body: Any) -> tuple[list[Any], str | None]:
    """(Segment-Spec messages, api_key) of a PostHog ``/batch/``, ``/capture/`` or
    ``/i/v0/e/`` body: ``{"api_key", "batch": [...]}``, one event, or a list of events."""
    if isinstance(body, list):
        events, api_key, sent_at = body, None, None
    else:
        body = _body_object(body)
        api_key = body.get("api_key") or body.get("token")
        sent_at = body.get("sent_at")
        if "batch" in body:
            events = body["batch"]
            if not isinstance(events, list):
                raise InputError('batch: not a list; send {"batch": [event, ...]}', field="batch")
        else:
            events = [body]
    if not isinstance(api_key, str):
        found = [
            k
            for e in events
            if isinstance(e, dict)
            for k in (e.get("api_key"), e.get("token"))
            if isinstance(k, str)
        ]
        api_key = found[0] if found else None
    return [posthog_message(e, sent_at) for e in events], api_key


_PAGE_PROPERTIES: Final = {
    "$current_url": "url", "$referrer": "referrer", "$pathname": "path", "$title": "title",
}  # fmt: skip


def posthog_message(event: Any, sent_at: Any = None) -> Any:
    """One PostHog event as a Segment-Spec message.

    * ``distinct_id`` → ``userId`` (``$anon_distinct_id`` → ``anonymousId``); ``uuid`` →
      ``messageId``; ``timestamp`` and the batch's ``sent_at`` as in Segment.
    * ``$identify`` and ``$set`` → ``identify`` with the ``$set`` properties as traits;
      ``$pageview`` → ``page`` (``$current_url`` → ``url``…); ``$screen`` → ``screen``;
      ``$create_alias`` → ``alias`` (``distinct_id`` is the previous id, ``alias`` the new
      one); ``$groupidentify`` → ``group``; any other event → ``track``.

    Anything that is not an object is returned as is, for the validation to reject.
    """
    if not isinstance(event, dict):
        return event
    name = event.get("event")
    raw_properties = event.get("properties")
    properties = dict(raw_properties) if isinstance(raw_properties, dict) else {}
    distinct = event.get("distinct_id", properties.get("distinct_id"))
    message: dict[str, Any] = {
        "userId": distinct,
        "anonymousId": properties.get("$anon_distinct_id"),
        "timestamp": event.get("timestamp"),
        "context": {"library": {"name": properties.get("$lib") or "posthog",
                                "version": properties.get("$lib_version")}},
    }  # fmt: skip
    if event.get("uuid") is not None:
        message["messageId"] = event["uuid"]
    sent = event.get("sent_at", sent_at)
    if sent is not None:
        message["sentAt"] = sent
    set_traits = event.get("$set", properties.get("$set"))  # posthog.set() puts it on top
    if isinstance(set_traits, dict) and set_traits:
        message["context"]["traits"] = set_traits
    if name in ("$identify", "$set"):
        message.update(type="identify", traits=set_traits if isinstance(set_traits, dict) else {})
    elif name == "$pageview":
        page = {_PAGE_PROPERTIES.get(k, k): v for k, v in properties.items()}
        message.update(type="page", properties=page)
    elif name == "$screen":
        message.update(type="screen", name=properties.get("$screen_name"), properties=properties)
    elif name == "$create_alias":
        message.update(type="alias", previousId=distinct, userId=properties.get("alias"))
    elif name == "$groupidentify":
        group_set = properties.get("$group_set")
        message.update(
            type="group",
            groupId=properties.get("$group_key"),
            traits=group_set if isinstance(group_set, dict) else {},
        )
    else:
        message.update(type="track", event=name, properties=properties)
    return message
