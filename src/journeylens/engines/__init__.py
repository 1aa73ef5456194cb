"""Where connections live. Analyses and domain packages never open a connection of their own:
they build sqlglot expressions, and an :class:`Engine` renders and runs them.

The embedded default is DuckDB (one file in the workspace folder). ClickHouse and Spark engines
come as optional extras with the same interface.
"""

from journeylens.engines.base import Engine
from journeylens.engines.duckdb import DuckDBEngine

__all__ = ["DuckDBEngine", "Engine"]
