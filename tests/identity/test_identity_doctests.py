"""The examples in the identity docstrings run."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

import journeylens.identity
import journeylens.identity.identifiers


@pytest.mark.parametrize("module", [journeylens.identity, journeylens.identity.identifiers])
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
