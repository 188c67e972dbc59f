"""``gmopt emulator``, ``gmopt neuron``, ``gmopt table10`` and ``gmopt pvt``: from an OTA to a neuron."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from gmopt import paper
from gmopt.cli_support import print_json, user_errors
from gmopt.settings import get_settings
from ota.cli import TOPOLOGY_HELP, _numbers

TOPOLOGY = typer.Option("fig7", "--topology", help=TOPOLOGY_HELP)
TECH = typer.Option("generic180", "--tech", help="Technology name (gmopt tech list).")
CORNER = typer.Option("tt", "--corner", help="Process corner of the technology.")
TEMP = typer.Option(27.0, "--temp", help="Temperature in degrees C.")
WIDTHS = typer.Option("", "--widths", help="Var integers W = Var*lambda, comma-separated (default: the paper's Table 7), "
                      "or 'ours' for gmopt's own low-offset design (neuromorphic/reference_designs.yaml).")
WIDTHS_UM = typer.Option("", "--widths-um", help="Widths in micrometres, comma-separated.")
JSON = typer.Option(False, "--json", help="Print JSON.")


def _widths(topology: str, widths: str, widths_um: str) -> dict:
    from neuromorphic.reference_designs import reference_var

    if widths.strip().lower() == "ours":
        var = reference_var(topology)
    else:
        var = _numbers(widths, float, "--widths") if widths else None
    return {"var": var, "widths_um": _numbers(widths_um, float, "--widths-um") if widths_um else None}


def _run_design(run: Path, point: int, widths_given: str) -> tuple[str, dict]:
    """The topology and the design (Var, technology, first corner and temperature) of a stored run's front point."""
    from optimizer.cli import existing_run
    from optimizer.results import front_design

    if widths_given:
        raise ValueError("give either --run (the design comes from the run) or --widths/--widths-um, not both")
    spec, var = front_design(existing_run(run), point)
    return spec.topology, {"var": var, "technology": spec.technology, "corner": spec.corners[0], "temp_c": spec.temps_c[0]}


@contextmanager
def _progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def emulator(
    topology: str = TOPOLOGY, tech: str = TECH, corner: str = CORNER, temp: float = TEMP,
    widths: str = WIDTHS, widths_um: str = WIDTHS_UM,
    freq: list[float] = typer.Option([1e5], "--freq", help="Sine frequency in Hz (repeat for a sweep; Figure 17: 1e5 and 1e6)."),
    amplitude: float = typer.Option(0.5, "--amplitude", help="Sine amplitude in V."),
    capacitance: float = typer.Option(None, "--capacitance", help="State capacitor in F (default 1 nF; not given in the paper)."),
    inverter_scale: float = typer.Option(1.0, "--inverter-scale", help="Inverter width scale (the paper uses 1 and 100)."),
    periods: int = typer.Option(6, "--periods", help="Simulated periods; the last one is analysed."),
    plot: Path | None = typer.Option(None, "--plot", help="Write the i-v loop(s) to this PNG."),
    run: Path | None = typer.Option(None, "--run", help="Take the OTA from this optimization run's front "
                                    "(its topology, widths, technology and first corner/temperature)."),
    point: int = typer.Option(0, "--point", min=0, help="With --run: the front point as 'gmopt front' lists it (0 = best linearity)."),
    json_output: bool = JSON,
) -> None:
    """The OTA memristor emulator (paper Fig. 6) under a sine: pinch, lobe areas (V*A) and loop asymmetry."""
    from neuromorphic.emulator import EmulatorOptions, sweep_frequency

    with user_errors():
        base = EmulatorOptions(amplitude_v=amplitude, periods=periods, **({"state_capacitance_f": capacitance} if capacitance else {}))
        if run is not None:
            topology, design = _run_design(run, point, widths or widths_um)
            tech, corner, temp = design.pop("technology"), design.pop("corner"), design.pop("temp_c")
        else:
            design = _widths(topology, widths, widths_um)
        sweep = sweep_frequency(topology, freq, technology=tech, corner=corner, temp_c=temp, options=base,
                                inverter_scale=inverter_scale, **design)
        if plot is not None:
            from neuromorphic.plot import plot_loops

            plot_loops(sweep.results, plot)
        if json_output:
            data = sweep.to_dict()
            print_json(data["results"][0] if len(freq) == 1 else data)
            return
        if run is not None:
            typer.echo(f"{run} point {point}: {topology}, Var {','.join(str(v) for v in design['var'])}, {tech} {corner} {temp:g} C")
        for r in sweep.results:
            typer.echo(f"{r.freq_hz:10.4g} Hz  pinched {str(r.pinched):5s} (|i(0)|/peak {r.pinch_ratio:.3f})  "
                       f"lobes +{r.lobe_area_pos:.4g} / -{r.lobe_area_neg:.4g} V*A (asymmetry {r.loop_asymmetry:.3f})  "
                       f"VB {r.vb_min_v:.3f}..{r.vb_max_v:.3f} V")
        if len(freq) > 1:
            typer.echo(f"lobe area shrinks with frequency: {sweep.shrinks}")


