"""Ingestion routes: Segment and RudderStack (``/v1/…``) and PostHog (``/batch/``, ``/capture/``,
``/i/v0/e/``).

Answers: exactly **200** once every valid event is durable (journaled and fsynced); **400**
with the list of rejected events and why, the valid events of the batch being stored all the
same; **401** without a live write key; **413** when the body is above the limit; **429** with
``Retry-After`` when the server is overloaded. docs/server.md shows the bodies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request

from journeylens.errors import InputError
from journeylens.server.ingest import Accepted
from journeylens.server.responses import JSONAnswer
from journeylens.server.wire import (
    SEGMENT_TYPES,
    BodyTooLarge,
    decode_body,
    key_from_headers,
    posthog_messages,
    segment_messages,
)

__all__ = ["router"]

router = APIRouter(tags=["ingestion"])

_MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": list(dict.fromkeys(SEGMENT_TYPES.values()))},
        "messageId": {"type": "string", "maxLength": 100},
        "userId": {"type": ["string", "null"]},
        "anonymousId": {"type": ["string", "null"]},
        "event": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
        "properties": {"type": "object"},
        "traits": {"type": "object"},
        "context": {"type": "object"},
    },
}
_SEGMENT_BATCH: dict[str, Any] = {
    "type": "object",
    "required": ["batch"],
    "properties": {
        "batch": {"type": "array", "items": _MESSAGE_SCHEMA},
        "sentAt": {"type": "string", "format": "date-time"},
        "writeKey": {"type": "string"},
        "context": {"type": "object"},
        "integrations": {"type": "object"},
    },
}
_POSTHOG_EVENT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "event": {"type": "string"},
        "distinct_id": {"type": "string"},
        "uuid": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
        "properties": {"type": "object"},
    },
}
_POSTHOG_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "api_key": {"type": "string"},
        "batch": {"type": "array", "items": _POSTHOG_EVENT},
        "sent_at": {"type": "string", "format": "date-time"},
    },
}
_ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}
_JSON_ERROR = {"application/json": {"schema": _ERROR}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "every valid event is durably stored"},
    400: {
        "description": "bad body, or some events rejected (listed); the valid ones are stored",
        "content": _JSON_ERROR,
    },
    401: {"description": "no live write key", "content": _JSON_ERROR},
    413: {"description": "body above the limit", "content": _JSON_ERROR},
    429: {"description": "overloaded; retry after `Retry-After` seconds"},
}


def _openapi(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


Extract = Callable[[Any], tuple[list[Any], str | None]]


async def _ingest(request: Request, extract: Extract) -> JSONAnswer:
    state = request.app.state.jl
    config = state.config
    ingestor = state.ingestor
    retry = {"Retry-After": str(config.retry_after_seconds)}
    if ingestor.inflight >= config.max_inflight or (
        state.loader.backlog() > config.max_backlog_bytes
    ):
        return JSONAnswer(
            {
                "code": "overloaded",
                "message": "the server is busy; send the batch again after Retry-After seconds",
            },
            status_code=429,
            headers=retry,
        )
    ingestor.inflight += 1
    try:
        try:
            raw = await _read_body(request, config.max_body_bytes)
            body = decode_body(raw, request.headers.get("content-encoding"), config.max_body_bytes)
            messages, body_key = extract(body)
        except BodyTooLarge as too_large:
            return JSONAnswer(
                {
                    "code": "payload_too_large",
                    "message": f"the body is above the limit of {too_large.limit} bytes; send "
                    "smaller batches",
                    "limit": too_large.limit,
                },
                status_code=413,
            )
        except InputError as error:
            return JSONAnswer(error.to_dict(), status_code=400)
        secret = key_from_headers(request.headers.get("authorization")) or body_key
        key = state.keys.verify(secret, "write")
        if key is None:
            what = "no write key was given" if not secret else "the write key is not valid"
            return JSONAnswer(
                {
                    "code": "unauthorized",
                    "message": f"{what}; send a live write key as the Basic user name, as "
                    "writeKey (Segment) or api_key (PostHog). Create one with "
                    "`journeylens keys create --source NAME`",
                },
                status_code=401,
            )
        plain = request.headers.get("content-encoding", "identity").lower() == "identity"
        outcome = await ingestor.accept(
            messages,
            source=key.source or "http",
            data_party=key.data_party,
            body_bytes=len(raw) if plain else None,
        )
    finally:
        ingestor.inflight -= 1
    return _answer(outcome)


def _answer(outcome: Accepted) -> JSONAnswer:
    if not outcome.rejected:
        return JSONAnswer(
            {
                "success": True,
                "received": outcome.received,
                "accepted": outcome.journaled,
                "suppressed": outcome.suppressed,
            }
        )
    stored = outcome.journaled + outcome.suppressed
    return JSONAnswer(
        {
            "code": "events_rejected",
            "message": f"{len(outcome.rejected)} of {outcome.received} events rejected; the "
            f"other {stored} were accepted. Fix the listed events and send them again",
            "received": outcome.received,
            "accepted": outcome.journaled,
            "suppressed": outcome.suppressed,
            "rejected": [r.to_dict() for r in outcome.rejected],
        },
        status_code=400,
    )


def _segment(route_type: str | None) -> Extract:
    return lambda body: segment_messages(body, route_type)


@router.post(
    "/v1/batch", openapi_extra=_openapi(_SEGMENT_BATCH), responses=_RESPONSES,
    summary="Segment / RudderStack batch",
)  # fmt: skip
async def segment_batch(request: Request) -> JSONAnswer:
    return await _ingest(request, _segment(None))


@router.post("/v1/b", include_in_schema=False)
async def segment_batch_browser(request: Request) -> JSONAnswer:
    return await _ingest(request, _segment(None))


def _single_route(path: str, kind: str, documented: bool) -> None:
    async def single(request: Request) -> JSONAnswer:
        return await _ingest(request, _segment(kind))

    router.add_api_route(
        path,
        single,
        methods=["POST"],
        name=f"segment_{path.rsplit('/', 1)[1]}",
        summary=f"Segment / RudderStack {kind}",
        include_in_schema=documented,
        openapi_extra=_openapi(_MESSAGE_SCHEMA) if documented else None,
        responses=_RESPONSES,
    )


for _name, _kind in SEGMENT_TYPES.items():
    _single_route(f"/v1/{_name}", _kind, documented=len(_name) > 1)


def _posthog_route(path: str, documented: bool) -> None:
    async def posthog(request: Request) -> JSONAnswer:
        return await _ingest(request, posthog_messages)

    router.add_api_route(
        path,
        posthog,
        methods=["POST"],
        name="posthog_" + (path.strip("/").replace("/", "_") or "root"),
        summary=f"PostHog {path}",
        include_in_schema=documented,
        openapi_extra=_openapi(_POSTHOG_BODY) if documented else None,
        responses=_RESPONSES,
    )


for _path in ("/batch/", "/capture/", "/i/v0/e/", "/e/"):
    _posthog_route(_path, documented=_path != "/e/")
    _posthog_route(_path.rstrip("/"), documented=False)
