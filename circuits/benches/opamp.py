"""The op-amp testbench of the catalog (``opamp``): open-loop AC, CMRR, PSRR, output swing and a
unity-gain step, from one loaded deck (spice_templates/testbenches/circuit_opamp.cir.j2).

One fixture serves every analysis. lfb (1e12 H) from the output to fb, with cfb (1 F) from fb to
ground, closes a unity-gain loop at DC and opens it above 1e-6 Hz, so:
- ``dc`` of vinn across the rails: both inputs stay at the common mode while the loop moves the
  output from rail to rail; the op-amp's incremental gain dVout/dVid along it gives the swing,
  and its vinn = 0 point is the follower's operating point (offset, power, saturation margins:
  a separate ``op`` would solve the same circuit again, 1.2 ms on the Miller example);
- ``ac`` (1 Hz to 10 GHz, 10 points a decade): the open-loop response into CL (gain, GBW, UGF, PM);
- two one-point ``ac`` runs at 1 Hz after ``alter``s of the sources' ac magnitudes: common-mode
  input (vinp and vinn together) and vdd ripple, for CMRR and PSRR;
- ``tran`` after ``alter``s of rfb (beside lfb) to 1 ohm and of cfb to 0 F: a unity-gain
  follower's step response.
Changing a source's ac magnitude or a feedback element's value is an ``alter``, with no ``reset``: a
candidate costs one ``reset`` (its variables) whatever the number of analyses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from engine import Engine
from ota.measure import NAN, open_loop_metrics, saturation_margins_v, supply_power_w
from ota.netlist import AC_POINTS_PER_DECADE, AC_START_HZ, AC_STOP_HZ

from circuits.benches.base import CircuitBench

DEFAULT_LOAD_CAPACITANCE_F = 2e-12  # a typical op-amp specification's load (the Miller example's 2 pF)
FEEDBACK_H, FEEDBACK_F = 1e12, 1.0  # resonance 1.6e-7 Hz; at 1 Hz the loop returns 2.5e-14 of the output
OPEN_OHM, SHORT_OHM = 1e15, 1.0     # rfb beside lfb: open for AC (1000 x lfb at 1 Hz), the transient's short
# (rather than a tiny lfb, whose resonance with CL made the step take seconds); cfb then goes to 0 F
LOW_FREQUENCY_HZ = AC_START_HZ      # CMRR and PSRR, and the DC gain, at 1 Hz
STEP_FRACTION = 0.1                 # the step: supply / 10 (0.18 V at 1.8 V), centred on the input common mode
RISE_S = 1e-12                      # the step's edge: ideal for any op-amp below 100 GHz of GBW
SETTLING_BAND = 0.01                # settling within 1 % of the step
# The step lasts 30 tau = 30 / (2 pi UGF), time points at most tau / 5 apart: 1 % settles in 4.6 tau
# when linear, and the Miller example rings out in about 7 tau; 150 points cost about 3 ms.
TRAN_TAUS, TRAN_STEPS_PER_TAU = 30, 5
SWING_POINTS = 61                   # the DC sweep: supply / 60 between points (30 mV at 1.8 V)
SWEEP_VECTORS = ("v-sweep", "vinn")  # the DC sweep's own vector, named differently by back-end
SWING_DROP_DB = 3.0                 # the swing: where the incremental gain is within 3 dB of its peak


def gain_db(value: complex | float) -> float:
    return 20 * math.log10(max(abs(value), 1e-300))


def output_swing(out_v: np.ndarray, error_v: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The output range (V) over which the incremental gain dVout/dVid stays within
    ``SWING_DROP_DB`` of its peak, with the gain (dB) at the midpoints of the sweep's steps.

    The contiguous range around the peak is taken (a gain that recovers past a collapse does
    not count), and each end is interpolated on the gain in dB between the two sweep points; a
    gain within 3 dB up to an end of the sweep takes the sweep's end (a linear amplifier's swing
    is the whole sweep, rail to rail)."""
    gain = np.abs(np.diff(out_v) / np.where(np.diff(error_v) == 0, np.nan, np.diff(error_v)))
    gain_db_ = 20 * np.log10(np.maximum(np.nan_to_num(gain, nan=1e-300), 1e-300))
    middle = (out_v[1:] + out_v[:-1]) / 2
    peak = int(np.argmax(gain_db_))
    level = gain_db_[peak] - SWING_DROP_DB
    ends = []
    for direction in (-1, 1):
        k = peak
        while 0 <= k + direction < len(gain_db_) and gain_db_[k + direction] >= level:
            k += direction
        outside = k + direction
        if not 0 <= outside < len(gain_db_):
            ends.append(out_v[0] if direction < 0 else out_v[-1])  # within 3 dB to the end of the sweep: all of it
            continue
        fraction = (gain_db_[k] - level) / (gain_db_[k] - gain_db_[outside])
        ends.append(middle[k] + fraction * (middle[outside] - middle[k]))
    return float(abs(ends[1] - ends[0])), middle, gain_db_


