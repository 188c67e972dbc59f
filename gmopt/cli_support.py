"""Small helpers shared by every subcommand: JSON output and turning known errors into messages."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from typing import Any

import typer

from engine import SimulationError
from lut.technology import UnknownTechnology


def _clean(value: Any) -> Any:
    """JSON has no inf/NaN: write them as null so every consumer can parse the output."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(item) for item in value]
    return value


def print_json(data: Any) -> None:
    typer.echo(json.dumps(_clean(data), indent=2, default=float))


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Bad input becomes one red line and exit code 2, never a traceback."""
    try:
        yield
    except (UnknownTechnology, ValueError, FileNotFoundError, SimulationError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from exc
