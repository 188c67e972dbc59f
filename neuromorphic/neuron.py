"""The memristor-emulator LIF neuron (paper Fig. 5, Table 9, Section 5): spikes, energy, area.

The paper does not print Fig. 5's netlist; our reconstruction (docs/neuromorphic.md) is an
axon-hillock neuron (Mead; Indiveri et al. 2011) with the paper's four blocks and exactly Table 9's
devices: current mirror TN1/TP1/TP2, integrator Cint with the leak TN2 || TN3, a Schmitt trigger of
two inverters (TP3/TN5, TP4/TN6) with capacitive positive feedback, and the memristive reset
module: TN4, switched by the spike, connects Vm to the grounded OTA memristor emulator (Cm = 40 nF).
"""

from __future__ import annotations

import time
from typing import Any
from dataclasses import asdict, dataclass, field

import numpy as np

from gmopt import paper
from lut.technology import Technology
from neuromorphic.circuit import Setup, engine, inverter_area_um2, make_setup, ota_area_um2
from neuromorphic.emulator import loop_gain
from neuromorphic.energy import energy_per_spike_j, supply_energies_j
from neuromorphic.oscillation import Oscillation, measure_oscillation
from neuromorphic.spikes import detect_spikes
from spice_templates import render

# Reconstruction choices (not printed in the paper; docs/neuromorphic.md explains them).
FEEDBACK_CAPACITANCE_F = 5e-12       # Schmitt trigger's positive feedback: hysteresis Cfb/(Cfb+Cint)*VDD
LEAK_BIAS_V = paper.BIAS_V["vbn"]    # gates of the leak TN2 || TN3: the paper's VBN rail (0.3 V)
EMULATOR_LOAD_F = paper.LOAD_CAPACITANCE_F  # the OTA's design load (Table 1) on the emulator node
SPIKE_LEVELS = (0.3, 0.7)            # spike = output rising through 0.7 VDD after being below 0.3 VDD
PLOT_POINTS = 20_000
# The oscillation probe (docs/neuromorphic.md, 'The emulator node can oscillate'): the first 20 us of
# the pulse train (its first spikes) with steps of at most 2 ns, which resolve 30-90 MHz ringing in about
# 1 s of simulation; the first 5 us (start-up from the operating point) are not analysed.
PROBE_S = 20e-6
PROBE_SETTLE_S = 5e-6
PROBE_MAX_STEP_S = 2e-9
PROBE_ZOOM_S = 0.4e-6          # the stretch of mr kept for a figure (the probe's last 400 ns)
PROBE_ENVELOPE_STEP_S = 50e-9  # the whole probe kept as a min/max envelope


@dataclass(frozen=True)
class NeuronOptions:
    """Input pulses and run length; defaults are Table 10's case (T = 5 ms, 30 % duty, 0.5 V)."""

    period_s: float = paper.NEURON_PULSES[1][0]
    duty: float = paper.NEURON_PULSES[1][1]
    amplitude_v: float = paper.NEURON_INPUT_V
    periods: int = 1
    cint_f: float = paper.CINT_F
    cm_f: float = paper.CM_F
    max_step_s: float = 50e-9
    edge_s: float = 10e-9
    timeout_s: float = 1800.0  # wall-clock limit of the transient: a ringing emulator node (probe_neuron) makes 5 ms take 3-8 min

    def __post_init__(self) -> None:
        if not 1e-7 <= self.period_s <= 1.0:
            raise ValueError(f"pulse period {self.period_s} s is outside [100 ns, 1 s]")
        if not 0.0 < self.duty < 1.0:
            raise ValueError(f"duty cycle {self.duty} must be a fraction in (0, 1), e.g. 0.3 for 30 %")
        if not 0.0 < self.amplitude_v <= 2.0:
            raise ValueError(f"input amplitude {self.amplitude_v} V is outside (0, 2] V")
        if not 1 <= self.periods <= 1000:
            raise ValueError(f"periods = {self.periods}: simulate 1 to 1000 input periods")
        for name in ("cint_f", "cm_f"):
            if not 1e-15 <= getattr(self, name) <= 1e-3:
                raise ValueError(f"{name} = {getattr(self, name)} F is outside [1 fF, 1 mF]")
        if not 1e-12 <= self.max_step_s <= self.period_s / 10:
            raise ValueError(f"maximum time step {self.max_step_s} s must be in [1 ps, period/10]")
        if not 1e-12 <= self.edge_s <= self.period_s * min(self.duty, 1 - self.duty) / 2:
            raise ValueError(f"pulse edge {self.edge_s} s does not fit in the pulse")
        if not 0.01 <= self.timeout_s <= 86_400:
            raise ValueError(f"time limit {self.timeout_s} s is outside [0.01 s, 1 day]")

    @property
    def stop_s(self) -> float:
        return self.periods * self.period_s


