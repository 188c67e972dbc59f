"""Pictures of a run like the paper's Figures 12-14: objectives, Iout-Vin curves, hypervolume."""

from __future__ import annotations

from pathlib import Path

from gmopt.figures import plt, save_figure
from optimizer.results import best_linearity, final_population
from optimizer.store import EvaluationRecord, RunStore

# (metric, scale, axis label) of the three objectives in designer units.
_AXES = {
    "rmse": ("rmse_a", 1e6, "linearity RMSE (uA)"),
    "gain": ("gain_db", 1.0, "DC gain (dB)"),
    "power": ("power_w", 1e3, "power (mW)"),
}
_PAIRS = (("rmse", "gain"), ("rmse", "power"), ("gain", "power"))


def _values(records: list[EvaluationRecord], name: str) -> list[float]:
    key, scale, _ = _AXES[name]
    return [float(record.metrics[key]) * scale for record in records]


def plot_run(store: RunStore, path: str | Path, title: str = "") -> Path:
    """Objective pairs (feasible evaluations, front, best linearity), the final population's
    Iout-Vin curves with the best-linearity design drawn thick, and hypervolume per generation."""
    evaluations = [record for record in store.evaluations() if record.feasible and not record.cached]
    front = store.front()
    best = best_linearity(front)
    figure, axes = plt.subplots(2, 3, figsize=(15, 9))
    for axis, (x_name, y_name) in zip(axes[0], _PAIRS):
        axis.scatter(_values(evaluations, x_name), _values(evaluations, y_name), s=8, c="0.75", label="feasible evaluations")
        axis.scatter(_values(front, x_name), _values(front, y_name), s=24, c="tab:blue", label="Pareto front")
        if best is not None:
            axis.scatter(_values([best], x_name), _values([best], y_name), s=120, marker="*", c="tab:red", label="best linearity")
        axis.set_xlabel(_AXES[x_name][2])
        axis.set_ylabel(_AXES[y_name][2])
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)

    curves_axis = axes[1][0]
    for record in final_population(store):
        if record.curves.get("vin_v") and record.converged:
            thick = best is not None and record.var == best.var
            curves_axis.plot(
                record.curves["vin_v"], [i * 1e3 for i in record.curves["iout_a"]],
                lw=3 if thick else 0.8, c="tab:red" if thick else "tab:blue", zorder=3 if thick else 2,
            )
    curves_axis.set_xlabel("Vin (V)")
    curves_axis.set_ylabel("Iout (mA)")
    curves_axis.set_title("final population (thick: best linearity)")
    curves_axis.grid(alpha=0.3)

    hv_axis = axes[1][1]
    history = store.hypervolumes()
    hv_axis.plot([g for g, _ in history], [hv for _, hv in history], marker=".")
    hv_axis.set_xlabel("generation")
    hv_axis.set_ylabel("hypervolume (normalised)")
    hv_axis.grid(alpha=0.3)
    axes[1][2].axis("off")
    if best is not None:
        axes[1][2].text(0.0, 1.0, _describe(best), va="top", family="monospace", fontsize=9)
    figure.suptitle(title)
    return save_figure(figure, path)


def plot_compare(runs: list[tuple[str, RunStore]], path: str | Path, x_name: str = "rmse", y_name: str = "gain") -> Path:
    """The fronts of several runs on one pair of objective axes (designer units), each labelled
    (``runs``: label, store), with each run's best-linearity design starred: the same topology in
    other technologies, corners or specs side by side."""
    figure, axis = plt.subplots(figsize=(8, 6))
    for (label, store), colour in zip(runs, plt.rcParams["axes.prop_cycle"].by_key()["color"] * 4):
        front = store.front()
        if not front:
            axis.scatter([], [], color=colour, label=f"{label}: no feasible design")
            continue
        axis.scatter(_values(front, x_name), _values(front, y_name), s=28, color=colour, label=f"{label} ({len(front)} designs)")
        best = best_linearity(front)
        axis.scatter(_values([best], x_name), _values([best], y_name), s=160, marker="*", color=colour, edgecolors="k")
    axis.set_xlabel(_AXES[x_name][2])
    axis.set_ylabel(_AXES[y_name][2])
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    axis.set_title("Pareto fronts compared (star: best linearity)")
    return save_figure(figure, path)


def _describe(record: EvaluationRecord) -> str:
    metrics = record.metrics
    lines = [
        f"best linearity: evaluation {record.index}",
        f"gain   {float(metrics['gain_db']):8.2f} dB",
        f"BW     {float(metrics['bandwidth_hz']) / 1e6:8.3f} MHz",
        f"Gm     {float(metrics['gm_s']) * 1e3:8.3f} mS",
        f"PM     {float(metrics['phase_margin_deg']):8.2f} deg",
        f"offset {float(metrics['offset_v']) * 1e3:8.2f} mV",
        f"RMSE   {float(metrics['rmse_a']) * 1e6:8.2f} uA",
        f"power  {float(metrics['power_w']) * 1e3:8.3f} mW",
        "widths (um): " + ", ".join(f"{w:.2f}" for w in record.widths_um),
    ]
    return "\n".join(lines)
