"""The query API (read or admin token): summary, sources, a customer's profile and timeline.

Each request opens the store for a moment (loading what was journaled first), so it sees every
event acknowledged before it, and waits at most ``read_timeout_seconds`` for a CLI command that
holds the store (503 with ``Retry-After`` after that).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from journeylens.server.auth import require

__all__ = ["router"]

router = APIRouter(prefix="/v1/query", tags=["query"])


def _run(request: Request, work: Any) -> Any:
    state = request.app.state.jl
    return state.gate.run(work, timeout=state.config.read_timeout_seconds)


@router.get("/summary", summary="Counts of events, identifiers and sources")
def summary(request: Request) -> dict[str, Any]:
    require(request, "read", "admin")
    result: dict[str, Any] = _run(request, lambda ws: ws.summary().to_dict())
    return result


@router.get("/sources", summary="Sources with their data party and event counts")
def sources(request: Request) -> list[dict[str, Any]]:
    require(request, "read", "admin")
    result: list[dict[str, Any]] = _run(request, lambda ws: ws.sources())
    return result


@router.get("/profiles/{key}", summary="The profile of the customer an identifier belongs to")
def profile(request: Request, key: str) -> dict[str, Any]:
    require(request, "read", "admin")
    result: dict[str, Any] = _run(request, lambda ws: ws.profile(key).to_dict())
    return result


@router.get("/timeline/{key}", summary="A customer's touchpoints in time order")
def timeline(
    request: Request, key: str, limit: Annotated[int | None, Query(ge=1, le=100_000)] = None
) -> dict[str, Any]:
    require(request, "read", "admin")
    result: dict[str, Any] = _run(request, lambda ws: ws.timeline(key, limit=limit).to_dict())
    return result
