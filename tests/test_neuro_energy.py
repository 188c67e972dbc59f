"""Energy by eq. 12 on a case with an analytic answer: a resistor driven by a known pulse train."""

from __future__ import annotations

import pytest

from engine import open_engine
from neuromorphic.energy import energy_per_spike_j, supply_energies_j

PULSED_RESISTOR = """pulsed resistor
v1 a 0 pulse(0 {v} 0 1n 1n {ton} {period})
r1 a 0 {r}
"""


def test_pulsed_resistor_energy_is_v_squared_over_r_times_on_time() -> None:
    volts, ohms, t_on, period, periods = 0.9, 2e3, 3e-6, 10e-6, 4
    with open_engine("shared") as session:
        session.load(PULSED_RESISTOR.format(v=volts, r=ohms, ton=t_on, period=period))
        data = session.run({"tran": f"tran 5n {periods * period} 0 5n"})["tran"]
    energies = supply_energies_j(data["time"], {"v1": (data["a"], data["v1#branch"])})
    # each pulse: V^2/R over t_on, plus the two 1 ns ramps (V^2/R * t_edge / 3 each)
    expected = periods * volts**2 / ohms * (t_on + 2 * 1e-9 / 3)
    assert energies["v1"] == pytest.approx(expected, rel=2e-3)
    assert energy_per_spike_j(energies["v1"], periods) == pytest.approx(expected / periods, rel=2e-3)


def test_energy_per_spike_without_spikes_is_undefined() -> None:
    assert energy_per_spike_j(1e-9, 0) != energy_per_spike_j(1e-9, 0)  # NaN
