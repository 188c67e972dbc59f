"""The OTA open-loop testbench of the catalog (``ota_open_loop``) for any circuit package.

The same fixture and measures as the built-in OTAs' ``ota.testbench.OtaTestbench``: a
differential DC sweep of Vin = -0.2..0.2 V with the output held at 0 V (Iout, so Gm, linearity
RMSE and offset; its Vin = 0 point is the operating point: power and saturation margins) and an
open-loop AC analysis into CL (gain, -3 dB bandwidth, UGF, phase margin). ``ota.measure`` does
every computation, so a built-in written as a package measures exactly as the built-in.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine import Engine
from gmopt import paper
from ota.measure import measure_testbench
from ota.netlist import AC_START_HZ, ANALYSES, HOLD_INDUCTANCE_H

from circuits.benches.base import CircuitBench

CURVES = ("vin_v", "iout_a", "freq_hz", "ac_magnitude_db", "ac_phase_deg")


class OtaOpenLoopBench(CircuitBench):
    """``ota_open_loop``: the paper's OTA testbench (Section 4.2) around the package's subcircuit."""

    template = "testbenches/circuit_ota_open_loop.cir.j2"
    default_load_capacitance_f = paper.LOAD_CAPACITANCE_F  # Table 1: 1 pF, the built-in OTAs' load
    saved_nodes = ("v(out)", "i(vhold)", "i(vdd)", "i(vss)")

    def _template_values(self) -> dict:
        return {"hold_h": HOLD_INDUCTANCE_H}

    def _export_analyses(self) -> tuple[str, ...]:
        return (*ANALYSES.values(), f"meas ac dc_gain_db find vdb(out) at={AC_START_HZ:g}", "meas ac ugf_hz when vdb(out)=0")

    def _measure(self, engine: Engine, env: Mapping[str, float]) -> tuple[dict, dict, dict]:
        measured = measure_testbench(engine.run(ANALYSES, timeout_s=self.timeout_s), self.rails_v, self.device_vectors, self.saturation_devices)
        margins = measured.pop("margins_v")
        curves = {name: measured.pop(name) for name in CURVES}
        measured.pop("all_saturated")
        return measured, margins, curves
