"""The 5-4-2 memristor network of Figures 13-15, in ngspice and in numpy (the paper's MATLAB role).

The circuit is built from the memristances (Tables 5 and 7); the numpy reference uses the weights
those memristances realise, from ``realised_weights`` (docs/memristor.md lists where Table 7 and
Table 6 disagree and the reading taken):
* a synapse's weight is w = M_ref / M with M_ref = 10 kOhm (eq. 17); the sign in Tables 5 and 7 says
  whether the memristor feeds the adder's negative (OA1) or positive (OA2) input (Figure 9);
* the trained network (Tables 4 and 6, MATLAB) has a 1 V bias, the circuit a 0.1 V one: a bias
  memristor realises a tenth of its eq. 17 weight (Section 6: Table 5's Mbias is 10 kOhm / (10 wbias));
* hidden neurons: S = sum w x over the five inputs plus the bias; tf = logsig(k S);
* each tf goes through the 0.1 divider and a buffer (Figure 12) before the output synapses, so Table 7's
  M1..M4 realise a tenth of their eq. 17 weight on tf (-10 kOhm is -0.1: Table 6's M1out..M4out);
* Table 7's Mbias is the output bias memristor on the 0.1 V bias (+10 kOhm realises +0.1, -10 kOhm
  -0.1; Table 6 prints -1 and -0.5: Table 7 is taken); Table 7's M5 has no signal (Figure 13 gives the
  output neurons four inputs): it is tied to ground, where it carries no current into the adder's
  virtual ground, and realises nothing;
* output neurons are purelin (a buffer): Y = S_out.
Memristors whose voltage would exceed vthr (feedback and divider elements) are split into
n = ceil(1.5 |v| / vthr) equal memristors in series (eqs. 18-19 with 50 % headroom: the chains are
sized from the numpy solution's voltages, and a memristor that the circuit pushes just past vthr
drifts, raising its own voltage further).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
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
UNUSED_INPUT = "0"                  # the node of Table 7's M5 (no signal; see the module docstring)


def weight(memristance_ohm: float, reference_ohm: float = paper.REFERENCE_MEMRISTANCE_OHM) -> float:
    """Eq. 17: the synaptic weight of a memristor, signed by the adder input it feeds."""
    if memristance_ohm == 0:
        raise ValueError("a synapse memristance cannot be zero")
    return math.copysign(reference_ohm / abs(memristance_ohm), memristance_ohm)


def realised_weights(memristances_ohm: Sequence[Sequence[float]], signal_fractions: Sequence[float]) -> np.ndarray:
    """The weights of the trained network (Tables 4 and 6) that a layer's memristors realise: eq. 17
    times the fraction of the trained network's signal that each column's memristor sees (1 for an
    input, 0.1 for tf behind the divider and for the 0.1 V bias standing for 1 V, 0 for no signal)."""
    fractions = np.asarray(signal_fractions, dtype=float)
    rows = np.array([[weight(m) for m in row] for row in memristances_ohm])
    if rows.shape[1] != fractions.size:
        raise ValueError(f"{rows.shape[1]} memristances per neuron but {fractions.size} signals")
    return rows * fractions


@dataclass(frozen=True)
class NetworkSpec:
    inputs_v: tuple[float, ...] = tuple(v / 1e3 for v in paper.TABLE3_INPUTS_MV)
    bias_v: float = paper.TABLE3_BIAS_MV / 1e3
    hidden_ohm: tuple[tuple[float, ...], ...] = tuple(
        tuple(kohm * 1e3 for kohm in row) for row in paper.TABLE5_HIDDEN_MEMRISTANCES_KOHM)
    output_ohm: tuple[tuple[float, ...], ...] = tuple(
        tuple(kohm * 1e3 for kohm in row) for row in paper.TABLE7_OUTPUT_MEMRISTANCES_KOHM)
    divider_ratio: float = paper.DIVIDER_RATIO

    @property
    def bias_fraction(self) -> float:
        """The circuit's bias against the trained network's (0.1 V for 1 V: Table 5's x10 rule)."""
        return self.bias_v / paper.TRAINED_BIAS_V

    def hidden_fractions(self) -> list[float]:
        """Columns of Table 5: vin1..vin5 as they are, then the bias."""
        return [1.0] * len(self.inputs_v) + [self.bias_fraction]

    def output_fractions(self) -> list[float]:
        """Columns of Table 7: tf1..tf4 behind the divider, M5 without a signal, then the bias."""
        return [self.divider_ratio] * len(self.hidden_ohm) + [0.0, self.bias_fraction]

    def hidden_weights(self) -> np.ndarray:
        """Table 4's weights as Table 5's memristances realise them."""
        return realised_weights(self.hidden_ohm, self.hidden_fractions())

    def output_weights(self) -> np.ndarray:
        """Table 6's weights as Table 7's memristances realise them (M5's column is zero)."""
        return realised_weights(self.output_ohm, self.output_fractions())


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
    """The trained network (MATLAB's role) with the weights the memristances realise, ideal op-amps,
    a 1 V bias and the log-sigmoid of eq. 14 with coefficient ``k`` (or another ``transfer``, e.g. the
    activation circuit's own curve, to check the rest of the circuit on its own)."""
    s = spec.hidden_weights() @ np.append(spec.inputs_v, paper.TRAINED_BIAS_V)
    tf = transfer(s) if transfer is not None else logsig(s, k)
    y = spec.output_weights() @ np.concatenate([tf, [0.0, paper.TRAINED_BIAS_V]])
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


def _positive_sum(weights: np.ndarray, trained_signals: np.ndarray) -> float:
    """OA2's output magnitude (Figure 9): the positive-weight part of the sum, which M8 and M9 see."""
    return float(sum(w * x for w, x in zip(weights, trained_signals) if w > 0))


def network_netlist(spec: NetworkSpec, expected: NetworkResult) -> tuple[str, int]:
    """The network of Figure 15 (A14mod memristors, nch activation, behavioural op-amps) and its
    memristor count; ``expected`` (numpy) sizes the series chains."""
    device = get_model("a14mod")
    circuit = _Circuit(device)
    sources = [{"name": f"in{i + 1}", "level_v": v} for i, v in enumerate(spec.inputs_v)]
    sources.append({"name": "bias", "level_v": spec.bias_v})
    inputs = [f"in{i + 1}" for i in range(len(spec.inputs_v))] + ["bias"]
    hidden_trained = np.append(spec.inputs_v, paper.TRAINED_BIAS_V)
    tfs = []
    for j, (row, weights) in enumerate(zip(spec.hidden_ohm, spec.hidden_weights())):
        circuit.adder(f"h{j + 1}", list(zip(inputs, row)), f"s{j + 1}", expected.s_v[j], _positive_sum(weights, hidden_trained))
        tfs.append({"name": f"tf{j + 1}", "inp": f"s{j + 1}", "out": f"tf{j + 1}"})
        top_ohm = paper.DIVIDER_BOTTOM_OHM * (1.0 / spec.divider_ratio - 1.0)
        circuit.chain(f"d{j + 1}_top", f"tf{j + 1}", f"dv{j + 1}", top_ohm, (1 - spec.divider_ratio) * expected.tf_v[j])
        circuit.chain(f"d{j + 1}_bottom", f"dv{j + 1}", "0", paper.DIVIDER_BOTTOM_OHM, spec.divider_ratio * expected.tf_v[j])
        circuit.opamps.append({"name": f"buf{j + 1}", "inp": f"dv{j + 1}", "inn": f"tfb{j + 1}", "out": f"tfb{j + 1}"})
    out_inputs = [f"tfb{j + 1}" for j in range(len(spec.hidden_ohm))] + [UNUSED_INPUT, "bias"]
    out_trained = np.concatenate([expected.tf_v, [0.0, paper.TRAINED_BIAS_V]])
    for k, (row, weights) in enumerate(zip(spec.output_ohm, spec.output_weights())):
        circuit.adder(f"o{k + 1}", list(zip(out_inputs, row)), f"so{k + 1}", expected.y_v[k], _positive_sum(weights, out_trained))
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
