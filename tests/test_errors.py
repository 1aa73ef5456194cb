from __future__ import annotations

import pytest

from journeylens import errors


def test_tree_inherits_builtins() -> None:
    assert issubclass(errors.ConfigError, ValueError)
    assert issubclass(errors.RecordError, errors.InputError)
    assert issubclass(errors.RecordError, ValueError)
    assert issubclass(errors.NotFoundError, LookupError)
    assert issubclass(errors.UnsupportedError, NotImplementedError)
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.JourneyLensError)


def test_codes_are_stable_and_distinct() -> None:
    codes = {getattr(errors, n).code for n in errors.__all__}
    assert len(codes) == len(errors.__all__)
    assert errors.RecordError.code == "record_invalid"


def test_to_dict_shape() -> None:
    error = errors.RecordError("ts: bad", row=3, field="ts", value="x", file="a.csv")
    assert error.to_dict() == {
        "code": "record_invalid",
        "message": "ts: bad",
        "file": "a.csv",
        "row": 3,
        "field": "ts",
        "value": "x",
    }
    with pytest.raises(ValueError, match="ts: bad"):
        raise error
