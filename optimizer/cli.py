"""``gmopt optimize``, ``gmopt front``, ``gmopt export`` and ``gmopt run-main``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from gmopt.cli_support import WORKERS_HELP, print_json, start_workers_early, user_errors
from optimizer.file_store import FileRunStore
from optimizer.results import (
    DESIGN_COLUMNS, best_linearity, circuit_design_deck, design_netlist, design_row, export_front, follow_up_row, front_csv, front_design,
    front_document,
    front_point, front_table, least_violating,
)
from optimizer.spec import RunSpec

console = Console()
RUN_MAIN_OUT = Path("runs/fig7")


def _split(text: str | None, kind: type) -> list[Any] | None:
    if text is None:
        return None
    try:
        return [kind(item.strip()) for item in text.split(",") if item.strip()]
    except ValueError as exc:
        raise ValueError(f"{text!r} must be a comma-separated list of {kind.__name__} values") from exc


def build_spec(store: FileRunStore, spec_file: Path | None, resume: bool, circuit: str | None = None, **options: Any) -> RunSpec:
    """The run spec: the stored one when resuming, else the spec file (or defaults) with the options given.

    ``circuit`` (a package file) is read once, here, through ``circuits.library.resolve``: the spec
    carries its exact text, so the run (and its resume, export and front) never reads the file again."""
    header = store.read_header()
    if resume and header is not None and spec_file is None:
        data = header[0]
    else:
        data = RunSpec.from_file(spec_file).model_dump() if spec_file is not None else {}
    data.update({key: value for key, value in options.items() if value is not None})
    if circuit is not None:
        from circuits.library import resolve

        if options.get("topology") is not None:
            raise ValueError("give --topology (a built-in OTA) or --circuit (a circuit package), not both")
        resolved = resolve(circuit)
        data = {key: value for key, value in data.items() if key != "topology"} | {"circuit": circuit, "circuit_package": resolved.text}
    if data.get("topology") is None and data.get("circuit_package") is None:
        raise ValueError("say what to size: --topology fig7 (a built-in OTA), --circuit FILE (a circuit package), or a spec file with 'topology:'")
    return RunSpec.parse(data, source=str(spec_file) if spec_file else "the options")


def run_with_progress(spec: RunSpec, store: FileRunStore, workers: int, dask: str | None, resume: bool) -> Any:
    """Run the optimization behind a rich progress bar; Ctrl-C leaves a resumable run."""
    from optimizer.runner import ProgressInfo, run_optimization

    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} eval/s  feasible {task.fields[feasible]}  HV {task.fields[hv]}"),
        TimeRemainingColumn(),
    )
    progress = Progress(*columns, console=console)
    task = progress.add_task(f"{spec.design_name} generations", total=spec.generations, rate="-", feasible="-", hv="-")

    def show(info: ProgressInfo) -> None:
        progress.start()  # on the first report, so that a refused spec prints no empty bar
        progress.update(
            task, completed=info.generation + 1, rate=f"{info.evaluations_per_s:.1f}",
            feasible=f"{info.feasible_count}/{spec.pop_size}", hv=f"{info.hypervolume:.4f}",
        )

    try:
        return run_optimization(spec, store, workers=workers, dask_address=dask, progress=show, resume=resume)
    finally:
        if progress.live.is_started:
            progress.stop()


def print_front(store: FileRunStore) -> None:
    table = front_table(store)
    if table.empty:
        status = store.status()
        verdict = "no feasible design in this run" if status == "finished" else "no feasible design yet"
        console.print(f"[yellow]{verdict}[/yellow] (status: {status})")
        return
    spec = RunSpec.parse(store.read_header()[0])
    if spec.is_circuit:
        print_circuit_front(spec, table)
        return
    view = Table(title=f"feasible Pareto front ({len(table)} designs; point 0 = best linearity)")
    for column in ("point", "index", *DESIGN_COLUMNS):
        view.add_column(column, justify="right")
    for point, row in table.iterrows():
        view.add_row(str(point), str(row["index"]), *(_fmt(row[column]) for column in DESIGN_COLUMNS))
    console.print(view)
    follow_ups = list(dict.fromkeys(key for record in store.front() for key in follow_up_row(record.metrics)))
    if follow_ups:
        extra = Table(title="the same designs: mismatch yield and emulator loop (pinch = |i(v=0)|/peak |i|)")
        for column in ("point", "index", *follow_ups):
            extra.add_column(column, justify="right")
        for point, row in table.iterrows():
            extra.add_row(str(point), str(row["index"]), *(_fmt(row.get(column)) for column in follow_ups))
        console.print(extra)


def print_circuit_front(spec: RunSpec, table: Any) -> None:
    """A circuit run's front: every variable and measure in engineering units (20 uA, 2 pF),
    the objectives' measures first; point 0 has the best first objective."""
    from circuits.model import TESTBENCH_MEASURES
    from circuits.units import VARIABLE_UNITS, engineering, measure_unit

    circuit = spec.circuit_object
    goals = {objective.measure: objective.goal for objective in circuit.objectives}
    measures = [*goals, *(m for m in TESTBENCH_MEASURES[circuit.testbench.name] if m not in goals and m in table.columns)]
    variables = [(v.name, VARIABLE_UNITS[v.kind]) for v in circuit.variables] + [(group.column, "S/A") for group in circuit.sizing]
    view = Table(title=f"{circuit.name} ({spec.technology}): feasible Pareto front ({len(table)} designs; point 0 = best {circuit.objectives[0].measure})")
    for column in ("point", "index", *(name for name, _ in variables), *(f"{m} ({goals[m]})" if m in goals else m for m in measures)):
        view.add_column(column, justify="right")
    for point, row in table.iterrows():
        view.add_row(
            str(point), str(row["index"]), *(engineering(row[name], unit) for name, unit in variables),
            *(engineering(row.get(m), measure_unit(m)) for m in measures),
        )
    # a package has many columns: print wider than a terminal rather than cut every value
    Console(width=max(console.width, 14 * len(view.columns))).print(view)


