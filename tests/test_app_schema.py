"""Schemathesis over the OpenAPI schema of a real ``gmopt serve``: no input gives a server error.

POST /luts is left out: a valid request builds a full gm/ID table (tens of seconds), which is
tested in test_app_api.py; every other operation is fuzzed, positive and negative cases.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from app.main import create_app
from tests.service import api_server, service_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("schemathesis")
    env = service_env(data_dir=folder, database_url="", evaluate_timeout_s=30, max_queued_runs=10_000,
                      max_active_runs_per_token=10_000)
    with api_server(env, folder / "api.log") as url:
        yield url


SCHEMA = schemathesis.openapi.from_dict(create_app().openapi())
OPERATIONS = {op.label: op for op in (result.ok() for result in SCHEMA.get_all_operations()) if op.label != "POST /luts"}
CASES = [
    (label, mode) for label, op in sorted(OPERATIONS.items()) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or {"parameters", "requestBody"} & set(op.definition.raw)  # no input, no invalid input
]


# schemathesis' own pytest plugin does not run on pytest 9 yet: one hypothesis test per operation instead.
@pytest.mark.parametrize(("label", "mode"), CASES, ids=[f"{label} {mode.value}" for label, mode in CASES])
def test_no_input_makes_the_server_fail(api_url: str, label: str, mode: GenerationMode) -> None:
    @given(case=OPERATIONS[label].as_strategy(generation_mode=mode))
    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def call(case: schemathesis.Case) -> None:
        response = case.call(base_url=api_url, timeout=60)
        case.validate_response(response, checks=[not_a_server_error])

    call()
