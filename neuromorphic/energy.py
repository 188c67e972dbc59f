"""Energy drawn from supplies, and energy per spike by the paper's eq. 12.

eq. 12: E_spike = (integral over 0..T of VDD * i(t) dt) / N. We apply it to every supply of
the circuit: each ideal voltage source delivers p(t) = -V(t) * i_branch(t) (ngspice's branch
current flows into the source's + node), and the energy is the trapezoid integral of the sum.
A source that absorbs energy on average would show as a negative contribution, so nothing is
hidden by taking absolute values.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def delivered_energy_j(time_s: np.ndarray, voltage_v: np.ndarray | float, branch_current_a: np.ndarray) -> float:
    """Energy one ideal source delivers over the samples (ngspice's sign convention)."""
    power_w = -np.asarray(voltage_v, dtype=float) * np.asarray(branch_current_a, dtype=float)
    return float(np.trapezoid(power_w, np.asarray(time_s, dtype=float)))


def supply_energies_j(time_s: np.ndarray, supplies: Mapping[str, tuple[np.ndarray | float, np.ndarray]]) -> dict[str, float]:
    """Energy per named supply; ``supplies`` maps a name to (voltage, branch current)."""
    return {name: delivered_energy_j(time_s, volts, amps) for name, (volts, amps) in supplies.items()}


def energy_per_spike_j(total_energy_j: float, spike_count: int) -> float:
    """eq. 12; NaN when nothing fired (the energy per spike is then undefined, not infinite)."""
    return total_energy_j / spike_count if spike_count > 0 else float("nan")