def _fmt(value: Any) -> str:
    return "-" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.4g}"


def existing_run(folder: Path) -> FileRunStore:
    if not (folder / "header.json").exists():
        raise FileNotFoundError(f"{folder} holds no optimization run: run 'gmopt optimize --out {folder}' first")
    return FileRunStore(folder)


def register(app: typer.Typer) -> None:
    @app.command()
    def optimize(
        topology: str | None = typer.Option(None, "--topology", help="OTA topology: baseline, fig7, fig8, fig9."),
        circuit: str | None = typer.Option(None, "--circuit", help="A circuit package (YAML or JSON file) to size instead of a topology."),
        tech: str | None = typer.Option(None, "--tech", help="Technology (default generic180)."),
        pop: int | None = typer.Option(None, "--pop", help="Population size (default 20, Section 4.2)."),
        gens: int | None = typer.Option(None, "--gens", help="Generations including the initial one (default 50)."),
        workers: int = typer.Option(2, "--workers", min=1, help=f"{WORKERS_HELP} A circuit package: N worker processes."),
        seed: int | None = typer.Option(None, "--seed", help="Random seed: the same seed gives the same run."),
        out: Path = typer.Option(..., "--out", help="Run folder (created), e.g. runs/fig7."),
        spec_file: Path | None = typer.Option(None, "--spec", exists=True, dir_okay=False, help="Spec file (JSON or YAML)."),
        resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last generation."),
        dask: str | None = typer.Option(None, "--dask", help="'local' for a Dask LocalCluster, or a scheduler tcp://host:port."),
        corners: str | None = typer.Option(None, "--corners", help="Corners to optimize the worst case of, e.g. tt,ss,ff."),
        temps: str | None = typer.Option(None, "--temps", help="Temperatures in degC, e.g. -40,27,125."),
        random_start: bool = typer.Option(False, "--random-start", help="Random initial population instead of the gm/ID seed."),
        screen_dc: bool | None = typer.Option(
            None, "--screen-dc/--no-screen-dc",
            help="Skip the AC analysis of a candidate whose DC sweep already misses the offset limit or saturation (faster; the front may differ).",
        ),
    ) -> None:
        """Size an OTA or a circuit package with NSGA-II (every evaluation stored in --out; resumable)."""
        start_workers_early(workers, dask)
        with user_errors():
            store = FileRunStore(out)
            spec = build_spec(
                store, spec_file, resume, circuit=circuit, topology=topology, technology=tech, pop_size=pop, generations=gens,
                seed=seed, corners=_split(corners, str), temps_c=_split(temps, float),
                seeding="random" if random_start else None, screen_dc=screen_dc,
            )
            try:
                summary = run_with_progress(spec, store, workers, dask, resume)
            except KeyboardInterrupt:
                typer.secho(f"interrupted: continue with 'gmopt optimize --out {out} --resume'", fg=typer.colors.YELLOW, err=True)
                raise typer.Exit(code=130) from None
            console.print(
                f"{summary.status}: {summary.evaluations} evaluations ({summary.simulated} simulated, {summary.cached} "
                f"from earlier evaluations, {summary.skipped_conditions} condition runs skipped"
                f"{f', {summary.ac_skipped} AC analyses skipped by the DC screen' if summary.ac_skipped else ''}) in "
                f"{summary.wall_time_s:.1f} s; hypervolume {summary.hypervolume:.4f}; front {summary.front_size} designs"
            )
            if spec.monte_carlo is not None or spec.emulator is not None:
                console.print(
                    f"follow-ups of nominal-feasible candidates: {summary.monte_carlo_samples} Monte Carlo samples simulated, "
                    f"{summary.monte_carlo_skipped} skipped; {summary.emulator_runs} emulator runs, {summary.emulator_skipped} skipped"
                )
            print_front(store)

    @app.command()
    def front(
        run: Path = typer.Argument(..., help="Run folder written by 'gmopt optimize --out'."),
        json_output: bool = typer.Option(False, "--json", help="Print the front (with curves and provenance) as JSON."),
        csv_output: bool = typer.Option(False, "--csv", help="Print the front as CSV."),
        plot: Path | None = typer.Option(None, "--plot", help="Draw objectives, Iout-Vin curves and hypervolume to this image."),
        table8: bool = typer.Option(False, "--table8", help="Also print the best design next to the paper's Table 8."),
    ) -> None:
        """Show a run's feasible Pareto front (point 0 = best linearity)."""
        with user_errors():
            store = existing_run(run)
            if (table8 or plot is not None) and RunSpec.parse(store.read_header()[0]).is_circuit:
                raise ValueError("--table8 and --plot show an OTA run's figures; a circuit run has its front table, --json and --csv")
            if json_output:
                print_json(front_document(store))
            elif csv_output:
                typer.echo(front_csv(store.front()), nl=False)
            else:
                print_front(store)
            if table8:
                print_comparison(store, RunSpec.parse(store.read_header()[0]).topology)
            if plot is not None:
                from optimizer.plot import plot_run

                spec = RunSpec.parse(store.read_header()[0])
                typer.echo(f"wrote {plot_run(store, plot, title=f'{spec.topology} ({spec.technology})')}", err=json_output or csv_output)

    @app.command()
    def compare(
        runs: list[Path] = typer.Argument(..., help="Run folders written by 'gmopt optimize --out'."),
        plot: Path | None = typer.Option(None, "--plot", help="Draw the fronts on one plot (PNG)."),
        x_axis: str = typer.Option("rmse", "--x", help="Objective on the x axis: rmse, gain or power."),
        y_axis: str = typer.Option("gain", "--y", help="Objective on the y axis: rmse, gain or power."),
    ) -> None:
        """Compare the fronts of several runs (technologies, corners, specs): one row per run with its best design."""
        with user_errors():
            stores = [(_run_label(store), store) for store in map(existing_run, runs)]
            view = Table(title="best-linearity feasible design of each run")
            for column in ("run", "front", "gain_db", "bandwidth_mhz", "gm_ms", "phase_margin_deg", "offset_mv", "rmse_ua", "power_mw"):
                view.add_column(column, justify="left" if column == "run" else "right")
            for label, store in stores:
                front = store.front()
                best = best_linearity(front)
                row = design_row(best) if best is not None else {}
                view.add_row(label, str(len(front)), *(_fmt(row.get(key)) for key in (
                    "gain_db", "bandwidth_mhz", "gm_ms", "phase_margin_deg", "offset_mv", "rmse_ua", "power_mw")))
            console.print(view)
            if plot is not None:
                from optimizer.plot import plot_compare

                typer.echo(f"wrote {plot_compare(stores, plot, x_axis, y_axis)}")

    @app.command("export")
    def export(
        run: Path = typer.Argument(..., help="Run folder written by 'gmopt optimize --out'."),
        point: int = typer.Option(0, "--point", min=0, help="Point of the front as 'gmopt front' lists it (0 = best linearity)."),
        out: Path = typer.Option(..., "--out", help="Netlist to write (ngspice -b runs it as is)."),
    ) -> None:
        """Write one design of the front as a standalone SPICE testbench netlist."""
        with user_errors():
            store = existing_run(run)
            path = export_design(store, point, out)
            typer.echo(f"wrote {path}")

    @app.command("export-front")
    def export_front_command(
        run: Path = typer.Argument(..., help="Run folder written by 'gmopt optimize --out'."),
        out: Path = typer.Option(..., "--out", help="File to write: .json (with curves) or .csv."),
    ) -> None:
        """Save a run's front as JSON or CSV."""
        with user_errors():
            typer.echo(f"wrote {export_front(existing_run(run), out)}")

    @app.command("run-main")
    def run_main(
        workers: int = typer.Option(2, "--workers", min=1, help=WORKERS_HELP),
    ) -> None:
        """The paper's fig7 optimization (pop 20, 50 generations, seed 1, runs/fig7) next to Table 8."""
        start_workers_early(workers)
        from lut.technology import get_technology
        from ota.sizing import first_sizing
        from ota.topology import get_topology

        with user_errors():
            store = FileRunStore(RUN_MAIN_OUT)
            spec = RunSpec(topology="fig7", seed=1, pop_size=20, generations=50)
            seed = first_sizing(spec.topology, spec.technology)
            lambda_m = get_technology(spec.technology).lambda_m
            labels = [variable.label for variable in get_topology(spec.topology).variables]
            console.print("gm/ID first sizing (the seed of the initial population): " + ", ".join(
                f"{label} = {var} lambda = {var * lambda_m * 1e6:.2f} um" for label, var in zip(labels, seed)
            ))
            if store.status() != "finished":
                run_with_progress(spec, store, workers, None, resume=True)
            print_front(store)
            print_comparison(store, spec.topology)