def _first_crossing(time_s: np.ndarray, out_v: np.ndarray, level_v: float, after_s: float = 0.0) -> float:
    """The first time after ``after_s`` at which a rising ``out_v`` reaches ``level_v``, interpolated."""
    above = np.nonzero((out_v >= level_v) & (time_s >= after_s))[0]
    if above.size == 0 or above[0] == 0:
        return NAN
    k = int(above[0])
    return float(np.interp(level_v, out_v[k - 1:k + 1], time_s[k - 1:k + 1]))


def step_response(time_s: np.ndarray, out_v: np.ndarray, step_v: float) -> tuple[float, float]:
    """(slew rate V/s, 1 % settling time s) of a rising step that starts at t = 0.

    The slew rate is the datasheets' 10 %-90 % one: 0.8 of the output's step (first point to last)
    over the time it takes from 10 % to 90 % of it; a linear single-pole follower gives
    0.8 / ln 9 = 0.364 step / tau. (The steepest slope would be the capacitive feedthrough of the
    ideal input edge instead: 5e9 V/s on the Miller example, whose linear slope is 1.7e7 V/s.)
    The settling time is when the output last leaves the band of +-1 % of the step around its
    final value (the last point), interpolated; NaN when that is in the last fifth of the window."""
    start_v, final_v = float(out_v[0]), float(out_v[-1])
    t10 = _first_crossing(time_s, out_v, start_v + 0.1 * (final_v - start_v))
    t90 = _first_crossing(time_s, out_v, start_v + 0.9 * (final_v - start_v), t10 if math.isfinite(t10) else 0.0)
    slew = 0.8 * (final_v - start_v) / (t90 - t10) if final_v > start_v and t90 > t10 else NAN
    band = SETTLING_BAND * abs(step_v)
    outside = np.nonzero(np.abs(out_v - final_v) > band)[0]
    if outside.size == 0:
        return slew, 0.0
    k = int(outside[-1])
    if k + 1 >= len(time_s) or time_s[k] > 0.8 * time_s[-1]:
        return slew, NAN
    e0, e1 = abs(out_v[k] - final_v), abs(out_v[k + 1] - final_v)
    fraction = (e0 - band) / (e0 - e1) if e0 != e1 else 0.0
    return slew, float(time_s[k] + fraction * (time_s[k + 1] - time_s[k]))


