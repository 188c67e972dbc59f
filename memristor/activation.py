"""The log-sigmoid activation of Section 4: a memristor, two anti-parallel diode-connected NMOS and
the shift source, and the coefficient k of eq. 14 fitted to the circuit's transfer curve.

The paper uses discrete Si7540DP power MOSFETs; gmopt uses generic180's ``nch`` (via
``get_technology().include()``), diode-connected (gate on drain, bulk on source), wide enough to clamp
near +-0.6 V. The transfer curve comes from a fast transient ramp with the live A14mod memristor
(at 150 Ohm its state barely moves in 10 us even where |v| > vthr; the result reports the drift).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit

from engine import Engine, open_engine
from gmopt import paper
from lut.technology import get_technology
from memristor.models import A14mod, get_model
from memristor.spice import subcircuit
from spice_templates import render

DIODE_WIDTH_UM = 200.0
DIODE_LENGTH_UM = 0.18
SHIFT_V = 0.5               # logsig(0) = 0.5: the shift source V2
RAMP_S = 10e-6
SWEEP_V = (-1.0, 1.0)
FIT_RANGE_V = 0.5           # k is fitted where the network's adders operate (|S| < 0.4 V)


def logsig(vin_v: np.ndarray | float, k: float) -> np.ndarray | float:
    """Eq. 14: 1 / (1 + exp(-k vin)), in volts."""
    return 1.0 / (1.0 + np.exp(-k * vin_v))


def logsig_subckt(memristance_ohm: float = paper.ACTIVATION_MEMRISTANCE_OHM, technology: str | None = None,
                  memristor: A14mod | None = None) -> str:
    """``.subckt logsig in out`` (needs the a14mod subcircuit and the technology's models)."""
    tech = get_technology(technology)
    device = (memristor or get_model("a14mod")).with_memristance(memristance_ohm)
    size = {"w": f"{DIODE_WIDTH_UM:g}u", "l": f"{DIODE_LENGTH_UM:g}u"}
    return render("memristor/logsig.cir.j2", memristor=device.name, x0=device.x0, shift_v=SHIFT_V,
                  diode_up=tech.nmos.instance("1", "d", "d", "0", "0", **size),
                  diode_down=tech.nmos.instance("2", "0", "0", "d", "d", **size))


@dataclass(frozen=True)
class ActivationFit:
    k: float
    rms_error_v: float
    vin_v: np.ndarray
    vout_v: np.ndarray
    memristance_drift_ohm: float

    def to_json(self) -> dict:
        return {"k": self.k, "paper_k": paper.ACTIVATION_K, "rms_error_v": self.rms_error_v, "fit_range_v": FIT_RANGE_V,
                "memristance_drift_ohm": self.memristance_drift_ohm, "diode_width_um": DIODE_WIDTH_UM,
                "diode_length_um": DIODE_LENGTH_UM, "shift_v": SHIFT_V}


def transfer_curve(memristance_ohm: float = paper.ACTIVATION_MEMRISTANCE_OHM, engine: Engine | None = None
                   ) -> tuple[np.ndarray, np.ndarray, float]:
    """(vin, vout, change of the memristor's memristance during the sweep) from ngspice."""
    model = get_model("a14mod")
    netlist = render("memristor/activation.cir.j2", include=get_technology().include(),
                     memristor_subckt=subcircuit(model), logsig_subckt=logsig_subckt(memristance_ohm),
                     vmin=SWEEP_V[0], vmax=SWEEP_V[1], ramp_s=RAMP_S)
    owned = engine is None
    engine = engine or open_engine("shared")
    try:
        engine.load(netlist)
        tran = engine.run({"tran": f"tran {RAMP_S / 1000:g} {RAMP_S:g} 0 {RAMP_S / 1000:g}"})["tran"]
    finally:
        if owned:
            engine.close()
    state = tran["xtf.y"]
    drift = float(model.memristance(state[-1]) - model.memristance(state[0]))
    return np.asarray(tran["in"]), np.asarray(tran["out"]), drift


def fit_activation(memristance_ohm: float = paper.ACTIVATION_MEMRISTANCE_OHM, fit_range_v: float = FIT_RANGE_V,
                   engine: Engine | None = None) -> ActivationFit:
    """k of eq. 14 by least squares on the circuit's curve for |vin| <= fit_range_v (the paper found
    k = 5 by trial). A passive circuit has slope <= 1 while logsig's is k/4, so no k fits everywhere."""
    vin, vout, drift = transfer_curve(memristance_ohm, engine)
    inside = np.abs(vin) <= fit_range_v
    (k,), _ = curve_fit(logsig, vin[inside], vout[inside], p0=[paper.ACTIVATION_K])
    rms = float(np.sqrt(np.mean((logsig(vin[inside], k) - vout[inside]) ** 2)))
    return ActivationFit(float(k), rms, vin, vout, drift)
