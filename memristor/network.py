"""The 5-4-2 memristor network of Figures 13-15, in ngspice and in numpy (the paper's MATLAB role).

Reading of the tables (documented in docs/memristor.md):
* a synapse's weight is w = M_ref / M with M_ref = 10 kOhm (eq. 17); the sign in Tables 5 and 7 says
  whether the memristor feeds the adder's negative (OA1) or positive (OA2) input (Figure 9);
* hidden neurons: S = sum w x over the five inputs plus w_bias * 100 mV (Table 5); tf = logsig(k S);
* each tf goes through the 0.1 divider and a buffer (Figure 12) before the output synapses, so Table 7's
  M1..M4 act on tf/10 (this reproduces Table 6 exactly: -10 kOhm on tf/10 is -0.1 on tf), and Table 7's
  M5 is the output bias synapse on the 100 mV bias (-10 kOhm: Table 6's -1); Table 7's sixth column
  has no weight in Table 6 and is not connected;
* output neurons are purelin (a buffer): Y = S_out.
Memristors whose voltage would exceed vthr (feedback and divider elements) are split into
n = ceil(1.5 |v| / vthr) equal memristors in series (eqs. 18-19 with 50 % headroom: the chains are
sized from the numpy solution's voltages, and a memristor that the circuit pushes just past vthr
drifts, raising its own voltage further).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine import Engine, open_engine
from gmopt import paper
from lut.technology import get_technology
from memristor.activation import logsig, logsig_subckt
from memristor.models import A14mod, get_model
from memristor.spice import subcircuit
from spice_templates import render

OPAMP_GAIN = 1e5                    # behavioural op-amp: 100 dB, no pole, output limited to the 3 V rails
CHAIN_HEADROOM = 1.5                # eqs. 18-19 sized on numpy's voltages, which the circuit misses by a few %
PULSE_DELAY_S = 0.1e-3
PULSE_EDGE_S = 1e-6
SAMPLE_AT_S = PULSE_DELAY_S + 0.5 * paper.NETWORK_PULSE_WIDTH_S


def weight(memristance_ohm: float, reference_ohm: float = paper.REFERENCE_MEMRISTANCE_OHM) -> float:
    """Eq. 17: the synaptic weight of a memristor, signed by the adder input it feeds."""
    if memristance_ohm == 0:
        raise ValueError("a synapse memristance cannot be zero")
    return math.copysign(reference_ohm / abs(memristance_ohm), memristance_ohm)


@dataclass(frozen=True)
class NetworkSpec:
    inputs_v: tuple[float, ...] = tuple(v / 1e3 for v in paper.TABLE3_INPUTS_MV)
    bias_v: float = paper.TABLE3_BIAS_MV / 1e3
    hidden_ohm: tuple[tuple[float, ...], ...] = tuple(
        tuple(kohm * 1e3 for kohm in row) for row in paper.TABLE5_HIDDEN_MEMRISTANCES_KOHM)
    output_ohm: tuple[tuple[float, ...], ...] = tuple(
        tuple(kohm * 1e3 for kohm in row[:5]) for row in paper.TABLE7_OUTPUT_MEMRISTANCES_KOHM)
    divider_ratio: float = paper.DIVIDER_RATIO

    def hidden_weights(self) -> np.ndarray:
        return np.array([[weight(m) for m in row] for row in self.hidden_ohm])

    def output_weights(self) -> np.ndarray:
        return np.array([[weight(m) for m in row] for row in self.output_ohm])


@dataclass(frozen=True)
class NetworkResult:
    s_v: np.ndarray
    tf_v: np.ndarray
    y_v: np.ndarray
    extras: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"S_mv": (1e3 * self.s_v).tolist(), "tf_mv": (1e3 * self.tf_v).tolist(),
                "Y_mv": (1e3 * self.y_v).tolist(), **self.extras}


def numpy_network(spec: NetworkSpec, k: float, transfer: Callable[[np.ndarray], np.ndarray] | None = None) -> NetworkResult:
    """Ideal op-amps and the log-sigmoid of eq. 14 with coefficient ``k`` (or another ``transfer``,
    e.g. the activation circuit's own curve, to check the rest of the circuit on its own)."""
    hidden_in = np.append(spec.inputs_v, spec.bias_v)
    s = spec.hidden_weights() @ hidden_in
    tf = transfer(s) if transfer is not None else logsig(s, k)
    y = spec.output_weights() @ np.append(spec.divider_ratio * tf, spec.bias_v)
    return NetworkResult(s, tf, y, {"k": k})


# --- the circuit ------------------------------------------------------------------------------
@dataclass
class _Circuit:
    """Element lists the template turns into lines; names and nodes are gmopt's own."""

    device: A14mod
    memristors: list[dict] = field(default_factory=list)
    opamps: list[dict] = field(default_factory=list)

    def chain(self, name: str, a: str, b: str, memristance_ohm: float, volts_across: float) -> None:
        """A memristance as n equal memristors in series, each below vthr (eqs. 18-19)."""
        count = max(1, math.ceil(CHAIN_HEADROOM * abs(volts_across) / self.device.vthr_v))
        nodes = [a, *(f"{name}_{i}" for i in range(1, count)), b]
        x0 = self.device.state_for(abs(memristance_ohm) / count)
        for i in range(count):
            self.memristors.append({"name": f"{name}_{i}", "a": nodes[i], "b": nodes[i + 1], "x0": x0})

    def adder(self, name: str, inputs: list[tuple[str, float]], output: str, out_v: float, pos_v: float) -> None:
        """Figure 9: negative-weight synapses into OA1, positive into OA2, OA2 into OA1 via M8.
        Synapses see at most the input (<= 100 mV, below vthr); M7 sees the output, M8/M9 OA2's."""
        reference = paper.FEEDBACK_MEMRISTANCE_OHM
        for index, (node, memristance) in enumerate(inputs):
            side = "neg" if memristance < 0 else "pos"
            self.chain(f"{name}_m{index + 1}", node, f"{name}_{side}", memristance, 0.0)
        self.chain(f"{name}_m7", output, f"{name}_neg", reference, out_v)
        self.chain(f"{name}_m9", f"{name}_oa2", f"{name}_pos", reference, pos_v)
        self.chain(f"{name}_m8", f"{name}_oa2", f"{name}_neg", reference, pos_v)
        self.opamps.append({"name": f"{name}_oa1", "inp": "0", "inn": f"{name}_neg", "out": output})
        self.opamps.append({"name": f"{name}_oa2", "inp": "0", "inn": f"{name}_pos", "out": f"{name}_oa2"})


def network_netlist(spec: NetworkSpec, expected: NetworkResult) -> tuple[str, int]:
    """The network of Figure 15 (A14mod memristors, nch activation, behavioural op-amps) and its
    memristor count; ``expected`` (numpy) sizes the series chains."""
    device = get_model("a14mod")
    circuit = _Circuit(device)
    sources = [{"name": f"in{i + 1}", "level_v": v} for i, v in enumerate(spec.inputs_v)]
    sources.append({"name": "bias", "level_v": spec.bias_v})
    inputs = [f"in{i + 1}" for i in range(len(spec.inputs_v))] + ["bias"]
    tfs = []
    for j, row in enumerate(spec.hidden_ohm):
        weights = spec.hidden_weights()[j]
        positive = sum(w * v for w, v in zip(weights, [*spec.inputs_v, spec.bias_v]) if w > 0)
        circuit.adder(f"h{j + 1}", list(zip(inputs, row)), f"s{j + 1}",
                      expected.s_v[j], positive)
        tfs.append({"name": f"tf{j + 1}", "inp": f"s{j + 1}", "out": f"tf{j + 1}"})
        top_ohm = paper.DIVIDER_BOTTOM_OHM * (1.0 / spec.divider_ratio - 1.0)
        circuit.chain(f"d{j + 1}_top", f"tf{j + 1}", f"dv{j + 1}", top_ohm, (1 - spec.divider_ratio) * expected.tf_v[j])
        circuit.chain(f"d{j + 1}_bottom", f"dv{j + 1}", "0", paper.DIVIDER_BOTTOM_OHM, spec.divider_ratio * expected.tf_v[j])
        circuit.opamps.append({"name": f"buf{j + 1}", "inp": f"dv{j + 1}", "inn": f"tfb{j + 1}", "out": f"tfb{j + 1}"})
    out_inputs = [f"tfb{j + 1}" for j in range(len(spec.hidden_ohm))] + ["bias"]
    out_values = [*(spec.divider_ratio * expected.tf_v), spec.bias_v]
    for k, row in enumerate(spec.output_ohm):
        weights = spec.output_weights()[k]
        positive = sum(w * v for w, v in zip(weights, out_values) if w > 0)
        circuit.adder(f"o{k + 1}", list(zip(out_inputs, row)), f"so{k + 1}",
                      expected.y_v[k], positive)
        circuit.opamps.append({"name": f"pl{k + 1}", "inp": f"so{k + 1}", "inn": f"y{k + 1}", "out": f"y{k + 1}"})
    return render(
        "memristor/network.cir.j2", include=get_technology().include(), memristor_subckt=subcircuit(device),
        logsig_subckt=logsig_subckt(), memristor=device.name, sources=sources, memristors=circuit.memristors,
        opamps=circuit.opamps, tfs=tfs, gain=OPAMP_GAIN, rail_v=paper.OPAMP_SUPPLY_V, delay_s=PULSE_DELAY_S,
        edge_s=PULSE_EDGE_S, width_s=paper.NETWORK_PULSE_WIDTH_S - PULSE_EDGE_S, period_s=2 * paper.NETWORK_PULSE_WIDTH_S,
    ), len(circuit.memristors)


def spice_network(spec: NetworkSpec, k: float, engine: Engine | None = None) -> NetworkResult:
    """One input pulse through the circuit; levels read mid-pulse (Figure 16's plateaus)."""
    expected = numpy_network(spec, k)
    owned = engine is None
    engine = engine or open_engine("shared")
    try:
        netlist, memristor_count = network_netlist(spec, expected)
        engine.load(netlist)
        stop = PULSE_DELAY_S + paper.NETWORK_PULSE_WIDTH_S
        tran = engine.run({"tran": f"tran 2u {stop:g} 0 5u"}, timeout_s=120)["tran"]
    finally:
        if owned:
            engine.close()

    def level(node: str) -> float:
        return float(np.interp(SAMPLE_AT_S, tran["time"], tran[node]))

    count_hidden, count_out = len(spec.hidden_ohm), len(spec.output_ohm)
    return NetworkResult(
        np.array([level(f"s{j + 1}") for j in range(count_hidden)]),
        np.array([level(f"tf{j + 1}") for j in range(count_hidden)]),
        np.array([level(f"y{k + 1}") for k in range(count_out)]),
        {"opamp_gain": OPAMP_GAIN, "memristors": memristor_count, "k": k},
    )
