"""The four memristor models of the paper (eqs. 3-6) as parameter dataclasses with their equations.

The same formulas are written once more in spice_templates/memristor/<name>.cir.j2; both sides use
the smooth step ``stpp`` of the paper's listing (row 8) so the ODE and the subcircuit agree.

A14mod step: the paper's listing (row 6) multiplies the state equation by ``stpp(vthr - |v|)``,
which lets the state move only *below* the threshold; the text ("if the voltage is lower than the
activation threshold vthr, then the time derivative of the state variable is zero"), eq. 8 (state
moves under pulses above vthr) and Figures 4-5 (programming by 1.1 V pulses, memories stable at
<= 0.1 V in the network) all say the opposite. gmopt follows the text: ``stpp(|v| - vthr)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from gmopt import paper

LINEAR_DRIFT_RON_OHM = 100.0    # Joglekar/Biolek: the paper gives no values; HP-style Ron/Roff
LINEAR_DRIFT_ROFF_OHM = 16e3
LINEAR_DRIFT_K = 5e8            # 1/(A s): a visible loop at 1.1 V, 100 kHz


def smooth_step(x: np.ndarray | float, sharpness: float) -> np.ndarray | float:
    """The listing's ``stpp(x, p) = 0.5 (1 + x / sqrt(x^2 + p))``: 0 below zero, 1 above."""
    return 0.5 * (1.0 + x / np.sqrt(x * x + sharpness))


def odd_power(v: np.ndarray | float, exponent: float) -> np.ndarray | float:
    """``sign(v) |v|^m``, ngspice's ``pwr``: v^m for the odd m the paper prescribes."""
    return np.sign(v) * np.abs(v) ** exponent


@dataclass(frozen=True)
class FitRange:
    """Where a fitted parameter may go; ``log`` fits the logarithm (rates, resistances)."""

    lower: float
    upper: float
    log: bool = False


@dataclass(frozen=True)
class MemristorModel:
    """Common part: state x0, step sharpness, and the hooks the ODE, SPICE and fit code use."""

    name: ClassVar[str]
    template: ClassVar[str]
    fit_ranges: ClassVar[dict[str, FitRange]]
    default_fit: ClassVar[tuple[str, ...] | None] = None   # None: every field of fit_ranges
    x0: float
    step_sharpness_v2: float

    @property
    def threshold_v(self) -> float | None:
        """|v| where the state equation switches on (the ODE stops there), or None."""
        return None

    def current(self, v: np.ndarray | float, x: np.ndarray | float) -> np.ndarray | float:
        raise NotImplementedError

    def rate(self, v: np.ndarray | float, x: np.ndarray | float) -> np.ndarray | float:
        """dx/dt in 1/s."""
        raise NotImplementedError

    def memristance(self, x: np.ndarray | float) -> np.ndarray | float:
        """Zero-bias memristance v/i (ohm) at state x."""
        raise NotImplementedError

    def state_for(self, memristance_ohm: float) -> float:
        """The state whose zero-bias memristance is ``memristance_ohm`` (eq. 10 for linear models)."""
        raise NotImplementedError

    def with_memristance(self, memristance_ohm: float) -> "MemristorModel":
        """The same device, started at another memristance (the listing's m0)."""
        if memristance_ohm <= 0:
            raise ValueError(f"memristance must be positive, got {memristance_ohm} ohm")
        return dataclasses.replace(self, x0=self.state_for(memristance_ohm))

    def replace(self, **values: float) -> "MemristorModel":
        return dataclasses.replace(self, **values)


@dataclass(frozen=True)
class _LinearResistance(MemristorModel):
    """M(x) = Ron x + Roff (1 - x) (eqs. 2-4, 6)."""

    ron_ohm: float
    roff_ohm: float

    def memristance(self, x: np.ndarray | float) -> np.ndarray | float:
        return self.ron_ohm * x + self.roff_ohm * (1.0 - x)

    def state_for(self, memristance_ohm: float) -> float:
        return (memristance_ohm - self.roff_ohm) / (self.ron_ohm - self.roff_ohm)

    def current(self, v: np.ndarray | float, x: np.ndarray | float) -> np.ndarray | float:
        return v / self.memristance(self._bounded(x))

    def _bounded(self, x: np.ndarray | float) -> np.ndarray | float:
        """Joglekar/Biolek windows are defined on [0, 1]: the state used is clipped there."""
        return np.clip(x, 0.0, 1.0)


