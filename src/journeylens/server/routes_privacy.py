"""Privacy requests over HTTP (admin token): delete, suppress, suppress-and-delete, unsuppress,
export, and the audit log. They run the library's ``Workspace.privacy`` (docs/privacy.md).

Before a request runs, the open journal segment is sealed and every acknowledged event is
loaded into the store, so a deletion covers events sent up to that moment; the journal
segments that held them are removed once loaded.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from journeylens.server.auth import require

__all__ = ["router"]

router = APIRouter(prefix="/v1/privacy", tags=["privacy"])

Action = Literal["delete", "suppress", "suppress_delete", "unsuppress"]
_METHOD = {
    "delete": "delete",
    "suppress": "suppress",
    "suppress_delete": "suppress_and_delete",
    "unsuppress": "unsuppress",
}


class PrivacyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identifier: str = Field(min_length=1, max_length=1000)
    """A customer id, user id, anonymous id, email or phone."""


def _run(request: Request, work: Any) -> Any:
    state = request.app.state.jl
    state.ingestor.committer.rotate()  # seal: the loaded segment can then be deleted
    return state.gate.run(work, timeout=state.config.read_timeout_seconds)


@router.post("/requests/{action}", summary="Run a privacy request")
def run_request(request: Request, action: Action, body: PrivacyBody) -> dict[str, Any]:
    key = require(request, "admin")
    by = f"http:{key.name}"

    def work(ws: Any) -> dict[str, Any]:
        result: dict[str, Any] = getattr(ws.privacy, _METHOD[action])(body.identifier, by).to_dict()
        return result

    result: dict[str, Any] = _run(request, work)
    return result


@router.post("/export", summary="Everything held about a person (right of access)")
def export(request: Request, body: PrivacyBody) -> dict[str, Any]:
    require(request, "admin")
    result: dict[str, Any] = _run(request, lambda ws: ws.privacy.export(body.identifier))
    return result


@router.get("/requests", summary="The audit log of privacy requests")
def requests(request: Request) -> list[dict[str, Any]]:
    require(request, "admin")
    result: list[dict[str, Any]] = _run(
        request, lambda ws: [r.to_dict() for r in ws.privacy.requests()]
    )
    return result
