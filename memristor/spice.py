"""The models as ngspice subcircuits (B-sources and a 1 F state capacitor), rendered and simulated."""

from __future__ import annotations

import numpy as np

from engine import Engine, open_engine
from memristor.models import MemristorModel
from memristor.trace import Trace
from memristor.waveforms import Waveform
from spice_templates import render

# Tight tolerances: the state node moves by 1e-4 per step and the ODE comparison wants 1 %.
ACCURATE_OPTIONS = "reltol=1e-6 abstol=1e-15 vntol=1e-9 chgtol=1e-20 method=gear maxord=2"


def subcircuit(model: MemristorModel, subckt: str | None = None) -> str:
    """The ``.subckt NAME te be y params: x0=...`` text of a model (y carries the state x)."""
    return render(model.template, model=model, subckt=subckt or model.name)


def bench_netlist(model: MemristorModel, waveform: Waveform) -> str:
    points = list(zip(waveform.time_s, waveform.voltage_v)) if waveform.kind == "pwl" else []
    return render("memristor/bench.cir.j2", subcircuit=subcircuit(model), subckt=model.name,
                  wave=waveform, points=points, options=ACCURATE_OPTIONS)


def simulate_spice(model: MemristorModel, waveform: Waveform, engine: Engine | None = None,
                   timeout_s: float = 60.0) -> Trace:
    """One transient of the model under ``waveform``, at ngspice's own time points."""
    owned = engine is None
    engine = engine or open_engine("shared")
    try:
        engine.load(bench_netlist(model, waveform))
        stop = waveform.duration_s
        step = waveform.max_step_s
        tran = engine.run({"tran": f"tran {step:.6g} {stop:.9g} 0 {step:.6g}"}, timeout_s=timeout_s)["tran"]
    finally:
        if owned:
            engine.close()
    state = np.asarray(tran["y"], dtype=float)
    voltage = np.asarray(tran["te"], dtype=float)
    return Trace(np.asarray(tran["time"], dtype=float), voltage, -np.asarray(tran["v1#branch"], dtype=float),
                 state, np.asarray(model.memristance(state)))
