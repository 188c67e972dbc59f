"""Pulse programming against eqs. 12-13 and the paper's Figures 4-5."""

from __future__ import annotations

import math

import pytest

from gmopt import paper
from memristor.models import get_model
from memristor.programming import analytic_time, program


@pytest.mark.parametrize("example", paper.PROGRAM_EXAMPLES, ids=["fig4", "fig5"])
def test_paper_examples(example: tuple) -> None:
    m1, m2, volts, x1_paper, x2_paper, total_paper_s, effective_paper_s = example
    result = program(get_model("a14mod"), m1, m2, volts)
    # eq. 12 written out from the paper's fitted parameters
    k, ron, roff, m = paper.A14MOD_K, paper.A14MOD_RON_OHM, paper.A14MOD_ROFF_OHM, paper.A14MOD_M
    x1, x2 = (m1 - roff) / (ron - roff), (m2 - roff) / (ron - roff)
    eq12_s = (1 / math.tan(math.pi * x1) - 1 / math.tan(math.pi * x2)) / (math.pi * k * volts ** m)
    assert result.analytic_time_s == pytest.approx(eq12_s, rel=1e-12)
    assert result.effective_time_s == pytest.approx(eq12_s, rel=0.005)       # 1 ps edges
    assert result.ode_effective_time_s == pytest.approx(eq12_s, rel=0.005)
    assert result.pulses == math.ceil(result.effective_time_s / paper.PROGRAM_PULSE_WIDTH_S)
    assert result.effective_time_s == pytest.approx(effective_paper_s, rel=0.03)
    assert result.total_time_s == pytest.approx(total_paper_s, rel=0.03)
    assert (result.x_from, result.x_to) == pytest.approx((x1_paper, x2_paper), abs=0.001)


def test_quadrature_matches_the_closed_form() -> None:
    generic = get_model("biolek")   # any model: compare A14mod's eq. 12 with the generic integral
    a14 = get_model("a14mod")
    from scipy.integrate import quad

    closed, _ = analytic_time(a14, 0.3, 0.4, 0.9)
    numeric, _ = quad(lambda x: 1 / a14.rate(0.9, x), 0.3, 0.4)
    assert closed == pytest.approx(numeric, rel=1e-9)
    assert analytic_time(generic, 0.3, 0.4, 1.0)[0] > 0


def test_biolek_pulses_against_quadrature() -> None:
    result = program(get_model("biolek"), 8000, 7000, 1.0, width_s=20e-9, period_s=40e-9)
    assert result.effective_time_s == pytest.approx(result.analytic_time_s, rel=0.01)


def test_wrong_polarity_is_refused() -> None:
    with pytest.raises(ValueError, match="flip the amplitude"):
        program(get_model("a14mod"), 10e3, 9e3, -1.1)
    with pytest.raises(ValueError, match="vthr"):
        analytic_time(get_model("a14mod"), 0.8, 0.9, 0.1)


def test_a_memristance_outside_ron_roff_is_refused_for_windowed_models() -> None:
    """Found by the API fuzzer: Joglekar at 152 Mohm has a zero window rate (was a ZeroDivisionError)."""
    joglekar = get_model("joglekar")
    with pytest.raises(ValueError, match="reaches only"):
        joglekar.with_memristance(joglekar.roff_ohm * 10)


def test_a_pulse_of_the_wrong_polarity_cannot_program() -> None:
    biolek = get_model("biolek")
    x_low, x_high = biolek.state_for(biolek.roff_ohm * 0.9), biolek.state_for(biolek.roff_ohm * 0.5)
    forward, _ = analytic_time(biolek, x_low, x_high, 1.1)
    assert forward > 0
    with pytest.raises(ValueError, match="cannot move"):
        analytic_time(biolek, x_low, x_high, -1.1)
