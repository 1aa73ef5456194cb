"""Shared SQL building blocks (sqlglot expressions) and the per-dialect table.

This package is the only home of SQL helpers. Domain packages build expressions with these
helpers; the engines render them for their dialect (``render``) and run them.
"""

from journeylens.sql.build import col, lit, table
from journeylens.sql.ddl import create_table
from journeylens.sql.dialects import DIALECTS, Dialect, render

__all__ = ["DIALECTS", "Dialect", "col", "create_table", "lit", "render", "table"]
