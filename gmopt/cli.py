"""The ``gmopt`` command: one entry point; each package adds its own subcommands."""

from __future__ import annotations

import typer

from app import cli as service_cli
import circuits.cli
import lut.cli
import memristor.cli
import mismatch.cli
import neuromorphic.cli
import optimizer.cli
import ota.cli

app = typer.Typer(
    name="gmopt",
    help="Multi-objective analog sizing: gm/ID look-up tables, OTA testbenches on ngspice, NSGA-II.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

for module in (lut.cli, ota.cli, service_cli, neuromorphic.cli, optimizer.cli, memristor.cli, mismatch.cli, circuits.cli):
    module.register(app)


@app.command()
def version() -> None:
    """Print gmopt's and ngspice's versions."""
    from engine import ngspice_version
    from gmopt import __version__

    typer.echo(f"gmopt {__version__}, ngspice {ngspice_version()}")


if __name__ == "__main__":
    app()
