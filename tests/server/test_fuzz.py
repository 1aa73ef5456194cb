"""schemathesis over the server's OpenAPI description: no input makes it answer 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

import journeylens
from tests.server.conftest import Running, start_server, stop_server


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("fuzz") / "ws"
    journeylens.create_workspace(folder).close()
    running = start_server(folder)
    yield running
    stop_server(running)


def _fuzz(operation: Any, base_url: str, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=8,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers)
        assert response.status_code < 500, (case.path, response.text)
        assert response.status_code in (200, 400, 401, 404, 413, 429), response.text

    check()


@pytest.mark.slow
def test_no_input_makes_a_5xx(fuzzed: Running) -> None:
    # schemathesis' pytest plugin does not run on pytest 9: its strategies drive Hypothesis here
    schema = schemathesis.openapi.from_url(f"{fuzzed.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        admin = operation.path.startswith(("/v1/query", "/v1/privacy"))
        key = fuzzed.admin_key if admin else fuzzed.write_key
        _fuzz(operation, fuzzed.url, {"Authorization": f"Bearer {key}"})
