"""Width changes by per-instance ``alter`` instead of ``alterparam`` + ``reset``, where that gives
the same circuit.

Why: a ``reset`` re-parses the stored deck. On sky130 that re-evaluates the binned models and
costs about 30 ms per candidate against about 1.5 ms for the analyses; an ``alter`` of an
instance costs microseconds. The two are the same circuit only if every instance value a width
sets is altered, and the instance stays in its model bin:

- Instance values are read, not assumed: at load, the testbench is re-parsed at a few widths
  (the reference method) and every width-dependent instance value of each device (``w``,
  ``pd``/``ps`` of plain MOSFETs, ``nrd``/``nrs`` = 0.14/W and the W-dependent ``delvto`` inside
  sky130's subcircuit) is fitted as ``c0 + c1 x + c2 / x + c3 / x**2`` of the finger width
  ``x``; a fit that does not reproduce every probe to ``FIT_REL`` turns the fast path off. So does
  a side-by-side check: one candidate simulated both ways must agree to ``CHECK_REL``.
- Bins: ngspice chooses a binned card (sky130 ``nshort_model.N``, gf180mcu ``nmos_3p3.N``) when it
  parses an instance, and an ``alter`` of W does not choose again. Each instance's card limits
  are read (``showmod``) after every re-parse; a candidate that puts a finger width outside its
  device's current ``[wmin, wmax)``, or within ``EDGE_REL`` of an edge, or changes a finger count
  near its rounding point, is re-parsed instead (``plan`` returns None), and the limits are read
  again.

The calibration (the probes' fits, or why the fast path is off) depends only on the deck, the
model files and the simulator, so it is kept on disk under a hash of them (``calibration_path``)
and read back by every later testbench of the same deck: each worker of a run loaded it anew,
0.19 s of probes on generic180, 0.40 s on gf180mcu and 1.2 s on sky130 per process. The
side-by-side check still runs at every load, on the read calibration as on a fresh one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import Engine, Results, SimulationError
from gmopt import __version__ as gmopt_version
from gmopt.settings import get_settings
from lut.technology import Technology
from ota.topology import Topology

# Instance values a width may set, with the power of the deck's length unit each is written in:
# reading gives lengths scaled (m), an ``alter`` takes them in the deck's units (sky130's
# ``.option scale=1u``: um).
SIZED_VALUES = {"pd": 1, "ps": 1, "ad": 2, "as": 2, "nrd": 0, "nrs": 0, "sa": 1, "sb": 1, "sd": 1, "delvto": 0, "mulu0": 0}
# Probe widths around the reference (re-parses at load: about 30 ms each on sky130); at least 5
# distinct finger widths are needed to fit 4 coefficients and check them.
PROBE_FACTORS = (0.4, 0.55, 0.75, 1.0, 1.3, 1.7, 2.2)
CHECK_FACTOR = 1.12
FIT_REL = 1e-10
CHECK_REL = 1e-9
EDGE_REL = 1e-6
# the deck's ceil(W/max - 1e-9) keeps an exact multiple (600 um = 6 x 100 um) 1e-9 from its rounding point
ROUNDING_EDGE = 1e-12


@dataclass
class _Sized:
    """One device a variable sizes: ``variable`` indexes the candidate's var."""

    instance: str
    variable: int
    max_finger_m: float | None
    unit_m: float = 1.0             # the deck's length unit (sky130: 1e-6, its subcircuits' W is in um)
    fits: dict[str, np.ndarray] | None = None
    x0_m: float = 1.0
    wmin_m: float = 0.0
    wmax_m: float = math.inf
    fingers: int = 1
    # what the alter values depend on besides the width (``Resizer.plan``); set once calibrated
    shape: tuple = ()

    def calibrated(self) -> None:
        """Note the calibration: devices of one variable with the same ``shape`` (fig7's mirror
        pairs) get the same values, computed once per candidate (``plan``)."""
        fits = tuple((name, coefficients.tobytes()) for name, coefficients in (self.fits or {}).items())
        self.shape = (self.variable, self.max_finger_m, self.unit_m, self.x0_m, fits)

    def values_at(self, width_m: float) -> dict[str, float] | None:
        """The alter values (deck units) of this device at ``width_m``, None if the device would
        change bin or its finger count is ambiguous."""
        fingers = self.fingers_of(width_m)
        if fingers is None:
            return None
        x_m = width_m / fingers
        if not self.wmin_m * (1 + EDGE_REL) <= x_m < self.wmax_m * (1 - EDGE_REL):
            return None
        values = {"w": x_m / self.unit_m, "m": float(fingers)}
        x = x_m / self.x0_m
        # _basis(x) without np.stack (0.2 ms per fig7 candidate): numpy's 1/x and x**2 (a
        # square) are the IEEE x*x and 1/x, so the same bits (tests/test_ota_resize.py)
        basis = np.array((1.0, x, 1.0 / x, 1.0 / (x * x)))
        for name, coefficients in (self.fits or {}).items():
            values[name] = float(basis @ coefficients) / self.unit_m ** SIZED_VALUES.get(name, 0)
        return values

    def fingers_of(self, width_m: float) -> int | None:
        """The finger count the deck's ``ceil(W/max - 1e-9)`` gives; None near its rounding point."""
        if self.max_finger_m is None:
            return 1
        ratio = width_m / self.max_finger_m - 1e-9
        if abs(ratio - round(ratio)) < ROUNDING_EDGE:
            return None
        return max(1, math.ceil(ratio))