def neuron(
    topology: str = TOPOLOGY, tech: str = TECH, corner: str = CORNER, temp: float = TEMP,
    widths: str = WIDTHS, widths_um: str = WIDTHS_UM,
    period: float = typer.Option(paper.NEURON_PULSES[1][0], "--period", help="Input pulse period in s (paper: 10e-6 and 5e-3)."),
    duty: float = typer.Option(paper.NEURON_PULSES[1][1], "--duty", help="Duty cycle as a fraction (paper: 0.4 and 0.3)."),
    amplitude: float = typer.Option(paper.NEURON_INPUT_V, "--amplitude", help="Input pulse amplitude in V."),
    periods: int = typer.Option(1, "--periods", help="Number of input periods to simulate."),
    inverter_scale: float = typer.Option(1.0, "--inverter-scale", help="Emulator inverter width scale (paper: 1 and 100)."),
    max_step: float = typer.Option(50e-9, "--max-step", help="Largest transient time step in s."),
    supply_scale: float = typer.Option(1.0, "--supply-scale", help="Supply scale (1.0 = +-0.9 V)."),
    plot: Path | None = typer.Option(None, "--plot", help="Write Vin, Vm, the output and VB to this PNG."),
    probe: bool = typer.Option(False, "--probe", help="Only the 20 us oscillation probe of the emulator node "
                               "(with --plot: its waveform)."),
    json_output: bool = JSON,
) -> None:
    """The memristor-emulator LIF neuron (paper Fig. 5): spikes, rate, energy per spike (eq. 12), area."""
    from neuromorphic.neuron import NeuronOptions, run_neuron, run_probe

    with user_errors():
        options = NeuronOptions(period_s=period, duty=duty, amplitude_v=amplitude, periods=periods, max_step_s=max_step)
        if probe:
            found = run_probe(topology, technology=tech, corner=corner, temp_c=temp, options=options,
                              inverter_scale=inverter_scale, supply_scale=supply_scale, **_widths(topology, widths, widths_um))
            if plot is not None:
                from neuromorphic.plot import plot_probes

                plot_probes([(f"{topology} x{inverter_scale:g}", found.to_dict(include_waveforms=True))], plot)
            if json_output:
                print_json(found.to_dict())
                return
            o = found.oscillation
            typer.echo(f"oscillating {o.oscillating}: {o.frequency_fft_hz / 1e6:.4g} MHz (FFT), {o.frequency_crossings_hz / 1e6:.4g} "
                       f"MHz (zero crossings), {o.peak_to_peak_v * 1e3:.1f} mV pp on mr; VB {found.vb_v:.3f} V")
            typer.echo(f"follower loop at that VB: UGF {found.loop['ugf_hz'] / 1e6:.4g} MHz, phase margin "
                       f"{found.loop['phase_margin_deg']:.1f} deg, -180 deg at {found.loop['phase_crossover_hz'] / 1e6:.4g} MHz")
            return
        result = run_neuron(topology, technology=tech, corner=corner, temp_c=temp, options=options,
                            inverter_scale=inverter_scale, supply_scale=supply_scale, **_widths(topology, widths, widths_um))
        if plot is not None:
            from neuromorphic.plot import plot_neuron

            plot_neuron(result, plot)
        if json_output:
            print_json(result.to_dict())
            return
        typer.echo(f"spikes {result.spike_count}  rate {result.rate_hz:.4g} Hz  mean ISI {result.mean_isi_s:.4g} s")
        typer.echo(f"energy {result.energy_total_j:.4g} J  per spike {result.energy_per_spike_j:.4g} J  "
                   f"({', '.join(f'{k} {v:.3g} J' for k, v in result.energy_by_supply_j.items())})")
        typer.echo(f"area {result.area_um2:.4f} um^2 (Table 9 sizes: {result.area_table9_um2:.4f} um^2)")
        for change in result.size_adjustments:
            typer.echo(f"size changed: {change}")


