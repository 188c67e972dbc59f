"""``gmopt memristor ...`` (models, loops, fits, programming, activation) and ``gmopt network``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import Progress

from gmopt import paper
from gmopt.cli_support import print_json, user_errors

memristor_app = typer.Typer(help="Memristor models of Mladenov 2024: i-v loops, fits, pulse programming.",
                            no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON.")
MODEL = typer.Option("a14mod", "--model", help="joglekar, biolek, lehtonen_laiho or a14mod.")


@memristor_app.command("iv")
def iv(
    model: str = MODEL,
    freq: list[float] = typer.Option(list(paper.IV_FREQUENCIES_HZ), "--freq", help="Sine frequency in Hz (repeatable)."),
    amplitude: float = typer.Option(paper.IV_AMPLITUDE_V, "--amplitude", help="Sine amplitude in V."),
    initial: float = typer.Option(paper.IV_INITIAL_MEMRISTANCE_OHM, "--initial", help="Starting memristance in ohm."),
    plot: Path | None = typer.Option(None, "--plot", help="Write the loops to this PNG."),
    csv: Path | None = typer.Option(None, "--csv", help="Write the loops (t, v, i, x, m, frequency) to this CSV."),
    json_output: bool = JSON,
) -> None:
    """Sinusoidal i-v loops in ngspice (Figure 3: 1.1 V at 100 kHz, 1 MHz, 10 MHz)."""
    import pandas as pd

    from memristor.iv import plot_loops, sine_loop, summary
    from memristor.models import get_model

    with user_errors():
        device = get_model(model)
        loops = {f: sine_loop(device, f, amplitude, initial) for f in freq}
        if plot is not None:
            plot_loops(loops, plot, f"{device.name}, {amplitude:g} V, from {initial:g} ohm")
        if csv is not None:
            pd.concat([trace.to_frame().assign(frequency_hz=f) for f, trace in loops.items()]).to_csv(csv, index=False)
        summaries = [summary(trace, f) for f, trace in loops.items()]
        if json_output:
            print_json({"model": device.name, "amplitude_v": amplitude, "initial_ohm": initial, "loops": summaries})
            return
        for item in summaries:
            typer.echo(f"{item['frequency_hz']:10.4g} Hz  peak {item['max_current_a'] * 1e3:8.4f} mA  "
                       f"M {item['memristance_min_ohm']:9.1f}..{item['memristance_max_ohm']:9.1f} ohm  "
                       f"lobe area {item['lobe_area_va']:.4g} V*A")


@memristor_app.command("program")
def program(
    model: str = MODEL,
    from_ohm: float = typer.Option(..., "--from", help="Starting memristance M1 in ohm."),
    to_ohm: float = typer.Option(..., "--to", help="Target memristance M2 in ohm."),
    amplitude: float = typer.Option(..., "--amplitude", help="Pulse level in V (sign sets the direction)."),
    width: float = typer.Option(paper.PROGRAM_PULSE_WIDTH_S, "--width", help="Pulse width in s."),
    period: float = typer.Option(paper.PROGRAM_PULSE_PERIOD_S, "--period", help="Pulse period in s."),
    json_output: bool = JSON,
) -> None:
    """Pulses needed from M1 to M2 (ngspice and ODE) beside eq. 12/13 (Figures 4-5)."""
    from memristor.models import get_model
    from memristor.programming import paper_example
    from memristor.programming import program as run_program

    with user_errors():
        result = run_program(get_model(model), from_ohm, to_ohm, amplitude, width, period)
        data = {**result.to_json(), "paper": paper_example(from_ohm, to_ohm, amplitude)}
        if json_output:
            print_json(data)
            return
        typer.echo(f"{result.model}: {from_ohm:g} -> {to_ohm:g} ohm with {amplitude:+g} V, {width:g} s every {period:g} s")
        typer.echo(f"  pulses {result.pulses}, effective {result.effective_time_s * 1e9:.3f} ns, "
                   f"elapsed {result.total_time_s * 1e9:.3f} ns (ngspice)")
        typer.echo(f"  effective {result.ode_effective_time_s * 1e9:.3f} ns (ODE); analytic "
                   f"{result.analytic_time_s * 1e9:.3f} ns ({result.analytic_method})")
        if data["paper"]:
            typer.echo(f"  paper: effective {data['paper']['effective_time_s'] * 1e9:g} ns, "
                       f"elapsed {data['paper']['total_time_s'] * 1e9:g} ns")


def _print_fits(results: list, source: str) -> None:
    typer.echo(f"RMS error of each model fitted to {source} (paper's Table 1 on Knowm data beside it)")
    typer.echo(f"{'model':16s}{'RMS %':>9s}{'RMS A':>12s}{'paper %':>9s}  fitted")
    for result in sorted(results, key=lambda r: r.rms_error_pct):
        fitted = ", ".join(f"{k}={v:.4g}" for k, v in result.fitted.items())
        typer.echo(f"{result.model.name:16s}{result.rms_error_pct:9.3f}{result.rms_error_a:12.4g}"
                   f"{paper.TABLE1_RMS_ERROR_PCT[result.model.name]:9.1f}  {fitted}")


def _fit_with_progress(measured, names: tuple[str, ...]) -> list:
    from memristor.fit import fit_all

    with Progress(transient=True) as bar:
        task = bar.add_task("fitting", total=len(names))
        return fit_all(measured, names, progress=lambda _name: bar.advance(task))


@memristor_app.command("fit")
def fit(
    data: Path = typer.Option(..., "--data", help="CSV with columns t, v, i (s, V, A)."),
    model: str = typer.Option("all", "--model", help="A model name or 'all' for the Table 1 comparison."),
    json_output: bool = JSON,
) -> None:
    """Fit model parameters to a measured i-v loop by least squares on the RMS current error."""
    from memristor.models import MODELS, get_model
    from memristor.trace import read_loop_csv

    with user_errors():
        measured = read_loop_csv(data)
        names = tuple(MODELS) if model == "all" else (get_model(model).name,)
        results = _fit_with_progress(measured, names)
        if json_output:
            print_json([r.to_json() for r in results])
            return
        _print_fits(results, str(data))


@memristor_app.command("fit-emulator")
def fit_emulator(
    topology: str = typer.Option("fig7", "--topology", help="OTA of the emulator (neuromorphic package)."),
    freq: float = typer.Option(1e5, "--freq", help="Sine frequency in Hz."),
    amplitude: float = typer.Option(0.5, "--amplitude", help="Sine amplitude in V."),
    json_output: bool = JSON,
) -> None:
    """Fit every model to the OTA emulator's loop and say which describes it best."""
    from memristor.fit import emulator_loop
    from memristor.models import MODELS

    with user_errors():
        results = _fit_with_progress(emulator_loop(topology, freq, amplitude), tuple(MODELS))
        best = min(results, key=lambda r: r.rms_error_pct)
        if json_output:
            print_json({"best": best.model.name, "fits": [r.to_json() for r in results]})
            return
        _print_fits(results, f"the {topology} emulator at {freq:g} Hz, {amplitude:g} V")
        typer.echo(f"best: {best.model.name}")


