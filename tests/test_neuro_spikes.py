"""Spike detection on synthetic waveforms whose spikes we placed ourselves (numpy only)."""

from __future__ import annotations

import numpy as np
import pytest

from neuromorphic.spikes import detect_spikes

VDD = 0.9


def pulse_train(times_s: list[float], width_s: float = 1e-6, step_s: float = 10e-9, stop_s: float = 100e-6) -> tuple[np.ndarray, np.ndarray]:
    """Trapezoid spikes of height VDD whose rising edge crosses 0.7 VDD at a known time."""
    t = np.arange(0.0, stop_s, step_s)
    v = np.zeros_like(t)
    rise = 100e-9
    for start in times_s:
        up = np.clip((t - start) / rise, 0, 1) * np.clip((start + width_s - t) / rise + 1, 0, 1)
        v = np.maximum(v, VDD * up)
    return t, v


def test_known_spike_times_count_rate_and_intervals() -> None:
    placed = [5e-6, 17e-6, 31e-6, 52e-6, 80e-6]
    t, v = pulse_train(placed)
    train = detect_spikes(t, v, 0.3 * VDD, 0.7 * VDD)
    # each edge crosses 0.7 VDD at start + 0.7 * rise time
    expected = np.array(placed) + 0.7 * 100e-9
    assert train.count == 5
    np.testing.assert_allclose(train.times_s, expected, atol=1e-9)
    np.testing.assert_allclose(train.isi_s, np.diff(expected), atol=2e-9)
    assert train.rate_hz == pytest.approx(5 / t[-1], rel=1e-12)


def test_ringing_around_the_upper_level_counts_once() -> None:
    t, v = pulse_train([10e-6, 40e-6])
    rng = np.random.default_rng(1)
    noisy = v + np.where(v > 0.5 * VDD, 0.2 * VDD * rng.standard_normal(v.size), 0.02 * rng.standard_normal(v.size))
    assert detect_spikes(t, noisy, 0.3 * VDD, 0.7 * VDD).count == 2


def test_no_spike_and_bad_levels() -> None:
    t = np.linspace(0, 1e-3, 1000)
    train = detect_spikes(t, 0.1 * np.sin(2e4 * t), 0.3, 0.6)
    assert train.count == 0 and train.isi_s == [] and np.isnan(train.mean_isi_s)
    with pytest.raises(ValueError, match="below the upper level"):
        detect_spikes(t, t, 0.6, 0.3)
