"""docker-compose.yml cannot run here (no Docker): check that every command and variable it uses exists."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer
import yaml

from gmopt.cli import app as gmopt_app
from gmopt.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
OURS = {name: service for name, service in SERVICES.items() if "build" in service}


def resolve_defaults(value: str) -> str:
    """Compose's ``${NAME:-default}`` with nothing set in the environment."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))


def test_the_stack_has_api_worker_postgres_and_an_optional_dask_cluster() -> None:
    assert {"api", "worker", "postgres", "dask-scheduler", "dask-worker"} <= set(SERVICES)
    assert SERVICES["dask-scheduler"]["profiles"] == ["dask"] and SERVICES["dask-worker"]["profiles"] == ["dask"]
    assert "ports" not in SERVICES["worker"] and "container_name" not in SERVICES["worker"]  # scalable
    assert (ROOT / "Dockerfile").is_file()


@pytest.mark.parametrize("name", sorted(name for name, s in OURS.items() if s["command"][0] == "gmopt"))
def test_gmopt_commands_exist_with_their_options(name: str) -> None:
    command = typer.main.get_command(gmopt_app)
    args = list(SERVICES[name]["command"][1:])
    while isinstance(command, click.Group):
        command = command.commands[args.pop(0)]
    command.make_context(name, args)  # raises click.UsageError on an unknown option or bad value


@pytest.mark.parametrize("name", sorted(name for name, s in OURS.items() if s["command"][0] == "dask"))
def test_dask_commands_exist_in_the_environment(name: str) -> None:
    program, subcommand = SERVICES[name]["command"][:2]
    dask = Path(sys.executable).with_name(program)
    assert subprocess.run([str(dask), subcommand, "--help"], capture_output=True, timeout=60).returncode == 0


@pytest.mark.parametrize("name", sorted(OURS))
def test_every_variable_is_a_known_setting_with_a_valid_value(name: str) -> None:
    environment = {key: resolve_defaults(value) for key, value in OURS[name].get("environment", {}).items()}
    fields = {}
    for key, value in environment.items():
        assert key.startswith("GMOPT_"), f"{name} sets {key}, which gmopt does not read"
        field = key.removeprefix("GMOPT_").lower()
        assert field in Settings.model_fields, f"{name} sets {key}, but Settings has no field {field!r}"
        fields[field] = value
    Settings(**fields)  # every value passes the settings' validation