@memristor_app.command("activation")
def activation(json_output: bool = JSON) -> None:
    """The memristor + two nch log-sigmoid and its fitted k (eq. 14; the paper found k = 5)."""
    from memristor.activation import fit_activation

    with user_errors():
        result = fit_activation()
        if json_output:
            print_json(result.to_json())
            return
        typer.echo(f"k = {result.k:.4f} (paper {paper.ACTIVATION_K:g}), RMS error {result.rms_error_v * 1e3:.2f} mV, "
                   f"memristor drift {result.memristance_drift_ohm:.3g} ohm")


@memristor_app.command("synthetic")
def synthetic(folder: Path = typer.Option(..., "--out", help="Folder for the CSV and its truth JSON.")) -> None:
    """Regenerate the shipped synthetic A14mod loop (known parameters + 0.5 % noise)."""
    from memristor.fit import write_synthetic

    with user_errors():
        typer.echo(f"wrote {write_synthetic(folder)}")


def network(
    k: float = typer.Option(None, "--k", help="Log-sigmoid coefficient for numpy (default: fitted to the circuit)."),
    json_output: bool = JSON,
) -> None:
    """The 5-4-2 memristor network (Figures 14-15) in ngspice and in numpy, side by side."""
    from memristor.activation import fit_activation
    from memristor.network import NetworkSpec, numpy_network, spice_network

    with user_errors():
        spec = NetworkSpec()
        coefficient = k if k is not None else fit_activation().k
        spice, ideal = spice_network(spec, coefficient), numpy_network(spec, coefficient)
        weights = {"hidden": spec.hidden_weights().tolist(), "output": (spec.output_weights() + 0.0).tolist()}
        if json_output:
            print_json({"spice": spice.to_json(), "numpy": ideal.to_json(), "realised_weights": weights})
            return
        typer.echo("output weights realised by Table 7 (tf1..tf4, M5 on ground, bias for 1 V):")
        for index, row in enumerate(weights["output"]):
            typer.echo(f"  N{index + 1}out " + "".join(f"{w:8.3g}" for w in row))
        labels = [f"S{i + 1}" for i in range(4)] + [f"tf{i + 1}" for i in range(4)] + ["Y1", "Y2"]
        rows = [list(r.s_v) + list(r.tf_v) + list(r.y_v) for r in (spice, ideal)]
        typer.echo(f"log-sigmoid k = {coefficient:.4f}; values in mV")
        typer.echo("signal  " + "".join(f"{label:>9s}" for label in labels))
        for name, row in zip(("ngspice", "numpy"), rows):
            typer.echo(f"{name:8s}" + "".join(f"{1e3 * value:9.2f}" for value in row))


def register(app: typer.Typer) -> None:
    app.add_typer(memristor_app, name="memristor")
    app.command("network")(network)
