"""Bearer tokens for the query API (read or admin) and privacy requests (admin)."""

from __future__ import annotations

from fastapi import HTTPException, Request

from journeylens.server.keys import Key, KeyKind
from journeylens.server.wire import key_from_headers

__all__ = ["require"]


def require(request: Request, *kinds: KeyKind) -> Key:
    """The live key of the request's ``Authorization`` header, if of one of ``kinds``; 401
    otherwise."""
    secret = key_from_headers(request.headers.get("authorization"))
    key: Key | None = request.app.state.jl.keys.verify(secret, *kinds)
    if key is None:
        wanted = " or ".join(kinds)
        raise HTTPException(
            401,
            f"send a live {wanted} token as 'Authorization: Bearer TOKEN'; create one with "
            f"`journeylens keys create --kind {kinds[0]}`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return key