def neuron_sizes(tech: Technology) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """Table 9's W/L (um), each raised to the technology's minimum where it is below it; the
    second value lists what was changed (Table 9's 0.24 um TN1/TN5 are below generic180's 0.27 um)."""
    wmin_um, lmin_um = tech.wmin_m * 1e6, tech.lmin_m * 1e6
    sizes: dict[str, tuple[float, float]] = {}
    changes: list[str] = []
    for device, (width_um, length_um) in paper.TABLE9_SIZES_UM.items():
        width, length = max(width_um, wmin_um), max(length_um, lmin_um)
        if (width, length) != (width_um, length_um):
            changes.append(f"{device}: Table 9 {width_um:g}/{length_um:g} um -> {width:g}/{length:g} um ({tech.name} minimum)")
        sizes[device] = (width, length)
    return sizes, changes


def neuron_area_um2(sizes: dict[str, tuple[float, float]]) -> float:
    return sum(width * length for width, length in sizes.values())


def area_parts_um2(setup: Setup) -> tuple[dict[str, float], float, list[str]]:
    """Area without simulating (Table 10 lists it even for a run that did not finish): the simulated
    parts, the total with Table 9's own sizes, and the size changes the technology forced."""
    sizes, changes = neuron_sizes(setup.tech)
    parts = {
        "ota": ota_area_um2(setup.topology, setup.var),
        "inverter": inverter_area_um2(setup.inverter_scale),
        "neuron": neuron_area_um2(sizes),
    }
    return parts, parts["ota"] + parts["inverter"] + neuron_area_um2(paper.TABLE9_SIZES_UM), changes


@dataclass
class NeuronResult:
    """Spikes, energy by eq. 12 and area of one neuron run; ``to_dict`` is JSON-safe."""

    setup: dict
    options: dict
    spike_times_s: list[float]
    spike_count: int
    rate_hz: float
    isi_s: list[float]
    mean_isi_s: float
    energy_by_supply_j: dict[str, float]
    energy_total_j: float
    energy_per_spike_j: float
    area_um2: float
    area_table9_um2: float
    area_parts_um2: dict[str, float]
    size_adjustments: list[str]
    sim_time_s: float
    waveforms: dict[str, list[float]] = field(repr=False, default_factory=dict)

    def to_dict(self, include_waveforms: bool = False) -> dict:
        data = asdict(self)
        if not include_waveforms:
            data.pop("waveforms")
        return data


def neuron_netlist(setup: Setup, options: NeuronOptions, sizes: dict[str, tuple[float, float]]) -> str:
    def dev(name: str, drain: str, gate: str, source: str, bulk: str) -> str:
        width_um, length_um = sizes[name]
        kind = setup.tech.nmos if name.startswith("TN") else setup.tech.pmos
        return kind.instance(name.lower(), drain, gate, source, bulk, w=f"{width_um:g}u", l=f"{length_um:g}u")

    return render(
        "neuromorphic/neuron.cir.j2", topology=setup.topology, dev=dev, leak_bias_v=LEAK_BIAS_V,
        amplitude_v=options.amplitude_v, edge_s=options.edge_s, period_s=options.period_s,
        high_s=options.duty * options.period_s - options.edge_s, cint_f=options.cint_f, cfb_f=FEEDBACK_CAPACITANCE_F,
        load_f=EMULATOR_LOAD_F, state_capacitance_f=options.cm_f,
        **setup.template_values(terminal="mr", control="vbm"),
    )