def _run_label(store: FileRunStore) -> str:
    """What tells runs apart on a comparison: topology (or circuit), technology, corners and temperatures."""
    spec = RunSpec.parse(store.read_header()[0])
    temps = ",".join(f"{t:g}" for t in spec.temps_c)
    return f"{spec.design_name}/{spec.technology}/{','.join(spec.corners)}/{temps}C {store.folder.name}"


def export_design(store: FileRunStore, point: int, out: Path) -> Path:
    """The chosen front point as a standalone deck at the run's first (corner, temperature); a
    circuit run's point as the deck its bench runs, with the design's values."""
    spec = RunSpec.parse(store.read_header()[0])
    if spec.is_circuit:
        out.write_text(circuit_design_deck(spec, front_point(store, point).design))
        return out
    spec, row = front_design(store, point)
    out.write_text(design_netlist(spec, row))
    return out


def print_comparison(store: FileRunStore, topology: str) -> None:
    """The best-linearity feasible design next to the paper's Table 8 (or, when no design is
    feasible, the least-violating one, with the constraints it misses)."""
    from gmopt.paper import TABLE8_METRICS
    from optimizer.problem import constraint_names

    spec = RunSpec.parse(store.read_header()[0])
    best = best_linearity(store.front())
    label = "best-linearity feasible design"
    if best is None:
        best = least_violating(store.evaluations())
        if best is None:
            console.print("[yellow]no evaluations stored[/yellow]")
            return
        missed = [name for name, value in zip(constraint_names(spec), best.constraints) if value > 0]
        label = f"NO feasible design; least-violating design (misses {', '.join(missed)})"
    row = design_row(best)
    view = Table(title=f"{topology}: {label} vs the paper's Table 8")
    view.add_column("metric")
    view.add_column("gmopt", justify="right")
    view.add_column("paper Table 8", justify="right")
    # The baseline five-transistor OTA stands in for Table 8's "original OTA" (ref. [13]).
    for key, paper_value in TABLE8_METRICS["original" if topology == "baseline" else topology].items():
        view.add_row(key, _fmt(row[key]), _fmt(paper_value))
    for key in ("rmse_ua", "power_mw", "saturation_margin_mv"):
        view.add_row(key, _fmt(row[key]), "-")
    console.print(view)
    console.print(f"evaluation {best.index}, widths (um): " + ", ".join(f"{w:.2f}" for w in best.widths_um))