def _basis(x: np.ndarray) -> np.ndarray:
    return np.stack([np.ones_like(x), x, 1.0 / x, 1.0 / x**2], axis=-1)


ParamsOf = Callable[[Sequence[int]], dict[str, float]]  # a candidate's widths -> the deck's parameters


class Resizer:
    """The alter values of each candidate's widths, or None where only a re-parse is right.

    ``reason`` says why the fast path is off (None: on)."""

    def __init__(self, engine: Engine, topology: Topology, technology: Technology, instances: Mapping[str, str],
                 params_of: ParamsOf, reference: Sequence[int], analyses: Mapping[str, str], timeout_s: float,
                 calibration: Path | None = None) -> None:
        """``calibration``: the file of this deck's calibration (``calibration_path``), read if it
        is there and written once made; None: calibrate, keep nothing."""
        self.engine = engine
        self.reason: str | None = None
        self.sized: list[_Sized] = []
        for index, variable in enumerate(topology.variables):
            for device in variable.devices:
                spec = technology.device(variable.polarity)
                self.sized.append(_Sized(instances[device], index, spec.max_finger_width_m, spec.size_unit_m))
        self.lambda_m = technology.lambda_m
        self.bounds = low, high = technology.var_bounds
        self.current: list[int] | None = None
        try:
            if not self._read(calibration):
                probes = [[int(min(high, max(low, round(v * factor)))) for v in reference] for factor in PROBE_FACTORS]
                shown = [self._sample(params_of, var) for var in probes]
                model_names = self._model_names(shown)
                if any(model_names):  # again, reading the card parameters that follow the width in full
                    samples = [self._sample(params_of, var, model_names) for var in probes]
                else:
                    samples = [[{k: v for k, v in row.items() if not k.startswith("model.")} for row in sample] for sample in shown]
                self._fit(probes, samples)
                self._write(calibration)
            for sized in self.sized:
                sized.calibrated()
            if self.reason is None:
                self._check(params_of, reference, analyses, timeout_s)
        except SimulationError as exc:
            self.reason = f"a probe did not simulate: {exc}"

    def _read(self, path: Path | None) -> bool:
        """Take the calibration kept in ``path``; False if there is none for these devices (or it does not parse)."""
        try:
            kept = json.loads(path.read_text()) if path is not None else None
            devices = kept["devices"] if kept is not None else None
            if devices is None or [device["instance"] for device in devices] != [sized.instance for sized in self.sized]:
                return False
            fits = [{name: np.array(values, dtype=float) for name, values in device["fits"].items()} for device in devices]
            x0_m = [float(device["x0_m"]) for device in devices]
        except (OSError, ValueError, KeyError, TypeError):
            return False
        for sized, fit, x0 in zip(self.sized, fits, x0_m):
            sized.fits, sized.x0_m = fit, x0
        self.reason = kept.get("reason")
        return True

    def _write(self, path: Path | None) -> None:
        """Keep the calibration in ``path`` (written whole under another name, then renamed: a
        process starting meanwhile reads the old file or the new one). A folder that cannot be
        written costs only the next load's probes."""
        if path is None:
            return
        kept = {"reason": self.reason, "devices": [
            {"instance": sized.instance, "x0_m": sized.x0_m, "fits": {name: values.tolist() for name, values in (sized.fits or {}).items()}}
            for sized in self.sized
        ]}
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            temporary.write_text(json.dumps(kept))
            os.replace(temporary, path)

    @property
    def active(self) -> bool:
        return self.reason is None

    def _sample(self, params_of: ParamsOf, var: list[int], model_names: Sequence[Sequence[str]] | None = None) -> list[dict]:
        """Re-parse at ``var`` (the reference method) and read every device's instance values, and
        its card's parameters: as ``showmod`` prints them (``model_names`` None), else those named
        per device at full precision (reading every parameter at full precision crashed ngspice)."""
        self.reparsed(params_of(var), var)
        values = []
        for number, sized in enumerate(self.sized):
            read = {name: self.engine.instance_value(sized.instance, name) for name in ("w", "m", *SIZED_VALUES)}
            base, shown = self.engine.model_parameters(sized.instance)
            if model_names is None:
                read |= {f"model.{name}": value for name, value in shown.items()}
                # showmod names a binned card without its bin: its limits tell the bins apart
                read["card"] = f"{base} " + " ".join(f"{shown.get(k)}" for k in ("lmin", "lmax", "wmin", "wmax"))
            elif model_names[number]:
                card = self.engine.model_card(base, model_names[number][0])
                read |= {f"model.{name}": self.engine.model_value(card, name) for name in model_names[number]}
                read["card"] = card
            values.append({name: value for name, value in read.items() if value is not None})
        return values

    def _model_names(self, samples: list[list[dict]]) -> list[list[str]]:
        """Per device, the card parameters that change with its width among the probes on the
        reference's card (sky130's rsh = 443.5 + 89.1 / W, from its subcircuit's parameters)."""
        names = []
        for number in range(len(self.sized)):
            rows = [sample[number] for sample in samples]
            reference = rows[PROBE_FACTORS.index(1.0)]
            same = [row for row in rows if row["card"] == reference["card"]]
            names.append([
                key.removeprefix("model.") for key in reference
                if key.startswith("model.") and len({row.get(key) for row in same}) > 1
            ])
        return names

    def _fit(self, probes: list[list[int]], samples: list[list[dict[str, float]]]) -> None:
        for number, sized in enumerate(self.sized):
            rows = [sample[number] for sample in samples]
            widths_m = np.array([var[sized.variable] * self.lambda_m for var in probes])
            fingers = np.array([row.get("m") or 1.0 for row in rows])  # 0: not set up yet (BSIM3 before an analysis)
            x_m = np.array([row["w"] for row in rows])
            expected = widths_m / fingers
            if not np.allclose(x_m, expected, rtol=FIT_REL, atol=0):
                self.reason = f"{sized.instance}: its w is not the variable's finger width (read {x_m.tolist()} m)"
                return
            sized.x0_m = float(np.median(x_m))
            if len(set(np.round(x_m / sized.x0_m, 12))) < 5:
                self.reason = f"{sized.instance}: fewer than 5 distinct probe widths"
                return
            # model parameters only over the probes on the reference's card: other bins differ anyway
            card = rows[PROBE_FACTORS.index(1.0)]["card"]
            same_card = np.array([row["card"] == card for row in rows])
            names = [*SIZED_VALUES, *(name for name in rows[PROBE_FACTORS.index(1.0)] if name.startswith("model."))]
            sized.fits = {}
            for name in names:
                use = same_card if name.startswith("model.") else np.ones(len(rows), dtype=bool)
                if not all(name in row for row, used in zip(rows, use) if used):
                    continue
                values = np.array([row[name] for row, used in zip(rows, use) if used])
                design = _basis(x_m[use] / sized.x0_m)
                if np.all(values == values[0]):
                    continue  # does not depend on the width: never altered
                if len(set(np.round(x_m[use] / sized.x0_m, 12))) < 5:
                    self.reason = f"{sized.instance}: {name} varies but fewer than 5 probes share its card"
                    return
                coefficients = np.linalg.lstsq(design, values, rcond=None)[0]
                if not np.allclose(design @ coefficients, values, rtol=FIT_REL, atol=FIT_REL * np.max(np.abs(values))):
                    self.reason = f"{sized.instance}: {name} is not c0 + c1 W + c2/W + c3/W^2 of its width ({values.tolist()})"
                    return
                sized.fits[name] = coefficients

    def _check(self, params_of: ParamsOf, reference: Sequence[int], analyses: Mapping[str, str], timeout_s: float) -> None:
        """The side-by-side check: one candidate re-parsed and altered must give the same vectors."""
        low, high = self.bounds
        check = [int(min(high, max(low, round(v * CHECK_FACTOR)))) for v in reference]
        self.reparsed(params_of(check), check)
        parsed = self.engine.run(analyses, timeout_s=timeout_s)
        self.reparsed(params_of(list(reference)), list(reference))
        alters = self.plan(check)
        if alters is None:
            return  # the check candidate crosses a bin: nothing to compare, the probes' fit stands
        self.engine.resize(params_of(check), alters)
        self.current = check
        altered = self.engine.run(analyses, timeout_s=timeout_s)
        worst = _worst_difference(parsed, altered)
        if worst > CHECK_REL:
            self.reason = f"altered and re-parsed results differ by {worst:.2g} (relative) on {check}"

    def plan(self, var: Sequence[int]) -> dict[str, dict[str, float]] | None:
        """The alter values (deck units) that bring the current circuit to ``var``, or None if a
        device would change bin or its finger count is ambiguous (re-parse instead)."""
        if not self.active or self.current is None:
            return None
        alters: dict[str, dict[str, float]] = {}
        planned: dict[tuple, dict[str, float]] = {}
        for sized in self.sized:
            # every device, changed or not, so that its values never depend on the route that set
            # them (the deck's own arithmetic differs from a fit in the last digits, and a run's
            # results must not depend on how candidates were spread over workers); the engine
            # sends only the values an instance does not hold already
            value = var[sized.variable]
            key = (value, sized.shape, sized.wmin_m, sized.wmax_m)
            values = planned.get(key)
            if values is None:
                values = planned[key] = sized.values_at(value * self.lambda_m)
                if values is None:
                    return None
            alters[sized.instance] = dict(values)
        return alters

    def altered(self, var: Sequence[int], alters: Mapping[str, Mapping[str, float]]) -> None:
        """Note that ``var`` was applied through ``plan``'s alters."""
        for sized in self.sized:
            if "m" in alters.get(sized.instance, {}):
                sized.fingers = int(alters[sized.instance]["m"])
        self.current = list(var)

    def reparsed(self, params: Mapping[str, float], var: Sequence[int] | None) -> None:
        """Re-parse at ``params`` (``var`` its widths, None: not a plain width change) and read each
        instance's finger count and bin limits again."""
        self.engine.set_params(params)
        self.current = None if var is None else list(var)
        if var is None or not self.engine.can_inspect:
            return
        for sized in self.sized:
            sized.fingers = int(self.engine.instance_value(sized.instance, "m") or 1)
            limits = self.engine.model_limits(sized.instance)
            # a card without bins reads 0 for both until set up: no upper limit
            sized.wmin_m, sized.wmax_m = limits["wmin"], limits["wmax"] or math.inf


def calibration_path(deck: str, technology: Technology, library: str) -> Path:
    """Where the calibration of ``deck`` is kept: named by a hash of the deck, the technology's
    model files, the simulator library (``library``: its path; its size and time go in the hash),
    gmopt's version and the probes."""
    stat = os.stat(library)
    meta = {
        "deck": deck, "model_hash": technology.model_hash(), "library": [library, stat.st_size, stat.st_mtime_ns],
        "gmopt": gmopt_version, "probes": PROBE_FACTORS, "sized_values": SIZED_VALUES, "fit_rel": FIT_REL,
    }
    key = hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:16]
    return get_settings().resize_cache_dir / f"{technology.name}-{key}.json"


def _worst_difference(first: Results, second: Results) -> float:
    """The largest difference between two results' vectors, relative to each vector's largest magnitude."""
    worst = 0.0
    for analysis, vectors in first.items():
        for name, values in vectors.items():
            scale = float(np.max(np.abs(values))) or 1.0
            worst = max(worst, float(np.max(np.abs(values - second[analysis][name]))) / scale)
    return worst
