"""The 5-4-2 network: numpy against a hand computation, ngspice against numpy; the activation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gmopt import paper
from memristor.activation import fit_activation, transfer_curve
from memristor.network import NetworkSpec, numpy_network, spice_network

K = 5.0


def test_hidden_memristances_realise_table_4() -> None:
    """Table 5's memristances give Table 4's weights, the bias under Section 6's x10 rule."""
    assert NetworkSpec().hidden_weights() == pytest.approx(np.array(paper.TABLE4_HIDDEN_WEIGHTS), abs=1e-12)


def test_output_memristances_realise_these_weights_by_hand() -> None:
    """Table 7 by hand (eq. 17, w = 10 kOhm / M): M1..M4 act on tf / 10 behind the divider, Mbias on
    the 0.1 V bias standing for the trained network's 1 V, M5 has no signal."""
    weights = NetworkSpec().output_weights()
    assert weights[0, 2] == pytest.approx(10 / 5 * 0.1)         # N1out M3 = 5 kOhm on tf3 / 10
    assert weights[1, 0] == pytest.approx(-10 / 20 * 0.1)       # N2out M1 = -20 kOhm on tf1 / 10
    assert weights[1, 3] == pytest.approx(-10 / 10 * 0.1)       # N2out M4 = -10 kOhm on tf4 / 10
    assert weights[0, 5] == pytest.approx(+10 / 10 * 0.1 / 1.0)  # N1out Mbias = +10 kOhm on 0.1 V for 1 V
    assert weights[1, 5] == pytest.approx(-10 / 10 * 0.1 / 1.0)  # N2out Mbias = -10 kOhm
    assert np.all(weights[:, 4] == 0)                            # M5: tied to ground
    # where Table 6 agrees (M1out..M4out) and where it does not (Mbiasout -1, -0.5: Table 7 is taken)
    table6 = np.array(paper.TABLE6_OUTPUT_WEIGHTS)
    assert weights[:, :4] == pytest.approx(table6[:, :4], abs=1e-12)
    assert table6[:, 4].tolist() == [-1.0, -0.5] and weights[:, 5].tolist() == pytest.approx([0.1, -0.1])


def test_numpy_network_against_hand_computation() -> None:
    # Neuron N1 (Table 5 row 1: -50, 10, -100, 20, 50, 5 kOhm; eq. 17 w = 10 kOhm / M)
    s1 = -10 / 50 * 10 + 10 / 10 * 70 - 10 / 100 * 40 + 10 / 20 * 50 + 10 / 50 * 20 + 10 / 5 * 100   # mV
    assert s1 == pytest.approx(293.0)
    tf1 = 1000 / (1 + math.exp(-K * s1 / 1000))                                                      # eq. 14, mV
    result = numpy_network(NetworkSpec(), K)
    assert 1e3 * result.s_v[0] == pytest.approx(s1, rel=1e-12)
    assert 1e3 * result.tf_v[0] == pytest.approx(tf1, rel=1e-12)
    # Outputs (Table 7: M1..M4 on tf/10, Mbias on the 100 mV bias, M5 on ground)
    tf = 1e3 * result.tf_v
    y1 = -10 / 10 * tf[0] / 10 + 10 / 10 * tf[1] / 10 + 10 / 5 * tf[2] / 10 - 10 / 10 * tf[3] / 10 + 10 / 10 * 100
    y2 = -10 / 20 * tf[0] / 10 + 10 / 20 * tf[1] / 10 + 10 / 10 * tf[2] / 10 - 10 / 10 * tf[3] / 10 - 10 / 10 * 100
    assert 1e3 * result.y_v == pytest.approx([y1, y2], rel=1e-12)


def test_activation_circuit_is_a_centred_sigmoid() -> None:
    vin, vout, drift = transfer_curve()
    assert np.interp(0.0, vin, vout) == pytest.approx(0.5, abs=0.005)       # the shift source
    assert np.interp(0.3, vin, vout) + np.interp(-0.3, vin, vout) == pytest.approx(1.0, abs=0.005)
    assert abs(drift) < 1e-3                                                 # the 150 ohm memristor holds
    result = fit_activation()
    assert 4.0 < result.k < 6.0 and result.rms_error_v < 0.03


def test_ngspice_network_against_numpy() -> None:
    spec = NetworkSpec()
    vin, vout, _ = transfer_curve()
    spice = spice_network(spec, K)
    assert spice.extras["memristors"] == 105     # Table 7's M5 and Mbias included
    # numpy through the activation circuit's own curve: checks adders, dividers, buffers, outputs
    exact = numpy_network(spec, K, transfer=lambda s: np.interp(s, vin, vout))
    assert spice.s_v == pytest.approx(exact.s_v, abs=0.1e-3)        # op-amp gain 1e5
    assert spice.tf_v == pytest.approx(exact.tf_v, abs=10e-3)       # divider loads the activation
    assert spice.y_v == pytest.approx(exact.y_v, abs=1e-3)
    # numpy with eq. 14 itself (the MATLAB role): the MOS log-sigmoid is no exact logsig, up to
    # 22 mV in tf; the output layer divides that by 10 and sums it (docs/memristor.md)
    ideal = numpy_network(spec, K)
    assert spice.s_v == pytest.approx(ideal.s_v, abs=0.1e-3)
    assert spice.tf_v == pytest.approx(ideal.tf_v, abs=30e-3)
    assert spice.y_v == pytest.approx(ideal.y_v, abs=8e-3)
