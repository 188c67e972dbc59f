"""``gmopt evaluate`` and ``gmopt size-ota``: one OTA candidate from the command line."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from gmopt.cli_support import print_json, user_errors
from lut.technology import TEMPERATURE_RANGE_C
from ota.topology import TOPOLOGIES, get_topology

SUMMARY = (
    ("gain_db", "DC gain", "dB", 1), ("bandwidth_hz", "bandwidth", "Hz", 1), ("ugf_hz", "unity-gain frequency", "Hz", 1),
    ("phase_margin_deg", "phase margin", "deg", 1), ("gm_s", "Gm", "mS", 1e3), ("rmse_a", "linearity RMSE", "uA", 1e6),
    ("offset_v", "input offset", "mV", 1e3), ("power_w", "power", "mW", 1e3),
    ("saturation_margin_v", "worst VDS-VDSAT margin", "V", 1),
)
TOPOLOGY_HELP = f"OTA topology: {', '.join(TOPOLOGIES)}."
TOPOLOGY_OPTION = typer.Option("fig7", "--topology", help=TOPOLOGY_HELP)
TECH_OPTION = typer.Option("generic180", "--tech", help="Technology name (gmopt tech list).")
CORNER_OPTION = typer.Option("tt", "--corner", help="Process corner of the technology.")
TEMP_OPTION = typer.Option(
    27.0, "--temp", min=TEMPERATURE_RANGE_C[0], max=TEMPERATURE_RANGE_C[1], help="Temperature in degrees C.",
)
JSON_OPTION = typer.Option(False, "--json", help="Print JSON.")
BIAS_OPTION = typer.Option(
    [], "--bias", help="A bias voltage as PIN=VOLTS (repeatable); default: the technology's, or derived by the first sizing.",
)


def _bias(items: list[str]) -> dict[str, float]:
    """--bias PIN=VOLTS options as a mapping (empty: the technology's, or derived)."""
    given = {}
    for item in items:
        pin, sep, volts = item.partition("=")
        if not sep:
            raise ValueError(f"--bias {item!r} must look like PIN=VOLTS, e.g. vb=0.55")
        given[pin.strip().lower()] = _numbers(volts, float, "--bias")[0]
    return given


def _numbers(text: str, kind: type, option: str) -> list:
    try:
        return [kind(item) for item in text.split(",") if item.strip()]
    except ValueError as exc:
        raise ValueError(f"{option} takes comma-separated numbers, e.g. 1396,615,649 ({exc})") from exc


def _print_summary(data: dict) -> None:
    if not data["converged"]:
        typer.echo(f"did not converge: {data['error']}")
        return
    for key, label, unit, scale in SUMMARY:
        value = data[key]
        typer.echo(f"{label:24s} {'n/a' if math.isnan(value) else f'{value * scale:.4g}'} {unit}")
    typer.echo(f"{'all saturated':24s} {data['all_saturated']}")


def evaluate(
    topology: str = TOPOLOGY_OPTION,
    tech: str = TECH_OPTION,
    corner: str = CORNER_OPTION,
    temp: float = TEMP_OPTION,
    widths: str = typer.Option("", "--widths", help="Var integers W = Var*lambda, comma-separated (W1,W2,...)."),
    widths_um: str = typer.Option("", "--widths-um", help="Widths in micrometres, as the paper's tables give them."),
    backend: str = typer.Option("shared", "--backend", help="ngspice back-end: shared or batch."),
    plot: Path | None = typer.Option(None, "--plot", help="Write Iout vs Vin and the Bode plot to this PNG."),
    curves: bool = typer.Option(False, "--curves", help="Include the swept vectors in the JSON."),
    bias: list[str] = BIAS_OPTION,
    json_output: bool = JSON_OPTION,
    circuit: str | None = typer.Option(None, "--circuit", help="A circuit package (YAML or JSON file) instead of a topology."),
    values: str = typer.Option("", "--values", help="With --circuit: variable values, e.g. w_in=20u,ibias=15u,cc=2p (others nominal)."),
) -> None:
    """Simulate one OTA candidate (default widths: the paper's Table 5), or one design of a circuit
    package (--circuit), and print its figures of merit."""
    from lut.technology import get_technology
    from ota.sizing import evaluation_bias_v
    from ota.testbench import OtaTestbench

    if circuit is not None:
        from circuits.cli import evaluate_circuit

        return evaluate_circuit(circuit, values, tech, corner, temp, json_output, curves)
    with user_errors():
        shape, condition = get_topology(topology), get_technology(tech).at(corner, temp)
        technology = condition.technology
        if widths and widths_um:
            raise ValueError("give either --widths (Var integers) or --widths-um (micrometres), not both")
        if widths:
            var = shape.check_var(_numbers(widths, float, "--widths"), technology)
        else:
            var = shape.var_from_um(_numbers(widths_um, float, "--widths-um") if widths_um else shape.reference_widths_um, technology)
        bias_v = evaluation_bias_v(topology, condition, _bias(bias))
        with OtaTestbench(topology, condition, backend=backend, bias_v=bias_v) as bench:  # type: ignore[arg-type]
            result = bench.evaluate(var)
        if plot is not None:
            from ota.plot import plot_result

            plot_result(result, plot)
        data = result.to_dict(curves=curves)
        print_json(data) if json_output else _print_summary(data)
        if plot is not None and not json_output:
            typer.echo(f"plot written to {plot}")


def size_ota(
    topology: str = TOPOLOGY_OPTION,
    tech: str = TECH_OPTION,
    corner: str = CORNER_OPTION,
    temp: float = TEMP_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """The gm/ID first sizing of an OTA from the look-up tables, and its simulated figures of merit."""
    from lut.technology import get_technology
    from ota.sizing import checked_first_sizing

    with user_errors():
        condition = get_technology(tech).at(corner, temp)
        technology = condition.technology
        plan, result, problems = checked_first_sizing(topology, condition)
        data = result.to_dict(curves=False)
        if json_output:
            print_json(data | {"plan": plan.to_dict(), "problems": problems})
            raise typer.Exit(code=1 if problems else 0)
        labels = [v.label for v in get_topology(topology).variables]
        typer.echo("first sizing: " + ", ".join(
            f"{label} = {v} ({v * technology.lambda_m * 1e6:.2f} um)" for label, v in zip(labels, plan.var)))
        origin = "derived from the tables" if plan.bias_derived else f"{technology.name}'s fixed values"
        typer.echo("bias voltages (" + origin + "): " + ", ".join(f"{pin} = {volts:.3f} V" for pin, volts in plan.bias_v.items()))
        for note in plan.notes:
            typer.echo(f"note: {note}")
        typer.echo(f"planned Gm {plan.planned_gm_s * 1e3:.3f} mS (target {plan.target_gm_s * 1e3:.3f} mS)")
        _print_summary(data)
        if problems:
            typer.secho(f"{topology} cannot be sized in {technology.name} by the gm/ID plan: " + "; ".join(problems), fg=typer.colors.RED, err=True)
            raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)
    app.command("size-ota")(size_ota)