def table10(
    tech: str = TECH, corner: str = CORNER, temp: float = TEMP,
    periods: int = typer.Option(1, "--periods", help="Input periods of T = 5 ms."),
    workers: int = typer.Option(None, "--workers", help="Worker processes (default GMOPT_WORKERS)."),
    row_timeout: float = typer.Option(None, "--row-timeout", help="Wall-clock limit per row in s (default 300); a row "
                                      "that exceeds it is reported as not finished."),
    plot_oscillations: Path | None = typer.Option(None, "--plot-oscillations", help="Write the emulator node of every "
                                                  "oscillating row (the 20 us probe) to this PNG."),
    json_output: bool = JSON,
) -> None:
    """Reproduce the paper's Table 10 (energy per spike at T = 5 ms, area) beside the paper's numbers.
    A row whose emulator node oscillates (a 20 us probe first) is reported with its frequency."""
    from neuromorphic.neuron import NeuronOptions
    from neuromorphic.table10 import ROW_TIMEOUT_S, reproduce_table10

    with user_errors(), _progress_bar("neurons (T = 5 ms)") as progress:
        options = NeuronOptions(periods=periods, timeout_s=ROW_TIMEOUT_S if row_timeout is None else row_timeout)
        rows = reproduce_table10(tech, corner, temp, options,
                                 workers=workers or get_settings().workers, progress=progress)
    ringing = [(f"{row.topology} {row.sizing} x{row.inverter_scale}", row.probe) for row in rows if row.oscillating]
    if plot_oscillations is not None and ringing:
        from neuromorphic.plot import plot_probes

        plot_probes(ringing, plot_oscillations)
    if json_output:
        print_json([row.to_dict() for row in rows])
        return
    _print_table10(rows)


SIZING_LABELS = {"ours": "optimized (ours)"}


def _energy_cell(row) -> str:
    if row.oscillating:
        return (f"oscillates at {row.oscillation_hz / 1e6:.3g} MHz ({row.oscillation_pp_v * 1e3:.0f} mV pp on mr, "
                f"loop PM {row.phase_margin_deg:.0f} deg)")
    if row.timed_out:
        return f"did not finish in {row.timeout_s:g} s"
    if row.error:
        return "failed"
    return "no spike" if row.energy_per_spike_j is None else f"{row.energy_per_spike_j * 1e9:.4g} nJ"


def _print_table10(rows: list) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Table 10: energy per spike (T = 5 ms) and total area")
    for column in ("OTA", "sizing", "inverter", "spikes", "E/spike (ours)", "E/spike (paper)", "area um^2 (ours, Table 9 sizes)", "area um^2 (paper)"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row.topology, SIZING_LABELS.get(row.sizing, row.sizing), f"{row.inverter_scale}x",
            "" if row.spike_count is None else str(row.spike_count), _energy_cell(row),
            "" if row.paper_energy_per_spike_j is None else f"{row.paper_energy_per_spike_j * 1e9:.4g} nJ",
            "" if row.area_table9_um2 is None else f"{row.area_table9_um2:.4f}",
            "" if row.paper_area_um2 is None else f"{row.paper_area_um2:.4f}",
        )
    Console().print(table)


def pvt(
    topology: str = TOPOLOGY, tech: str = TECH, widths: str = WIDTHS, widths_um: str = WIDTHS_UM,
    corner: list[str] = typer.Option([], "--corner", help="Corners (repeat; default: all of the technology)."),
    temp: list[float] = typer.Option([-40.0, 27.0, 125.0], "--temp", help="Temperatures in C (repeat)."),
    supply: list[float] = typer.Option([0.9, 1.0, 1.1], "--supply-scale", help="Supply scales (repeat; 1.0 = +-0.9 V)."),
    inverter_scale: float = typer.Option(1.0, "--inverter-scale", help="Emulator inverter width scale."),
    workers: int = typer.Option(None, "--workers", help="Worker processes (default GMOPT_WORKERS)."),
    plot: Path | None = typer.Option(None, "--plot", help="Write the rate and energy spread to this PNG."),
    json_output: bool = JSON,
) -> None:
    """Emulator and neuron over corners x temperatures x supply (T = 10 us, 40 %, 30 periods)."""
    from neuromorphic.pvt import run_pvt

    with user_errors(), _progress_bar("PVT points") as progress:
        report = run_pvt(topology, technology=tech, corners=corner or None, temperatures_c=temp, supply_scales=supply,
                         inverter_scale=inverter_scale, workers=workers or get_settings().workers, progress=progress,
                         **_widths(topology, widths, widths_um))
    if plot is not None:
        from neuromorphic.plot import plot_spread

        plot_spread(report.rows, plot)
    if json_output:
        print_json(report.to_dict())
        return
    for key, figures in report.spread.items():
        typer.echo(f"{key:20s} min {figures['min']:.4g}  median {figures['median']:.4g}  max {figures['max']:.4g}  "
                   f"spread {figures['relative_spread']:.1%}  ({figures['points']} points)")


def register(app: typer.Typer) -> None:
    app.command("emulator")(emulator)
    app.command("neuron")(neuron)
    app.command("table10")(table10)
    app.command("pvt")(pvt)
