"""Typed settings: the process settings (environment, prefix ``JOURNEYLENS_``) and the settings of
one workspace (``journeylens.yaml`` in its folder).

Both are built once and passed down; nothing reads the environment or a file at import time.

Environment::

    JOURNEYLENS_WORKSPACE      folder used when a command names none
                               (default ./journeylens-workspace)
    JOURNEYLENS_THREADS        engine threads (default: all cores)
    JOURNEYLENS_MEMORY_LIMIT   engine memory cap, e.g. "8GB" (default: the engine's own)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from journeylens.errors import ConfigError

__all__ = [
    "ChannelRule",
    "IdentityConfig",
    "Settings",
    "WorkspaceConfig",
    "load_workspace_config",
    "save_workspace_config",
]

WORKSPACE_FILE = "journeylens.yaml"
M = TypeVar("M", bound=BaseModel)


class Settings(BaseSettings):
    """Process-wide settings, read from ``JOURNEYLENS_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="JOURNEYLENS_", extra="ignore")

    workspace: Path = Path("journeylens-workspace")
    threads: int | None = Field(default=None, ge=1)
    memory_limit: str | None = None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelRule(_Strict):
    """A user rule, tried before the default grouping: every given condition must hold.

    Conditions are case-insensitive regular expressions matched against the whole value.
    """

    channel: str = Field(min_length=1)
    source: str | None = None
    """journeylens source name (the system that delivered the event)."""
    event: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    referrer_host: str | None = None


class IdentityConfig(_Strict):
    """How identifiers link events into one customer (see docs/identity.md)."""

    identifiers: tuple[str, ...] = ("email", "phone")
    """Trait keys whose values identify a person. ``email`` and ``phone`` are normalised."""
    blocklist: tuple[str, ...] = ()
    """Identifier values never used for linking (after normalisation), e.g. a shop's own email."""
    max_links: int = Field(default=50, ge=1)
    """An identifier seen with more than this many distinct user/anonymous ids links none."""
    max_user_links: int = Field(default=500, ge=1)
    """A user id seen with more than this many distinct anonymous ids links none (higher than
    ``max_links``: one person collects many cookie ids over the years)."""
    hash_identifiers: bool = False
    """Store email, phone and custom identifiers as SHA-256 hashes in the identity tables."""
    phone_region: str = "IT"
    """Region assumed for phone numbers written without an international prefix."""


class WorkspaceConfig(_Strict):
    """Settings of one workspace, stored as ``journeylens.yaml`` in its folder."""

    name: str = "journeylens"
    engine: Literal["duckdb"] = "duckdb"
    timezone: str = "UTC"
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    week_start: Literal["monday", "sunday"] = "monday"
    locale: str = "en"
    identity: IdentityConfig = IdentityConfig()
    channel_rules: tuple[ChannelRule, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. Europe/Rome)") from exc
        return value


def load_workspace_config(folder: Path) -> WorkspaceConfig:
    path = folder / WORKSPACE_FILE
    if not path.exists():
        return WorkspaceConfig()
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}", file=str(path)) from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings", file=str(path))
    return parse_config(raw, WorkspaceConfig, str(path))


def save_workspace_config(folder: Path, config: WorkspaceConfig) -> None:
    data = config.model_dump(mode="json", exclude_defaults=False)
    (folder / WORKSPACE_FILE).write_text(
        yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )


def parse_config(raw: dict[str, Any], model: type[M], file: str) -> M:
    """Validate ``raw`` as ``model``; the first problem becomes a ConfigError naming the field."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{file}: {field}: {first['msg']}", file=file, field=field) from exc
