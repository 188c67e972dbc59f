"""Values in a designer's units: 20 uA, 2 pF, 1.26 um, 12.3 MHz (the front table, evaluate, exports).

A variable's unit follows its kind; a measure's unit follows its name's suffix, as the catalog
names them (``gbw_hz``, ``phase_margin_deg``, ``slew_rate_v_per_s``).
"""

from __future__ import annotations

import math

VARIABLE_UNITS = {"w": "m", "l": "m", "m": "", "ibias": "A", "vbias": "V", "c": "F", "r": "ohm"}
# Longest suffix first: slew_rate_v_per_s is V/s, not s.
MEASURE_UNITS = (("_v_per_s", "V/s"), ("_db", "dB"), ("_deg", "deg"), ("_hz", "Hz"), ("_w", "W"), ("_v", "V"), ("_a", "A"), ("_s", "s"))
# Units printed as plain numbers (no prefix): logarithmic or angular ones.
PLAIN_UNITS = ("dB", "deg", "", "S/A")  # a gm/ID (an electrical group's column) reads as 14.2 S/A
PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"), (1e-18, "a"))


EXACT_UNITS = {"gm_s": "S"}  # a transconductance, not a time


def measure_unit(name: str) -> str:
    if name in EXACT_UNITS:
        return EXACT_UNITS[name]
    return next((unit for suffix, unit in MEASURE_UNITS if name.endswith(suffix)), "")


def engineering(value: float | None, unit: str = "", digits: int = 4) -> str:
    """``2e-05, "A"`` -> ``20 uA``; ``-`` for a missing or non-finite value."""
    if value is None or not math.isfinite(float(value)):
        return "-"
    value = float(value)
    if unit in PLAIN_UNITS or value == 0:
        return f"{value:.{digits}g} {unit}".rstrip()
    scale, prefix = next(((s, p) for s, p in PREFIXES if abs(value) >= s * (1 - 1e-12)), PREFIXES[-1])
    return f"{value / scale:.{digits}g} {prefix}{unit}"
