"""journeylens: customer-journey analytics and management.

>>> import journeylens
>>> sorted(journeylens.__all__)[:3]
['ChannelRule', 'ConfigError', 'IdentityConfig']
"""

from journeylens.config import ChannelRule, IdentityConfig, Settings, WorkspaceConfig
from journeylens.errors import (
    ConfigError,
    InputError,
    JourneyLensError,
    MappingError,
    NotFoundError,
    RecordError,
    StorageError,
    UnsupportedError,
)
from journeylens.workspace import Summary, Workspace, WriteReport, create_workspace, open_workspace

__version__ = "0.1.0"

__all__ = [
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
]
