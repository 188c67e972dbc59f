"""Plots of one evaluated OTA: Iout vs Vin beside its ideal line, and the open-loop Bode plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gmopt.figures import plt, save_figure
from ota.testbench import OtaResult


def plot_result(result: OtaResult, path: Path) -> Path:
    """Write a PNG with the DC transfer (and the ideal line the RMSE is taken against) and the Bode plot."""
    if not result.converged:
        raise ValueError(f"nothing to plot: the simulation did not converge ({result.error})")
    vin = np.asarray(result.vin_v)
    iout = np.asarray(result.iout_a)
    ideal = np.interp(0.0, vin, iout) + result.gm_s * vin
    figure, (transfer, magnitude, phase) = plt.subplots(1, 3, figsize=(15, 4.5))
    transfer.plot(vin, iout * 1e3, label="simulated Iout")
    transfer.plot(vin, ideal * 1e3, "--", label=f"ideal line, Gm = {result.gm_s * 1e3:.3g} mS")
    transfer.set(xlabel="differential input Vin (V)", ylabel="Iout (mA)", title=f"RMSE = {result.rmse_a:.3g} A")
    transfer.legend()
    transfer.grid(True)
    freq = np.asarray(result.freq_hz)
    magnitude.semilogx(freq, result.ac_magnitude_db)
    magnitude.set(xlabel="frequency (Hz)", ylabel="|Vout/Vin| (dB)",
                  title=f"gain {result.gain_db:.1f} dB, BW {result.bandwidth_hz:.3g} Hz, UGF {result.ugf_hz:.3g} Hz")
    magnitude.grid(True, which="both")
    phase.semilogx(freq, result.ac_phase_deg)
    phase.set(xlabel="frequency (Hz)", ylabel="phase (deg)", title=f"phase margin {result.phase_margin_deg:.1f} deg")
    phase.grid(True, which="both")
    figure.suptitle(f"{result.topology} ({result.technology}, {result.corner}, {result.temp_c:g} C)")
    return save_figure(figure, path)