def simulate_neuron(setup: Setup, options: NeuronOptions) -> NeuronResult:
    """Run the pulse train in this process's session; count spikes and integrate the supplies."""
    sizes, _ = neuron_sizes(setup.tech)
    parts, area_table9_um2, changes = area_parts_um2(setup)
    session = engine()
    started = time.perf_counter()
    session.load(neuron_netlist(setup, options, sizes))
    step = options.max_step_s
    data = session.run({"tran": f"tran {step:.6g} {options.stop_s:.6g} 0 {step:.6g}"}, timeout_s=options.timeout_s)["tran"]
    elapsed = time.perf_counter() - started
    t = data["time"]
    low, high = (level * setup.vdd_v for level in SPIKE_LEVELS)
    spikes = detect_spikes(t, data["out"], low, high)
    energies = supply_energies_j(t, {
        "vdd": (setup.vdd_v, data["vdd#branch"]),
        "vss": (-setup.vdd_v, data["vss#branch"]),
        "vddn": (setup.vdd_v, data["vddn#branch"]),
    })
    total = sum(energies.values())
    grid = np.linspace(t[0], t[-1], PLOT_POINTS)
    waves = {"time_s": grid, "vin": data["in"], "vm": data["vm"], "out": data["out"], "vb": data["vbm"]}
    return NeuronResult(
        setup=setup.describe(), options=asdict(options), spike_times_s=spikes.times_s, spike_count=spikes.count,
        rate_hz=spikes.rate_hz, isi_s=spikes.isi_s, mean_isi_s=spikes.mean_isi_s,
        energy_by_supply_j=energies, energy_total_j=total, energy_per_spike_j=energy_per_spike_j(total, spikes.count),
        area_um2=sum(parts.values()),
        area_table9_um2=area_table9_um2,
        area_parts_um2=parts, size_adjustments=changes, sim_time_s=elapsed,
        waveforms={key: (grid if key == "time_s" else np.interp(grid, t, values)).tolist() for key, values in waves.items()},
    )


@dataclass
class NeuronProbe:
    """Does the emulator node ring? The short transient's verdict on ``mr``, VB where the neuron
    holds it, and the follower loop's AC stability at that VB (the linear prediction)."""

    setup: dict
    oscillation: Oscillation
    vb_v: float
    loop: dict
    sim_time_s: float
    waveforms: dict[str, list[float]] = field(repr=False, default_factory=dict)

    @property
    def oscillating(self) -> bool:
        return self.oscillation.oscillating

    def to_dict(self, include_waveforms: bool = False) -> dict:
        data = asdict(self)
        if not include_waveforms:
            data.pop("waveforms")
        return data


def probe_neuron(setup: Setup, options: NeuronOptions) -> NeuronProbe:
    """The first ``PROBE_S`` of ``options``' pulse train, analysed for an oscillation on ``mr``."""
    sizes, _ = neuron_sizes(setup.tech)
    session = engine()
    started = time.perf_counter()
    session.load(neuron_netlist(setup, options, sizes))
    data = session.run({"tran": f"tran {PROBE_MAX_STEP_S:.6g} {PROBE_S:.6g} 0 {PROBE_MAX_STEP_S:.6g}"},
                       timeout_s=options.timeout_s)["tran"]
    t, mr = data["time"], data["mr"]
    oscillation = measure_oscillation(t, mr, PROBE_SETTLE_S, PROBE_S)
    analysed = t >= PROBE_SETTLE_S
    vb_v = float(np.mean(data["vbm"][analysed]))
    loop = loop_gain(setup, vb_v).to_dict()
    elapsed = time.perf_counter() - started
    zoom = np.linspace(PROBE_S - PROBE_ZOOM_S, PROBE_S, 1601)
    edges = np.arange(0.0, PROBE_S + PROBE_ENVELOPE_STEP_S / 2, PROBE_ENVELOPE_STEP_S)
    bins = np.clip(np.digitize(t, edges) - 1, 0, edges.size - 2)
    envelope_low = [float(mr[bins == b].min()) if np.any(bins == b) else float("nan") for b in range(edges.size - 1)]
    envelope_high = [float(mr[bins == b].max()) if np.any(bins == b) else float("nan") for b in range(edges.size - 1)]
    return NeuronProbe(
        setup=setup.describe(), oscillation=oscillation, vb_v=vb_v, loop=loop, sim_time_s=elapsed,
        waveforms={"zoom_time_s": zoom.tolist(), "zoom_mr": np.interp(zoom, t, mr).tolist(),
                   "envelope_time_s": edges[:-1].tolist(), "envelope_low": envelope_low, "envelope_high": envelope_high},
    )


def run_probe(*args: Any, options: NeuronOptions | None = None, **kwargs: Any) -> NeuronProbe:
    """``probe_neuron`` from plain arguments (``neuromorphic.circuit.make_setup``'s)."""
    return probe_neuron(make_setup(*args, **kwargs), options or NeuronOptions())


def run_neuron(*args: Any, options: NeuronOptions | None = None, **kwargs: Any) -> NeuronResult:
    """The neuron with one OTA in its memristive reset module, from ``make_setup``'s arguments."""
    return simulate_neuron(make_setup(*args, **kwargs), options or NeuronOptions())