@dataclass(frozen=True)
class Joglekar(_LinearResistance):
    """Eq. 3: dx/dt = k i f_J(x), f_J = 1 - (2x - 1)^(2p)."""

    name: ClassVar[str] = "joglekar"
    template: ClassVar[str] = "memristor/joglekar.cir.j2"
    fit_ranges: ClassVar[dict[str, FitRange]] = {
        "k": FitRange(1e3, 1e13, log=True), "ron_ohm": FitRange(0.1, 1e5, log=True),
        "roff_ohm": FitRange(1e2, 1e7, log=True), "x0": FitRange(0.0, 1.0),
    }
    x0: float = 0.5
    step_sharpness_v2: float = paper.A14MOD_STEP_SHARPNESS_V2
    ron_ohm: float = LINEAR_DRIFT_RON_OHM
    roff_ohm: float = LINEAR_DRIFT_ROFF_OHM
    k: float = LINEAR_DRIFT_K
    p: int = 2

    def window(self, v: np.ndarray | float, x: np.ndarray | float) -> np.ndarray | float:
        return 1.0 - (2.0 * x - 1.0) ** (2 * self.p)

    def state_for(self, memristance_ohm: float) -> float:
        """Joglekar's and Biolek's windows hold x in [0, 1], so only Ron..Roff can be reached
        (A14mod's own window lets the listing's 100 kohm synapses sit outside its range)."""
        low, high = sorted((self.ron_ohm, self.roff_ohm))
        if not low <= memristance_ohm <= high:
            raise ValueError(f"{self.name} reaches only {low:.6g} to {high:.6g} ohm (Ron to Roff), not {memristance_ohm:g}")
        return super().state_for(memristance_ohm)

    def rate(self, v: np.ndarray | float, x: np.ndarray | float) -> np.ndarray | float:
        xb = self._bounded(x)
        return self.k * self.current(v, x) * self.window(v, xb)


@dataclass(frozen=True)
class Biolek(Joglekar):
    """Eq. 4: dx/dt = k i f_B(x, i), f_B = 1 - (x - stp(-i))^(2p); stp(-i) = stp(-v) as M > 0."""

    name: ClassVar[str] = "biolek"
    template: ClassVar[str] = "memristor/biolek.cir.j2"

    def window(self, v: np.ndarray | float, x: np.ndarray | float) -> np.ndarray | float:
        return biolek_window(v, x, self.p, self.step_sharpness_v2)


def biolek_window(v: np.ndarray | float, x: np.ndarray | float, p: int, sharpness: float) -> np.ndarray | float:
    return 1.0 - (x - smooth_step(-v, sharpness)) ** (2 * p)


