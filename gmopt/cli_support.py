"""Small helpers shared by every subcommand: JSON output and turning known errors into messages."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import typer

from engine import SimulationError
from gmopt.floats import encode_floats
from lut.technology import UnknownTechnology

# --workers of every command that simulates a built-in topology (optimizer.evaluation.simulation_backend)
WORKERS_HELP = "Simulating processes: this one and N-1 worker processes."


def start_workers_early(workers: int, dask: str | None = None) -> None:
    """Start the server that local worker processes are forked from (``engine.processes``) now,
    when the command will have some: its imports (0.45 s) then overlap this process's own."""
    if workers > 1 and not dask:
        from engine.processes import prestart

        prestart()


def print_json(data: Any) -> None:
    """JSON as the API writes it: inf and NaN as the strings of ``gmopt.floats``."""
    typer.echo(json.dumps(encode_floats(data), indent=2, default=float))


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Bad input becomes one red line and exit code 2, never a traceback."""
    try:
        yield
    except (UnknownTechnology, ValueError, FileNotFoundError, ConnectionError, SimulationError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from exc
