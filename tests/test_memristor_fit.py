"""Fitting: the shipped synthetic loop, recovery of its known parameters, CSV checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from memristor import fit
from memristor.models import get_model
from memristor.trace import read_loop_csv


def test_shipped_data_set_is_small_and_reproducible() -> None:
    assert fit.SYNTHETIC_CSV.stat().st_size < 200_000
    shipped = read_loop_csv(fit.SYNTHETIC_CSV)
    regenerated, truth = fit.make_synthetic()
    assert np.allclose(shipped.current_a, regenerated.current_a, rtol=1e-6, atol=1e-12)
    stored = json.loads(fit.SYNTHETIC_TRUTH_JSON.read_text())
    assert stored["parameters"] == truth["parameters"]


@pytest.mark.slow
def test_fit_recovers_known_parameters() -> None:
    measured = read_loop_csv(fit.SYNTHETIC_CSV)
    start = fit.default_start("a14mod", measured)     # paper's values, x0 from the first samples
    assert start.k == pytest.approx(3.12e6) and start.vthr_v == pytest.approx(0.1583)
    result = fit.fit_model(measured, start)
    for name, value in fit.SYNTHETIC_TRUTH.items():
        assert result.fitted[name] == pytest.approx(value, rel=0.02), name
    # the residual is the 0.5 % noise the data set carries, not model error
    assert result.rms_error_pct == pytest.approx(100 * fit.SYNTHETIC_NOISE_FRACTION, rel=0.1)


def test_rms_error_is_zero_for_the_true_model() -> None:
    measured, _ = fit.make_synthetic()
    truth = get_model("a14mod", **fit.SYNTHETIC_TRUTH)
    _, error_pct = fit.rms_error(truth, measured)
    assert error_pct == pytest.approx(100 * fit.SYNTHETIC_NOISE_FRACTION, rel=0.1)


def test_bad_csv_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "loop.csv"
    path.write_text("time,volts\n0,0\n")
    with pytest.raises(ValueError, match="missing t, v, i"):
        read_loop_csv(path)
    with pytest.raises(ValueError, match="cannot fit"):
        fit.fit_model(read_loop_csv(fit.SYNTHETIC_CSV), get_model("a14mod"), fields=("p",))