@dataclass(frozen=True)
class LehtonenLaiho(MemristorModel):
    """Eq. 5: i = x^n beta sinh(alpha v) + chi (exp(gamma v) - 1); dx/dt = a f_B(x, v) v^m.

    The paper gives no parameter values for this model; these defaults give a loop of the same
    size as the others at 1.1 V (mA range) and are meant to be fitted.
    """

    name: ClassVar[str] = "lehtonen_laiho"
    template: ClassVar[str] = "memristor/lehtonen_laiho.cir.j2"
    fit_ranges: ClassVar[dict[str, FitRange]] = {
        "a": FitRange(1.0, 1e12, log=True), "beta_a": FitRange(1e-9, 1.0, log=True),
        "alpha_per_v": FitRange(0.01, 20.0), "chi_a": FitRange(1e-15, 1e-2, log=True),
        "gamma_per_v": FitRange(0.01, 20.0), "x0": FitRange(0.0, 1.0),
    }
    x0: float = 0.5
    step_sharpness_v2: float = paper.A14MOD_STEP_SHARPNESS_V2
    a: float = 1e5                  # 1/(V^m s)
    m: int = 5
    n: int = 4
    p: int = 2
    beta_a: float = 1e-3
    alpha_per_v: float = 2.0
    chi_a: float = 1e-6
    gamma_per_v: float = 4.0

    def current(self, v: np.ndarray | float, x: np.ndarray | float) -> np.ndarray | float:
        xb = np.clip(x, 0.0, 1.0)
        return xb ** self.n * self.beta_a * np.sinh(self.alpha_per_v * v) + self.chi_a * np.expm1(self.gamma_per_v * v)

    def rate(self, v: np.ndarray | float, x: np.ndarray | float) -> np.ndarray | float:
        xb = np.clip(x, 0.0, 1.0)
        return self.a * biolek_window(v, xb, self.p, self.step_sharpness_v2) * odd_power(v, self.m)

    def memristance(self, x: np.ndarray | float) -> np.ndarray | float:
        return 1.0 / (np.clip(x, 0.0, 1.0) ** self.n * self.beta_a * self.alpha_per_v + self.chi_a * self.gamma_per_v)

    def state_for(self, memristance_ohm: float) -> float:
        conductance = 1.0 / memristance_ohm - self.chi_a * self.gamma_per_v
        highest = self.beta_a * self.alpha_per_v
        if not 0.0 <= conductance <= highest:
            low, high = self.memristance(1.0), self.memristance(0.0)
            raise ValueError(f"lehtonen_laiho reaches only {low:.6g} to {high:.6g} ohm at zero bias, not {memristance_ohm:g}")
        return float((conductance / highest) ** (1.0 / self.n))


@dataclass(frozen=True)
class A14mod(_LinearResistance):
    """Eq. 6: i = v / (Ron x + Roff (1 - x)); dx/dt = k sin^2(pi x) v^m stp(|v| - vthr).

    The Hann window sin^2(pi x) bounds the state itself (its zeros stop x at the integers), so x is
    not clipped: as in the paper's listing a memristance above Roff (Table 5 uses 100 kOhm) is a
    state below 0 that keeps its value under the threshold.
    """

    name: ClassVar[str] = "a14mod"
    template: ClassVar[str] = "memristor/a14mod.cir.j2"
    fit_ranges: ClassVar[dict[str, FitRange]] = {
        "k": FitRange(1e2, 1e12, log=True), "roff_ohm": FitRange(1e2, 1e7, log=True),
        "ron_ohm": FitRange(0.01, 1e4, log=True), "x0": FitRange(-1.0, 1.0), "vthr_v": FitRange(0.0, 1.0),
    }
    # Ron shows only when the loop comes within a few ohms of it; fit it on request.
    default_fit: ClassVar[tuple[str, ...] | None] = ("k", "roff_ohm", "x0", "vthr_v")
    x0: float = paper.A14MOD_X0
    step_sharpness_v2: float = paper.A14MOD_STEP_SHARPNESS_V2
    ron_ohm: float = paper.A14MOD_RON_OHM
    roff_ohm: float = paper.A14MOD_ROFF_OHM
    k: float = paper.A14MOD_K
    m: int = paper.A14MOD_M
    vthr_v: float = paper.A14MOD_VTHR_V

    @property
    def threshold_v(self) -> float | None:
        return self.vthr_v

    def _bounded(self, x: np.ndarray | float) -> np.ndarray | float:
        return x

    def rate(self, v: np.ndarray | float, x: np.ndarray | float) -> np.ndarray | float:
        return self.k * np.sin(np.pi * x) ** 2 * odd_power(v, self.m) * smooth_step(np.abs(v) - self.vthr_v, self.step_sharpness_v2)


MODELS: dict[str, type[MemristorModel]] = {cls.name: cls for cls in (Joglekar, Biolek, LehtonenLaiho, A14mod)}


def get_model(name: str, **values: float) -> MemristorModel:
    """A model by name with its defaults, some of them replaced; unknown names list the valid ones."""
    key = name.lower().replace("-", "_")
    if key not in MODELS:
        raise ValueError(f"unknown memristor model {name!r}; choose one of {', '.join(MODELS)}")
    model = MODELS[key]()
    known = {field.name for field in dataclasses.fields(model)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"{key} has no parameter {', '.join(sorted(unknown))}; it has {', '.join(sorted(known))}")
    return model.replace(**values)
