"""The Python ODEs against the ngspice subcircuits, and the A14mod threshold reading."""

from __future__ import annotations

import numpy as np
import pytest

from memristor.models import get_model
from memristor.ode import simulate_ode
from memristor.spice import simulate_spice
from memristor.waveforms import PulseTrain

# Pulse trains that move each model's state well inside its window (defaults of models.py).
CASES = {
    "a14mod": (10e3, PulseTrain(1.1, 1e-9, 2e-9, 12)),
    "joglekar": (None, PulseTrain(1.1, 50e-9, 100e-9, 10, edge_s=1e-10)),
    "biolek": (None, PulseTrain(-1.1, 20e-9, 40e-9, 10, edge_s=1e-10)),
    "lehtonen_laiho": (None, PulseTrain(1.1, 0.5e-6, 1e-6, 6, edge_s=1e-9)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_ode_matches_ngspice_within_one_percent(name: str) -> None:
    start_ohm, train = CASES[name]
    model = get_model(name)
    if start_ohm is not None:
        model = model.with_memristance(start_ohm)
    ode = simulate_ode(model, train)
    spice = simulate_spice(model, train)
    moved = abs(ode.memristance_ohm[-1] - ode.memristance_ohm[0]) / ode.memristance_ohm[0]
    assert moved > 0.02, f"{name}: the pulse train should change the memristance noticeably"
    assert spice.memristance_ohm[-1] == pytest.approx(ode.memristance_ohm[-1], rel=0.01)
    current = np.interp(ode.time_s, spice.time_s, spice.current_a)
    assert np.max(np.abs(current - ode.current_a)) <= 0.01 * np.max(np.abs(ode.current_a))


def test_a14mod_state_moves_only_above_the_threshold() -> None:
    """The text and eq. 8 (not the listing's stpp(vthr - |v|)): 0.1 V < vthr keeps the state."""
    model = get_model("a14mod").with_memristance(10e3)
    below = PulseTrain(0.1, 1e-9, 2e-9, 10)
    above = PulseTrain(0.3, 1e-9, 2e-9, 10)
    for simulate in (simulate_ode, simulate_spice):
        assert simulate(model, below).memristance_ohm[-1] == pytest.approx(10e3, rel=1e-9)
        # analytic, eq. 9: d(cot(pi x)) = -pi k v^m dt over the 10 ns at 0.3 V
        expected_cot = 1 / np.tan(np.pi * model.x0) - np.pi * model.k * 0.3 ** 5 * 10e-9
        expected_x = np.arctan(1 / expected_cot) / np.pi % 1.0
        assert simulate(model, above).state[-1] == pytest.approx(expected_x, abs=2e-5)


def test_unknown_model_and_parameter_are_explained() -> None:
    with pytest.raises(ValueError, match="choose one of"):
        get_model("hp")
    with pytest.raises(ValueError, match="has no parameter"):
        get_model("biolek", vthr_v=0.2)
