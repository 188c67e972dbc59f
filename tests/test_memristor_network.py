"""The 5-4-2 network: numpy against a hand computation, ngspice against numpy; the activation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gmopt import paper
from memristor.activation import fit_activation, transfer_curve
from memristor.network import NetworkSpec, numpy_network, spice_network

K = 5.0


def test_weights_reproduce_tables_4_and_6() -> None:
    spec = NetworkSpec()
    hidden = spec.hidden_weights()
    table4 = np.array(paper.TABLE4_HIDDEN_WEIGHTS)
    assert hidden[:, :5] == pytest.approx(table4[:, :5])
    assert hidden[:, 5] * spec.bias_v == pytest.approx(table4[:, 5] * 1.0)   # Table 4's bias is 1 V
    output = spec.output_weights()
    table6 = np.array(paper.TABLE6_OUTPUT_WEIGHTS)
    assert output[:, :4] * spec.divider_ratio == pytest.approx(table6[:, :4])
    assert output[:, 4] == pytest.approx(table6[:, 4])


def test_numpy_network_against_hand_computation() -> None:
    # Neuron N1 (Table 5 row 1: -50, 10, -100, 20, 50, 5 kOhm; eq. 17 w = 10 kOhm / M)
    s1 = -10 / 50 * 10 + 10 / 10 * 70 - 10 / 100 * 40 + 10 / 20 * 50 + 10 / 50 * 20 + 10 / 5 * 100   # mV
    assert s1 == pytest.approx(293.0)
    tf1 = 1000 / (1 + math.exp(-K * s1 / 1000))                                                      # eq. 14, mV
    result = numpy_network(NetworkSpec(), K)
    assert 1e3 * result.s_v[0] == pytest.approx(s1, rel=1e-12)
    assert 1e3 * result.tf_v[0] == pytest.approx(tf1, rel=1e-12)
    # Output N1out (Table 7 row 1: -10, 10, 5, -10 kOhm on tf/10, -10 kOhm on the 100 mV bias)
    tf = 1e3 * result.tf_v
    y1 = -10 / 10 * tf[0] / 10 + 10 / 10 * tf[1] / 10 + 10 / 5 * tf[2] / 10 - 10 / 10 * tf[3] / 10 - 10 / 10 * 100
    assert 1e3 * result.y_v[0] == pytest.approx(y1, rel=1e-12)


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
    # numpy through the activation circuit's own curve: checks adders, dividers, buffers, outputs
    exact = numpy_network(spec, K, transfer=lambda s: np.interp(s, vin, vout))
    assert spice.s_v == pytest.approx(exact.s_v, abs=0.1e-3)        # op-amp gain 1e5
    assert spice.tf_v == pytest.approx(exact.tf_v, abs=10e-3)       # divider loads the activation
    assert spice.y_v == pytest.approx(exact.y_v, abs=1e-3)
