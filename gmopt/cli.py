"""The ``gmopt`` command: one entry point; each package adds its own subcommands."""

from __future__ import annotations

import multiprocessing

import typer

app = typer.Typer(
    name="gmopt",
    help="Multi-objective analog sizing: gm/ID look-up tables, OTA testbenches on ngspice, NSGA-II.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    """Every package's subcommands (importing their modules: the service, circuits, memristor ...)."""
    from app import cli as service_cli
    import circuits.cli
    import lut.cli
    import memristor.cli
    import mismatch.cli
    import neuromorphic.cli
    import optimizer.cli
    import ota.cli

    for module in (lut.cli, ota.cli, service_cli, neuromorphic.cli, optimizer.cli, memristor.cli, mismatch.cli, circuits.cli):
        module.register(app)


# A worker's start re-runs the console script, which imports this module, and never runs a
# command: the fork server that simulation workers come from (engine.processes), a spawned Dask
# worker. It skips the subcommands' modules, 0.2-0.4 s of imports (docs/benchmarks.md).
# ``_inheriting`` is set during that start-up phase (multiprocessing's own check of it:
# spawn._check_not_importing_main).
if not getattr(multiprocessing.current_process(), "_inheriting", False):
    _register_commands()


@app.command()
def version() -> None:
    """Print gmopt's and ngspice's versions."""
    from engine import ngspice_version
    from gmopt import __version__

    typer.echo(f"gmopt {__version__}, ngspice {ngspice_version()}")


if __name__ == "__main__":
    app()
