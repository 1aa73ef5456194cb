"""The public surface is curated: ``journeylens.__all__`` is exactly what we mean to export."""

from __future__ import annotations

import journeylens

EXPECTED = {
    "ChannelRule",
    "ConfigError",
    "IdentityConfig",
    "InputError",
    "JourneyLensError",
    "MappingError",
    "NotFoundError",
    "RecordError",
    "Settings",
    "StorageError",
    "Summary",
    "UnsupportedError",
    "Workspace",
    "WorkspaceConfig",
    "WriteReport",
    "create_workspace",
    "open_workspace",
}


def test_all_is_curated_and_importable() -> None:
    assert set(journeylens.__all__) == EXPECTED
    for name in journeylens.__all__:
        assert getattr(journeylens, name) is not None


def test_no_private_names_exported() -> None:
    assert not [n for n in journeylens.__all__ if n.startswith("_")]
