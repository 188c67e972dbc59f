"""Figures of merit of a transconductor from simulated vectors: pure numpy, no ngspice.

Kept free of the simulator so that any circuit (an OTA, an ideal VCCS used to check the maths,
a memristor emulator's OTA) is measured by the same code.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence

import numpy as np

NAN = float("nan")


def transconductance_s(vin_v: np.ndarray, iout_a: np.ndarray) -> float:
    """Small-signal Gm at Vin = 0: slope of the cubic fitted to the 7 sweep points nearest 0 V.

    A local cubic is exact for a cubic transfer and smooths ngspice's sweep noise; a plain
    central difference would be biased by the curvature (k*h^2 for I = g*v + k*v^3).
    """
    vin, iout = np.asarray(vin_v, float), np.asarray(iout_a, float)
    return _transconductance(vin, iout, np.abs(vin))


def _transconductance(vin: np.ndarray, iout: np.ndarray, distance_v: np.ndarray) -> float:
    nearest = np.argsort(distance_v)[:7]
    return float(_slope_weights(vin[nearest].tobytes()) @ iout[nearest])


@functools.lru_cache(maxsize=64)
def _slope_weights(vin_bytes: bytes) -> np.ndarray:
    """The weights that give the least-squares cubic's linear coefficient (its slope at 0 V) of
    points at these Vin (float64 bytes) as a dot product with their currents.

    Why: a testbench sweeps the same Vin points for every candidate, so the fit is one fixed
    linear map; ``np.polyfit`` solved it anew each time, 20-50 us of a candidate's 0.3 ms outside
    ngspice. The columns are scaled to |Vin| <= 1 first, as ``np.polyfit`` scales them, so the
    pseudo-inverse is of a well-conditioned matrix (measured: within 4e-13 of ``np.polyfit``'s
    slope on 2,000 run candidates; tests/test_ota_measure.py holds it to 1e-12)."""
    vin = np.frombuffer(vin_bytes)
    scale_v = float(np.max(np.abs(vin))) or 1.0
    return np.linalg.pinv(np.vander(vin / scale_v, 4))[-2] / scale_v


def linearity_rmse_a(vin_v: np.ndarray, iout_a: np.ndarray, gm_s: float) -> float:
    """Paper eq. 10, RMSE = sqrt(mean((I_ideal - I_real)^2)), against the ideal transconductor line.

    The ideal line is the tangent at Vin = 0, I_ideal = Iout(0) + Gm * Vin: it has the OTA's own
    small-signal Gm (the ideal transconductance of the paper's Fig. 10) and passes through the
    measured Iout(0), so the RMSE measures non-linearity only; the offset is reported separately.
    """
    vin, iout = np.asarray(vin_v, float), np.asarray(iout_a, float)
    return _rmse(vin, iout, gm_s, float(np.interp(0.0, vin, iout)))


def _rmse(vin: np.ndarray, iout: np.ndarray, gm_s: float, iout_at_zero_a: float) -> float:
    ideal = iout_at_zero_a + gm_s * vin
    return float(np.sqrt(np.mean((ideal - iout) ** 2)))


def input_offset_v(vin_v: np.ndarray, iout_a: np.ndarray, gm_s: float) -> float:
    """Input-referred offset: Vos = -Iout(0)/Gm, so that Iout ~ Gm*(Vin - Vos) near zero.

    The small-signal form is used rather than the zero crossing of the sweep because large
    offsets (the paper's Table 6 lists over 300 mV) lie outside the +-0.2 V sweep.
    """
    return _offset(gm_s, float(np.interp(0.0, np.asarray(vin_v, float), np.asarray(iout_a, float))))


def _offset(gm_s: float, iout_at_zero_a: float) -> float:
    if not math.isfinite(gm_s) or gm_s == 0.0:
        return NAN
    return -iout_at_zero_a / gm_s


def _crossing(freq_hz: np.ndarray, values: np.ndarray, level: float) -> float:
    """First frequency where ``values`` falls below ``level``, interpolated on log10 frequency."""
    below = np.nonzero(values < level)[0]
    if below.size == 0 or below[0] == 0:
        return NAN
    k = below[0]
    f0, f1 = np.log10(freq_hz[k - 1]), np.log10(freq_hz[k])
    v0, v1 = values[k - 1], values[k]
    return float(10 ** (f0 + (level - v0) * (f1 - f0) / (v1 - v0)))


OPEN_LOOP_METRICS = ("gain_db", "bandwidth_hz", "ugf_hz", "phase_margin_deg")


def open_loop_metrics(freq_hz: np.ndarray, response: np.ndarray) -> dict[str, float]:
    """DC gain (at the first frequency), -3 dB bandwidth, unity-gain frequency, phase margin.

    Phase margin is 180 deg plus the phase at the UGF, the phase taken relative to the DC phase
    (so a wiring that inverts the output does not shift it by 180 deg); no UGF gives NaN.
    """
    response = np.asarray(response, complex)
    return _open_loop(np.asarray(freq_hz, float).real, _magnitude_db(response), _phase_deg(response))


def _magnitude_db(response: np.ndarray) -> np.ndarray:
    return 20 * np.log10(np.maximum(np.abs(response), 1e-300))


def _phase_deg(response: np.ndarray) -> np.ndarray:
    return np.degrees(np.unwrap(np.angle(response)))


def _open_loop(freq: np.ndarray, magnitude_db: np.ndarray, unwrapped_deg: np.ndarray) -> dict[str, float]:
    """``open_loop_metrics`` from the response's magnitude (dB) and unwrapped phase (deg), which
    the testbench also keeps as curves: each is computed once per candidate."""
    gain_db = float(magnitude_db[0])
    bandwidth_hz = _crossing(freq, magnitude_db, gain_db - 10 * math.log10(2))
    ugf_hz = _crossing(freq, magnitude_db, 0.0) if gain_db > 0 else NAN
    phase_deg = unwrapped_deg - 180.0 * round(unwrapped_deg[0] / 180.0)
    if math.isfinite(ugf_hz):
        phase_at_ugf = float(np.interp(np.log10(ugf_hz), np.log10(freq), phase_deg))
        phase_margin_deg = 180.0 + phase_at_ugf
    else:
        phase_margin_deg = NAN
    return {"gain_db": gain_db, "bandwidth_hz": bandwidth_hz, "ugf_hz": ugf_hz, "phase_margin_deg": phase_margin_deg}


def supply_power_w(op: Mapping[str, float], supplies_v: Mapping[str, float]) -> float:
    """Power delivered by the supply sources: -sum(V * I), ngspice's branch current flowing into +."""
    return float(sum(-volts * op[f"{name}#branch"] for name, volts in supplies_v.items()))


def saturation_margins_v(op: Mapping[str, float], vectors: Mapping[str, tuple[str, str]]) -> dict[str, float]:
    """|VDS| - |VDSAT| per device at the operating point (magnitudes: PMOS signs differ by model)."""
    return {device: abs(op[vds]) - abs(op[vdsat]) for device, (vds, vdsat) in vectors.items()}


# -- the testbench's conventions (spice_templates/testbenches/ota_open_loop.cir.j2) ------------
OUTPUT_NODE = "out"
IOUT_VECTOR = "vhold#branch"        # current leaving the OTA output into the 0 V hold source
SWEEP_VECTORS = ("v-sweep", "vid")  # the DC sweep's own vector, named differently by back-end


AC_CURVES = ("freq_hz", "ac_magnitude_db", "ac_phase_deg")
AC_VECTORS = (OUTPUT_NODE, "frequency")  # what ``measure_ac`` reads


def dc_vectors(supplies_v: Mapping[str, float], device_vectors: Mapping[str, tuple[str, str]]) -> frozenset[str]:
    """The vectors ``measure_dc`` reads (of the 27 a fig7 testbench saves): a simulator need not
    copy the others out (``Engine.run``'s ``vectors``)."""
    return frozenset(name.lower() for name in (*SWEEP_VECTORS, IOUT_VECTOR, *_operating_point_vectors(supplies_v, device_vectors)))


def _operating_point_vectors(supplies_v: Mapping[str, float], device_vectors: Mapping[str, tuple[str, str]]) -> tuple[str, ...]:
    """The vectors ``measure_dc`` reads at the sweep's 0 V point: each supply's current and each device's VDS and VDSAT."""
    return (*(f"{name}#branch" for name in supplies_v), *(name for pair in device_vectors.values() for name in pair))


def measure_testbench(
    results: Mapping[str, Mapping[str, np.ndarray]],
    supplies_v: Mapping[str, float],
    device_vectors: Mapping[str, tuple[str, str]],
    saturation_devices: Sequence[str] | None = None,
) -> dict:
    """Every figure of merit from the ``dc`` and ``ac`` results of a testbench that follows the
    conventions above (without ``ac``: the DC figures, the open-loop ones NaN); ``device_vectors`` maps a device to its (vds, vdsat) vectors, and the
    saturation verdict covers ``saturation_devices`` (default: all of them)."""
    dc = measure_dc(results["dc"], supplies_v, device_vectors, saturation_devices)
    ac = measure_ac(results["ac"]) if "ac" in results else no_ac()
    return {**{key: ac[key] for key in OPEN_LOOP_METRICS}, **dc, **{key: ac[key] for key in AC_CURVES}}


def measure_dc(
    dc: Mapping[str, np.ndarray],
    supplies_v: Mapping[str, float],
    device_vectors: Mapping[str, tuple[str, str]],
    saturation_devices: Sequence[str] | None = None,
) -> dict:
    """The figures of the DC sweep alone (``measure_testbench``): a DC-screened candidate decides
    on them before its AC analysis runs, and keeps them after.

    The operating point is the sweep's point at Vin = 0 (the sweep passes through it): a separate
    ``op`` analysis would solve the same circuit again and cost a sixth of a candidate's time.
    """
    vin = np.real(next(dc[name] for name in SWEEP_VECTORS if name in dc))
    iout = np.real(dc[IOUT_VECTOR])
    distance_v = np.abs(vin)
    at_zero = int(np.argmin(distance_v))
    if not np.all(np.isfinite(iout)):
        raise FloatingPointError("the simulation returned non-finite values")
    # only the vectors read below: a testbench saves about 27
    op = {name: dc[name].real.item(at_zero) for name in _operating_point_vectors(supplies_v, device_vectors)}  # straight to a Python float, no numpy scalar between
    # each figure from the same arrays as its public function computes it (the same bits), the
    # shared parts once: numpy calls on 41 points cost microseconds each, more after a simulation
    gm_s = _transconductance(vin, iout, distance_v)
    iout_at_zero_a = float(np.interp(0.0, vin, iout))
    margins = saturation_margins_v(op, device_vectors)
    checked = [margins[d] for d in (margins if saturation_devices is None else saturation_devices)]
    return {
        "gm_s": gm_s,
        "rmse_a": _rmse(vin, iout, gm_s, iout_at_zero_a),
        "offset_v": _offset(gm_s, iout_at_zero_a),
        "power_w": supply_power_w(op, supplies_v),
        "margins_v": margins,
        "saturation_margin_v": min(checked) if checked else NAN,
        "all_saturated": all(m >= 0.0 for m in checked),
        "vin_v": vin.tolist(),
        "iout_a": iout.tolist(),
    }


def measure_ac(ac: Mapping[str, np.ndarray]) -> dict:
    """The open-loop figures and the AC curves (``measure_testbench``)."""
    response = np.asarray(ac[OUTPUT_NODE], complex)
    if not np.all(np.isfinite(response)):
        raise FloatingPointError("the simulation returned non-finite values")
    freq = np.real(ac["frequency"])
    if not freq.size:
        return no_ac()
    magnitude_db, phase_deg = _magnitude_db(response), _phase_deg(response)
    return {**_open_loop(freq, magnitude_db, phase_deg), "freq_hz": freq.tolist(), "ac_magnitude_db": magnitude_db.tolist(), "ac_phase_deg": phase_deg.tolist()}


def no_ac() -> dict:
    """What ``measure_ac`` gives without an AC analysis: NaN figures, empty curves."""
    return {**dict.fromkeys(OPEN_LOOP_METRICS, NAN), **{key: [] for key in AC_CURVES}}
