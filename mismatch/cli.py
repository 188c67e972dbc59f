"""``gmopt montecarlo``: the mismatch distribution of one OTA design and its yield against a run spec."""

from __future__ import annotations

from pathlib import Path

import typer

from gmopt.cli_support import WORKERS_HELP, print_json, start_workers_early, user_errors
from ota.cli import CORNER_OPTION, JSON_OPTION, TECH_OPTION, TEMP_OPTION, TOPOLOGY_OPTION, _numbers

# Columns of the text summary: metric, unit, scale.
SHOWN = (
    ("offset_v", "mV", 1e3), ("gain_db", "dB", 1.0), ("gm_s", "mS", 1e3), ("bandwidth_hz", "MHz", 1e-6),
    ("phase_margin_deg", "deg", 1.0), ("rmse_a", "uA", 1e6), ("power_w", "mW", 1e3), ("saturation_margin_v", "mV", 1e3),
)


def montecarlo(
    topology: str = TOPOLOGY_OPTION,
    tech: str = TECH_OPTION,
    corner: str = CORNER_OPTION,
    temp: float = TEMP_OPTION,
    widths: str = typer.Option("", "--widths", help="Var integers W = Var*lambda, comma-separated (default: the paper's Table 7)."),
    widths_um: str = typer.Option("", "--widths-um", help="Widths in micrometres, comma-separated."),
    run: Path | None = typer.Option(None, "--run", help="Take the design and the spec from this optimization run's front."),
    point: int = typer.Option(0, "--point", min=0, help="With --run: the front point as 'gmopt front' lists it."),
    spec_file: Path | None = typer.Option(None, "--spec", exists=True, dir_okay=False,
                                          help="Run spec whose constraints the yield counts (default: the default spec); "
                                               "its topology and technology give way to the design's."),
    constraints: str = typer.Option("", "--constraints", help="Constraints a sample must meet, e.g. offset,gain "
                                    "(default: every nominal constraint of the spec)."),
    samples: int = typer.Option(200, "--samples", min=2, max=100_000, help="Monte Carlo samples."),
    seed: int = typer.Option(1, "--seed", min=0, help="Seed of the samples: the same seed gives the same numbers."),
    workers: int = typer.Option(2, "--workers", min=1, help=WORKERS_HELP),
    devices: str = typer.Option("", "--devices", help="Only these devices vary, e.g. MN2,MN3 (default: all)."),
    no_vth: bool = typer.Option(False, "--no-vth", help="No threshold mismatch."),
    no_beta: bool = typer.Option(False, "--no-beta", help="No current-factor mismatch."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Mismatch Monte Carlo (Pelgrom, per device) of one design: every metric's distribution and the yield."""
    start_workers_early(workers)
    from lut.technology import get_technology
    from mismatch.montecarlo import run_montecarlo
    from neuromorphic.circuit import resolve_var
    from optimizer.followup import sample_check
    from optimizer.problem import constraint_names
    from optimizer.spec import RunSpec

    with user_errors():
        if run is not None:
            from optimizer.cli import existing_run
            from optimizer.results import front_design

            if widths or widths_um or spec_file:
                raise ValueError("with --run the design and the spec come from the run: drop --widths, --widths-um and --spec")
            spec, var = front_design(existing_run(run), point)
            topology, tech, corner, temp = spec.topology, spec.technology, spec.corners[0], spec.temps_c[0]
        else:
            var = resolve_var(
                topology, _numbers(widths, float, "--widths") if widths else None,
                _numbers(widths_um, float, "--widths-um") if widths_um else None,
            )
            data = RunSpec.from_file(spec_file).model_dump() if spec_file else {}
            spec = RunSpec.parse({**data, "topology": topology, "technology": tech})
        names = _numbers(constraints, str, "--constraints") if constraints else constraint_names(spec, follow_ups=False)
        known = constraint_names(spec, follow_ups=False)
        if set(names) - set(known):
            raise ValueError(f"--constraints {sorted(set(names) - set(known))} are not constraints of the spec ({', '.join(known)})")
        result = run_montecarlo(
            topology, var, samples, seed, get_technology(tech), corner, temp, workers=workers,
            vth=not no_vth, beta=not no_beta, devices=_numbers(devices, str, "--devices") if devices else None,
        )
        data = result.to_dict(sample_check(spec, names), names)
    if json_output:
        print_json(data)
        return
    _print(data)


def _print(data: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=(
        f"{data['topology']} Var {','.join(str(v) for v in data['var'])}: {data['converged']} of {data['samples']} "
        f"samples converged (seed {data['seed']}, {data['technology']} {data['corner']} {data['temp_c']:g} C)"
    ))
    for column in ("metric", "unit", "mean", "sigma", "p5", "p50", "p95"):
        table.add_column(column, justify="right")
    for key, unit, scale in SHOWN:
        figures = data["metrics"][key]
        table.add_row(key, unit, *(_fmt(figures.get(name), scale) for name in ("mean", "sigma", "p5", "p50", "p95")))
    console = Console()
    console.print(table)
    yield_ = data["yield"]
    console.print(f"yield {yield_['value']:.1%} on {', '.join(yield_['constraints'])}; "
                  f"Pelgrom input-pair offset sigma {data['pelgrom_input_pair_offset_sigma_v'] * 1e3:.3f} mV "
                  f"(sqrt(2) AVT/sqrt(WL); mirrors and loads add to it); {data['samples_per_s']:.0f} samples/s")
    console.print(f"coefficients: {data['mismatch_model']['source']}")


def _fmt(value: float | None, scale: float) -> str:
    return "-" if value is None or value != value else f"{value * scale:.4g}"


def register(app: typer.Typer) -> None:
    app.command("montecarlo")(montecarlo)
