"""The HTTP server: ingestion compatible with the Segment, RudderStack and PostHog SDKs, a query
API and privacy requests (docs/server.md). Start it with ``journeylens serve`` or
:func:`serve`; build the app for tests or another ASGI server with :func:`create_app`.
"""

from journeylens.server.app import create_app
from journeylens.server.config import ServerConfig
from journeylens.server.keys import CreatedKey, Key, KeyStore
from journeylens.server.run import serve

__all__ = ["CreatedKey", "Key", "KeyStore", "ServerConfig", "create_app", "serve"]
