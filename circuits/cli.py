"""``gmopt circuit check FILE``: validate a circuit package and print its rendered subcircuit."""

from __future__ import annotations

from pathlib import Path

import typer

from circuits.model import CircuitError, load_circuit
from circuits.parse import NetlistError
from circuits.render import render_subckt
from lut.technology import UnknownTechnology, get_technology

circuit_app = typer.Typer(help="Circuit packages of your own (YAML or JSON): check them.", no_args_is_help=True)


@circuit_app.command("check")
def check(
    file: Path = typer.Argument(..., help="The circuit package, a YAML or JSON file."),
    tech: str = typer.Option("generic180", "--tech", help="Technology to render for (gmopt tech list)."),
) -> None:
    """Validate FILE and print the subcircuit rendered for the technology; a refusal is one line
    with the file and netlist line and the reason (exit code 1)."""
    try:
        circuit = load_circuit(file)
        text = render_subckt(circuit, get_technology(tech))
    except NetlistError as exc:  # found while binding to the technology: the netlist line is known
        typer.secho(f"error: {file} {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from exc
    except (CircuitError, UnknownTechnology, ValueError) as exc:
        typer.secho(f"error: {exc}" if isinstance(exc, CircuitError) else f"error: {file}: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(text, nl=False)


def register(app: typer.Typer) -> None:
    app.add_typer(circuit_app, name="circuit")
