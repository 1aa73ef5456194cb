"""Identity resolution: identifiers → customers, profiles with merged traits, accounts (B2B).

(Being written.)
"""

from __future__ import annotations

from typing import Any

from journeylens.config import IdentityConfig
from journeylens.engines.base import Engine

__all__ = ["get_profile", "resolve", "timeline"]


def resolve(engine: Engine, config: IdentityConfig, *, full: bool = False) -> Any:
    raise NotImplementedError


def get_profile(engine: Engine, key: str) -> Any:
    raise NotImplementedError


def timeline(engine: Engine, key: str, *, limit: int | None = None) -> Any:
    raise NotImplementedError
