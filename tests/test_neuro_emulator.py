"""The OTA memristor emulator: loop analysis against an ideal memristor, and every OTA on ngspice."""

from __future__ import annotations

import numpy as np
import pytest

from gmopt import paper
from neuromorphic.emulator import EmulatorOptions, analyse_period, run_emulator, sweep_frequency

AMPLITUDE_V = 0.5


def ideal_memristor(freq_hz: float, g0_s: float = 1e-3, k: float = 2e2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """i = (g0 + k * flux) v with v = A sin(wt): flux = A/w (1 - cos wt)."""
    w = 2 * np.pi * freq_hz
    t = np.linspace(0, 1 / freq_hz, 20001)
    v = AMPLITUDE_V * np.sin(w * t)
    flux = AMPLITUDE_V / w * (1 - np.cos(w * t))
    return t, v, (g0_s + k * flux) * v


@pytest.mark.parametrize("freq_hz", [1e5, 1e6])
def test_lobe_area_of_an_ideal_memristor_matches_the_closed_form(freq_hz: float) -> None:
    # |integral of i dv| over the v > 0 half period = 2 k A^3 / (3 w), the same for v < 0
    k = 2e2
    t, v, i = ideal_memristor(freq_hz, k=k)
    loop = analyse_period(t, v, i, 0.0, 1 / freq_hz)
    expected = 2 * k * AMPLITUDE_V**3 / (3 * 2 * np.pi * freq_hz)
    assert loop.lobe_area_pos == pytest.approx(expected, rel=1e-4)
    assert loop.lobe_area_neg == pytest.approx(expected, rel=1e-4)
    assert loop.pinch_ratio == pytest.approx(0.0, abs=1e-9)


# With the paper's Table 7 widths our fig7/fig8 OTAs carry a large output current at zero input
# (ota testbench: input offset about -0.21 V / -0.12 V, not all devices saturated), so their loops
# are shifted off the origin. fig9 is balanced with its Table 5 widths, the baseline with its own.
PINCHED_WIDTHS_UM = {
    "baseline": None,
    "fig7": paper.TABLE7_WIDTHS_UM["fig7"],
    "fig8": paper.TABLE7_WIDTHS_UM["fig8"],
    "fig9": paper.TABLE5_WIDTHS_UM["fig9"],
}
OFFSET_OTAS = {"fig7", "fig8"}


@pytest.mark.parametrize("topology", list(PINCHED_WIDTHS_UM))
def test_every_topology_loop_is_pinched_at_the_origin(topology: str, request: pytest.FixtureRequest) -> None:
    if topology in OFFSET_OTAS:
        request.applymarker(pytest.mark.xfail(strict=True, reason="the OTA's own output offset current (see comment)"))
    result = run_emulator(topology, widths_um=PINCHED_WIDTHS_UM[topology], options=EmulatorOptions(freq_hz=1e5, periods=4))
    # the drive is an ideal sine: |i| at its zeros must be under 5 % of the peak
    assert result.pinch_ratio < 0.05
    assert result.pinched


@pytest.mark.parametrize("topology", ["baseline", "fig7", "fig8", "fig9"])
def test_lobes_shrink_as_the_frequency_rises(topology: str) -> None:
    sweep = sweep_frequency(topology, [1e5, 1e6], options=EmulatorOptions(periods=4))
    low, high = sweep.results
    # VB integrates v: its swing (and the memristive part of i) falls about as 1/f
    assert (high.vb_max_v - high.vb_min_v) < 0.3 * (low.vb_max_v - low.vb_min_v)
    assert sweep.shrinks


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="frequency"):
        EmulatorOptions(freq_hz=0.0)
    with pytest.raises(ValueError, match="not both"):
        run_emulator("fig7", var=[839, 441, 121, 1963, 5906], widths_um=[75.51, 39.69, 10.89, 176.67, 531.54])