class OpampBench(CircuitBench):
    """``opamp``: an op-amp's DC, AC, swing and step measures around its subcircuit."""

    template = "testbenches/circuit_opamp.cir.j2"
    default_load_capacitance_f = DEFAULT_LOAD_CAPACITANCE_F
    saved_nodes = ("v(out)", "v(inn)", "i(vdd)", "i(vss)")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.step_v = STEP_FRACTION * self.supply_v
        self._state: dict[tuple[str, str], float] = {}

    def _template_values(self) -> dict:
        return {
            "step_from_v": -self.supply_v * STEP_FRACTION / 2, "step_to_v": self.supply_v * STEP_FRACTION / 2, "rise_s": RISE_S,
            "fb_h": FEEDBACK_H, "fb_f": FEEDBACK_F, "open_ohm": OPEN_OHM,
        }

    # -- the analyses --------------------------------------------------------------------------
    @property
    def _ac(self) -> str:
        return f"ac dec {AC_POINTS_PER_DECADE} {AC_START_HZ:g} {AC_STOP_HZ:g}"

    @property
    def _low(self) -> str:
        return f"ac lin 1 {LOW_FREQUENCY_HZ:g} {LOW_FREQUENCY_HZ:g}"

    @property
    def _sweep(self) -> str:
        """vinn from cm - vdd to cm - vss (the output from vdd to vss, the ends rounded outwards),
        through vinn = 0 (the operating point), supply / (SWING_POINTS - 1) between points."""
        step = self.supply_v / (SWING_POINTS - 1)
        below = math.ceil((self.rails_v["vdd"] - self.input_cm_v) / step - 1e-9)
        above = math.ceil((self.input_cm_v - self.rails_v["vss"]) / step - 1e-9)
        return f"dc vinn {-below * step:.12g} {above * step:.12g} {step:.12g}"

    @staticmethod
    def _tran(ugf_hz: float) -> str:
        tau_s = 1 / (2 * math.pi * ugf_hz)
        step = tau_s / TRAN_STEPS_PER_TAU
        return f"tran {step:.6g} {TRAN_TAUS * tau_s:.6g} 0 {step:.6g}"

    def _configure(self, **values: float) -> None:
        """Alter what differs: keys ``rfb``, ``cfb`` (value) and ``<source>_acmag``."""
        names = {"rfb": ("rfb", "resistance"), "cfb": ("cfb", "capacitance")}
        for key, value in values.items():
            device, parameter = names.get(key) or (key.removesuffix("_acmag"), "acmag")
            if self._state.get((device, parameter)) != value:
                self._engine.alter(device, **{parameter: value})
                self._state[(device, parameter)] = value

    def _export_analyses(self) -> tuple[str, ...]:
        """What ``_measure`` runs, in order; the step's length comes from the UGF that ``ac`` measured."""
        return (
            self._sweep, self._ac, f"meas ac gain_db find vdb(out) at={LOW_FREQUENCY_HZ:g}", "meas ac ugf_hz when vdb(out)=0",
            f"let tstep_s = 1 / (2 * pi * ugf_hz) / {TRAN_STEPS_PER_TAU}", f"let tstop_s = {TRAN_TAUS} / (2 * pi * ugf_hz)",
            "set tstep_s = $&tstep_s", "set tstop_s = $&tstop_s",
            "alter vinn acmag=1", self._low, "alter vinn acmag=0", "alter vinp acmag=0", "alter vdd acmag=1", self._low,
            f"alter rfb resistance={SHORT_OHM:g}", "alter cfb capacitance=0", "tran $tstep_s $tstop_s 0 $tstep_s",
        )

    def _measure(self, engine: Engine, env: Mapping[str, float]) -> tuple[dict, dict, dict]:
        self._configure(rfb=OPEN_OHM, cfb=FEEDBACK_F, vinp_acmag=1.0, vinn_acmag=0.0, vdd_acmag=0.0)
        main = engine.run({"dc": self._sweep, "ac": self._ac}, timeout_s=self.timeout_s)
        self._configure(vinn_acmag=1.0)
        common = engine.run({"ac": self._low}, timeout_s=self.timeout_s)["ac"]
        self._configure(vinp_acmag=0.0, vinn_acmag=0.0, vdd_acmag=1.0)
        supply = engine.run({"ac": self._low}, timeout_s=self.timeout_s)["ac"]

        dc = main["dc"]
        sweep_v = np.real(next(dc[name] for name in SWEEP_VECTORS if name in dc))
        at_zero = int(np.argmin(np.abs(sweep_v)))
        op = {name: float(np.real(values[at_zero])) for name, values in dc.items()}
        freq = np.real(main["ac"]["frequency"])
        response = np.asarray(main["ac"]["out"], complex)
        if not (np.all(np.isfinite(response)) and all(math.isfinite(v) for v in op.values())):
            raise FloatingPointError("the simulation returned non-finite values")
        metrics = open_loop_metrics(freq, response)
        bandwidth_hz = metrics.pop("bandwidth_hz")
        metrics["gbw_hz"] = 10 ** (metrics["gain_db"] / 20) * bandwidth_hz
        differential = abs(response[0])
        metrics["cmrr_db"] = gain_db(differential) - gain_db(complex(common["out"][0]))
        metrics["psrr_db"] = gain_db(differential) - gain_db(complex(supply["out"][0]))
        metrics["offset_v"] = op["out"] - self.input_cm_v
        metrics["power_w"] = supply_power_w(op, self.rails_v)
        margins = saturation_margins_v(op, self.device_vectors)

        out_v = np.real(dc["out"])
        error_v = self.input_cm_v - np.real(dc["inn"])
        metrics["swing_v"], dc_out_v, dc_gain_db = output_swing(out_v, error_v)

        curves = {
            "freq_hz": freq.tolist(), "ac_magnitude_db": (20 * np.log10(np.maximum(np.abs(response), 1e-300))).tolist(),
            "ac_phase_deg": np.degrees(np.unwrap(np.angle(response))).tolist(), "dc_out_v": dc_out_v.tolist(), "dc_gain_db": dc_gain_db.tolist(),
            "tran_time_s": [], "tran_out_v": [],
        }
        metrics["slew_rate_v_per_s"] = metrics["settling_time_s"] = NAN
        if math.isfinite(metrics["ugf_hz"]):
            self._configure(rfb=SHORT_OHM, cfb=0.0)
            tran = engine.run({"tran": self._tran(metrics["ugf_hz"])}, timeout_s=self.timeout_s)["tran"]
            time_s, step_out_v = np.real(tran["time"]), np.real(tran["out"])
            metrics["slew_rate_v_per_s"], metrics["settling_time_s"] = step_response(time_s, step_out_v - self.input_cm_v, self.step_v)
            curves["tran_time_s"], curves["tran_out_v"] = time_s.tolist(), step_out_v.tolist()
        return metrics, margins, curves
