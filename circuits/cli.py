"""``gmopt circuit check FILE``: validate a circuit package and print its rendered subcircuit;
``gmopt circuit add/list/show``: the circuits stored in the service's database; and
``gmopt evaluate --circuit FILE``: one design of a package on its bench."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from circuits.model import CircuitError, load_circuit
from circuits.parse import NetlistError
from circuits.render import render_subckt
from lut.technology import UnknownTechnology, get_technology

if TYPE_CHECKING:
    from circuits.model import Circuit

circuit_app = typer.Typer(help="Circuit packages of your own (YAML or JSON): check, add, list and show them.", no_args_is_help=True)


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


def _store():
    """The service's database (``GMOPT_DATABASE_URL``, else SQLite in the data dir), migrated."""
    from app.db import open_database

    return open_database()


def _refuse(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


@circuit_app.command("add")
def add(file: Path = typer.Argument(..., help="The circuit package, a YAML or JSON file.")) -> None:
    """Validate FILE and store it in the service's database: the same text again keeps its id; a
    changed text under the same name becomes a new version (runs keep the one they used)."""
    from circuits.library import from_text

    try:
        text = file.read_text(encoding="utf-8")
        from_text(text, str(file))  # a refusal costs no database
        from app import circuits as store

        record, created = store.add_circuit(_store(), text, source=str(file))
    except (OSError, UnicodeDecodeError) as exc:
        _refuse(f"cannot read {file}: {exc}")
    except CircuitError as exc:
        _refuse(str(exc))
    verb = "added" if created else "already stored as"
    typer.echo(f"{verb} circuit {record.name} id {record.id} sha256 {record.content_hash[:12]}")


@circuit_app.command("list")
def list_command() -> None:
    """The stored circuits, the newest version of each name."""
    from rich.console import Console
    from rich.table import Table

    from app import circuits as store
    from app.db import reader, session_scope

    table = Table(title="stored circuits")
    for column in ("id", "name", "testbench", "versions", "sha256", "added (UTC)"):
        table.add_column(column, no_wrap=True)
    table.add_column("description", no_wrap=True, overflow="ellipsis")
    with session_scope(reader(_store())) as session:
        for record in store.list_circuits(session):
            table.add_row(
                str(record.id), record.name, record.testbench, str(store.versions(session, record.name)), record.content_hash[:12],
                f"{record.created_at:%Y-%m-%d %H:%M}", record.description.strip().split("\n")[0][:60],
            )
    Console().print(table)


@circuit_app.command("show")
def show(reference: str = typer.Argument(..., help="A stored circuit's name (its newest version) or id.")) -> None:
    """A stored circuit: its variables in engineering units, pins, testbench, goals and its text's hash."""
    from rich.console import Console
    from rich.table import Table

    from app import circuits as store
    from app.db import reader, session_scope
    from circuits.units import VARIABLE_UNITS, engineering, measure_unit

    try:
        with session_scope(reader(_store())) as session:
            record = store.get_circuit(session, reference)
            circuit = store.resolved(record).circuit
    except (store.UnknownCircuit, CircuitError) as exc:
        _refuse(str(exc))
    console = Console()
    console.print(f"circuit {record.name} id {record.id}  testbench {circuit.testbench.name}  sha256 {record.content_hash}")
    if circuit.description:
        console.print(circuit.description.strip(), markup=False)
    variables = Table("variable", "kind", "min", "max", "step", "scale", "devices", title="variables")
    for v in circuit.variables:
        unit = VARIABLE_UNITS[v.kind]
        step = v.step if isinstance(v.step, str) else engineering(v.step, unit) if v.step is not None else ("grid" if v.grid else "-")
        variables.add_row(v.name, v.kind, engineering(v.min, unit), engineering(v.max, unit), step, v.scale, " ".join(v.devices))
    console.print(variables)
    pins = Table("role", "port", title="pins")
    for role in ("inp", "inn", "out", "vdd", "vss"):
        pins.add_row(role, getattr(circuit.pins, role))
    for port, pin in circuit.pins.bias.items():
        kind, unit = ("voltage", "V") if pin.voltage is not None else ("current", "A")
        value = pin.value.text if pin.value.number is None else engineering(pin.value.number, unit)
        pins.add_row(f"bias {kind}", f"{port} = {value}")
    console.print(pins)
    goals = Table("measure", "goal", title="constraints and objectives")
    for c in circuit.constraints:
        goals.add_row(c.measure, f"{c.op} {engineering(c.value, measure_unit(c.measure))}")
    for o in circuit.objectives:
        goals.add_row(o.measure, o.goal)
    console.print(goals)


def register(app: typer.Typer) -> None:
    app.add_typer(circuit_app, name="circuit")


def parse_values(circuit: "Circuit", text: str) -> dict[str, float]:
    """``--values w_in=20u,cc=2p``: numbers with SPICE suffixes, each a declared variable within its
    [min, max]; ValueError naming what to fix. A variable not given is nominal."""
    from circuits.parse import parse_number
    from circuits.units import VARIABLE_UNITS, engineering

    declared = {v.name: v for v in circuit.variables}
    values: dict[str, float] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, number = item.partition("=")
        name = name.strip().lower()
        if not sep or not name:
            raise ValueError(f"--values {item!r} must look like NAME=VALUE, e.g. {next(iter(declared), 'ibias')}=20u")
        if name not in declared:
            raise ValueError(f"--values: {name} is not a variable of circuit {circuit.name} ({', '.join(declared) or 'none'})")
        value = parse_number(number)
        variable, unit = declared[name], VARIABLE_UNITS[declared[name].kind]
        if not variable.min * (1 - 1e-9) <= value <= variable.max * (1 + 1e-9):
            raise ValueError(
                f"--values: {name} = {engineering(value, unit)} lies outside its range "
                f"{engineering(variable.min, unit)} to {engineering(variable.max, unit)}"
            )
        values[name] = value
    return values


def evaluate_circuit(reference: str, values_text: str, tech: str, corner: str, temp_c: float, json_output: bool, curves: bool) -> None:
    """``gmopt evaluate --circuit FILE --values ...``: one design of a circuit package on its bench.
    A refused file, technology or value is one red line and exit code 1, as ``gmopt circuit check``."""
    from circuits.benches import open_bench
    from circuits.library import resolve
    from circuits.units import VARIABLE_UNITS, engineering, measure_unit
    from gmopt.cli_support import print_json

    try:
        circuit = resolve(reference).circuit
        technology = get_technology(tech)
        render_subckt(circuit, technology)  # the package binds to the technology (sizes, models)
        values = parse_values(circuit, values_text)
        condition = technology.at(corner, temp_c)
    except (CircuitError, UnknownTechnology, ValueError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from exc
    bench = open_bench(circuit, condition)
    try:
        design = bench.values(values)
        result = bench.evaluate(design)
    finally:
        bench.close()
    if json_output:
        print_json({"circuit": circuit.name, "technology": tech, "corner": corner, "temp_c": temp_c, "design": design} | result.to_dict(curves=curves))
        return
    for variable in circuit.variables:
        typer.echo(f"{variable.name:24s} {engineering(design[variable.name], VARIABLE_UNITS[variable.kind])}")
    if not result.converged:
        typer.echo(f"did not converge: {result.error}")
        return
    for name, value in result.metrics.items():
        typer.echo(f"{name:24s} {engineering(value, measure_unit(name))}")
