"""One loaded OTA testbench per instance: widths change in place, dc + ac run per candidate.

The circuit is parsed once; each candidate costs a per-instance ``alter`` of the widths it
changes (``ota.resize``: the same circuit as ``alterparam`` of var1..varN + ``reset``, which is
used instead where a device changes model bin, a free length changes, or on a Monte Carlo
testbench) and the two analyses (the dc sweep's Vin = 0 point is the operating point). A candidate that ngspice
cannot simulate is a result (``converged=False`` with ngspice's words), never an exception,
because an optimizer must be able to score it.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from engine import Backend, SimulationError, open_engine
from engine.shared import library_file
from lut.technology import Condition, Technology, resolve_condition
from ota.measure import AC_VECTORS, NAN, dc_vectors, measure_ac, measure_dc, no_ac
from ota.netlist import ANALYSES, DEVICE_QUANTITIES, bias_sources, device_vector, length_parameter, testbench_netlist
from ota.resize import Resizer, calibration_path
from ota.topology import get_topology

DEFAULT_TIMEOUT_S = 30.0
CURVES = ("vin_v", "iout_a", "freq_hz", "ac_magnitude_db", "ac_phase_deg")  # the swept vectors of a result
# What a Monte Carlo sample changes per device: ``dvth_v`` is added to the instance's ``delvto`` (V
# added to the threshold) and ``beta_factor`` multiplies its ``mulu0`` (factor on the mobility U0, so
# on the current factor beta), both BSIM3/BSIM4 instance parameters; measured on ngspice 39:
# delvto = 10 mV moves VTH by exactly 10 mV. Relative to the instance's own values, because PDK
# devices set them (sky130's nfet_01v8 puts its corner's threshold shift into delvto).
SHIFTS = ("dvth_v", "beta_factor")
SHIFTED_PARAMETERS = ("delvto", "mulu0")
# The instance lines gmopt writes for plain MOSFETs (lut.technology.Device.instance) set neither.
BSIM_DEFAULTS = {"delvto": 0.0, "mulu0": 1.0}


@dataclass(frozen=True)
class DcScreen:
    """Hard limits the DC sweep alone decides (the run's offset limit, and saturation if required):
    a candidate that misses one is infeasible whatever its AC response, so its AC analysis (about
    40 % of a generic180 candidate) is skipped."""

    offset_max_v: float
    require_saturation: bool

    def reason(self, metrics: Mapping[str, object]) -> str | None:
        offset_v, margin_v = float(metrics["offset_v"]), float(metrics["saturation_margin_v"])
        if not abs(offset_v) <= self.offset_max_v:
            return f"AC not simulated: |offset| {abs(offset_v):.3g} V > {self.offset_max_v:g} V"
        if self.require_saturation and not margin_v >= 0.0:
            return f"AC not simulated: a device is out of saturation by {-margin_v:.3g} V"
        return None


@dataclass
class OtaResult:
    """Figures of merit of one candidate; metrics are NaN when the simulation failed."""

    converged: bool
    error: str | None
    var: list[int]
    widths_um: list[float]
    gain_db: float = NAN
    bandwidth_hz: float = NAN
    ugf_hz: float = NAN
    phase_margin_deg: float = NAN
    gm_s: float = NAN
    rmse_a: float = NAN
    offset_v: float = NAN
    power_w: float = NAN
    saturation_margin_v: float = NAN
    all_saturated: bool = False
    margins_v: dict[str, float] = field(default_factory=dict)
    vin_v: list[float] = field(default_factory=list)
    iout_a: list[float] = field(default_factory=list)
    freq_hz: list[float] = field(default_factory=list)
    ac_magnitude_db: list[float] = field(default_factory=list)
    ac_phase_deg: list[float] = field(default_factory=list)
    ac_skipped: str | None = None  # why the AC analysis was not run (``DcScreen``): its metrics are NaN
    sim_time_s: float = NAN
    topology: str = ""
    technology: str = ""
    corner: str = ""
    temp_c: float = NAN

    def to_dict(self, curves: bool | Collection[str] = True) -> dict:
        """The fields as plain values (an unmeasured metric stays NaN: writers of JSON encode it
        with ``gmopt.floats``). ``curves``: every swept vector (True), none (False), or only
        those named (an optimizer keeps two of five, and each costs a copy and a trip between
        processes per candidate).

        Lists and dicts are copied one level deep: every field holds numbers, strings or a flat
        list or dict of them, so a caller changing the dict never changes this result (a
        ``copy.deepcopy`` cost 0.25 ms per generic180 candidate, a third of its time outside ngspice)."""
        keep = set(CURVES if curves is True else () if curves is False else curves)
        return {
            name: value.copy() if isinstance(value, (list, dict)) else value
            for name, value in ((name, getattr(self, name)) for name in _FIELD_NAMES) if name not in CURVES or name in keep
        }


_FIELD_NAMES = tuple(item.name for item in fields(OtaResult))


class OtaTestbench:
    """A loaded testbench of one topology at one condition (technology, corner and temperature)."""

    def __init__(
        self,
        topology: str = "fig7",
        technology: Condition | Technology | str = "generic180",
        corner: str | None = None,
        temp_c: float | None = None,
        backend: Backend = "shared",
        timeout_s: float = DEFAULT_TIMEOUT_S,
        bias_v: Mapping[str, float] | None = None,
        length_labels: Sequence[str] = (),
        shiftable: bool = False,
    ) -> None:
        """``technology``: a ``Condition`` (``Technology.at``), or a technology (name) checked here
        at ``corner`` and ``temp_c`` (None: its default corner, 27 degC).
        ``bias_v``: the OTA's bias voltages by pin (None: the technology's fixed ones);
        ``length_labels``: variables whose channel length each candidate may set (``evaluate``).
        ``shiftable``: ``evaluate`` takes Monte Carlo shifts. The shifts start from each
        instance's own ``delvto`` and ``mulu0``: BSIM's defaults for the plain MOSFETs gmopt writes,
        read from the simulator for PDK subcircuit devices (their deck then also saves the two,
        which costs about 20 % per analysis, so plain decks do not)."""
        self.topology = get_topology(topology)
        self.condition = resolve_condition(technology, corner, temp_c)
        self.technology, self.corner, self.temp_c = self.condition.technology, self.condition.corner, self.condition.temp_c
        self.timeout_s = timeout_s
        self.bias_v = dict(bias_v) if bias_v is not None else None
        self._supplies_v = {"vdd": self.technology.vdd_v, "vss": self.technology.vss_v}
        self._device_vectors = {
            device: tuple(device_vector(self.technology, device, q) for q in DEVICE_QUANTITIES)
            for device in self.topology.devices
        }
        self._measured = {"dc": dc_vectors(self._supplies_v, self._device_vectors), "ac": frozenset(AC_VECTORS)}  # what the measures read
        # the flattened instance name ngspice's ``alter`` takes: @m.xota.mn2[vds] -> m.xota.mn2
        self.instances = {device: vectors[0][1:].split("[")[0] for device, vectors in self._device_vectors.items()}
        self.length_labels = tuple(length_labels)
        self._length_names = tuple(length_parameter(self.topology, label) for label in self.length_labels)  # the deck parameters they set
        reference = self.topology.reference_var(self.technology)
        default_lengths = {label: self.technology.length_m for label in self.length_labels}
        read_nominal = shiftable and any(self.technology.device(p).prefix == "x" for p in ("n", "p"))
        deck = testbench_netlist(
            self.topology.name, reference, self.condition, bias_v=self.bias_v, lengths_m=default_lengths,
            device_saves=SHIFTED_PARAMETERS if read_nominal else (),
        )
        self._loaded_bias_v = {pin: volts for pin, volts in bias_sources(self.topology, self.technology, self.bias_v) if pin in self.topology.bias_pins}
        self._bias_now_v = dict(self._loaded_bias_v)
        self._engine = open_engine(backend)
        self._engine.load(deck)
        self._params: dict[str, float] | None = None
        self._shifted: set[str] = set()
        self._nominal = {device: dict(BSIM_DEFAULTS) for device in self.topology.devices} if shiftable else {}
        if read_nominal:
            op = self._engine.run({"op": "op"}, timeout_s=timeout_s)["op"]
            self._nominal = {
                device: {p: float(np.real(op[device_vector(self.technology, device, p)][0])) for p in SHIFTED_PARAMETERS}
                for device in self.topology.devices
            }
        # A Monte Carlo alters delvto itself and keeps the sizes over its samples: it re-parses.
        self._resizer = Resizer(
            self._engine, self.topology, self.technology, self.instances, self._params_of, reference, ANALYSES, timeout_s,
            calibration_path(deck, self.technology, library_file()),
        ) if self._engine.can_inspect and not shiftable else None
        self.resized = self.reparsed = 0  # how each candidate's sizes were applied (benchmarks read them)

    def _params_of(self, var: Sequence[int], lengths_m: Mapping[str, float] | None = None) -> dict[str, float]:
        """The deck parameters of a candidate; a free length not given is the default (alterparam
        values persist between candidates)."""
        params = {v.name: value for v, value in zip(self.topology.variables, var)}
        return params | {
            length_parameter(self.topology, label): (lengths_m or {}).get(label, self.technology.length_m) for label in self.length_labels
        }

    def evaluate(
        self,
        var: Sequence[int],
        lengths_m: Mapping[str, float] | None = None,
        bias_v: Mapping[str, float] | None = None,
        shifts: Mapping[str, Mapping[str, float]] | None = None,
        screen: DcScreen | None = None,
    ) -> OtaResult:
        """Simulate one candidate (integer widths in lambda; free lengths in m by variable label,
        among the testbench's ``length_labels``; bias voltages by pin, else the loaded ones);
        ValueError only for malformed input.

        ``shifts`` (a Monte Carlo sample, on a ``shiftable`` testbench) maps devices to ``SHIFTS``
        values; devices a previous call shifted and this one does not name return to nominal.
        ``screen``: run the AC analysis only if the DC sweep meets these limits.
        """
        checked = self.topology.check_var(list(var), self.technology)
        lengths = dict(lengths_m or {})
        if set(lengths) - set(self.length_labels):
            raise ValueError(f"lengths {sorted(set(lengths) - set(self.length_labels))} are not free in this testbench ({self.length_labels})")
        params = self._params_of(checked, lengths)
        for pin, volts in (bias_v or {}).items():
            if pin not in self.topology.bias_pins or not self.technology.vss_v <= volts <= self.technology.vdd_v:
                raise ValueError(f"bias {pin} = {volts!r} V: {self.topology.name} has pins {self.topology.bias_pins}, within the rails")
        for pin, volts in (self._loaded_bias_v | dict(bias_v or {})).items():
            if self._bias_now_v[pin] != volts:  # an altered source stays altered: set every pin that differs
                self._engine.alter(f"v{pin}", dc=volts)
                self._bias_now_v[pin] = volts
        self._shift(shifts or {})
        base = {
            "var": checked, "widths_um": [v * self.technology.lambda_m * 1e6 for v in checked], "topology": self.topology.name,
            "technology": self.technology.name, "corner": self.corner, "temp_c": self.temp_c,
        }
        started = time.perf_counter()
        try:
            if params != self._params:  # a Monte Carlo run keeps the sizes: no reset per sample
                self._resize(params, checked)
            if screen is None:
                results = self._engine.run(ANALYSES, timeout_s=self.timeout_s, vectors=self._measured)
                metrics = self._measure_dc(results["dc"]) | measure_ac(results["ac"])
            else:
                metrics = self._measure_dc(self._engine.run({"dc": ANALYSES["dc"]}, timeout_s=self.timeout_s, vectors=self._measured)["dc"])
                skipped = screen.reason(metrics)
                if skipped is None:
                    metrics |= measure_ac(self._engine.run({"ac": ANALYSES["ac"]}, timeout_s=self.timeout_s, vectors=self._measured)["ac"])
                else:
                    metrics |= no_ac() | {"ac_skipped": skipped}
        except (SimulationError, FloatingPointError, np.linalg.LinAlgError, KeyError, StopIteration) as exc:
            return OtaResult(converged=False, error=str(exc), sim_time_s=time.perf_counter() - started, **base)
        return OtaResult(converged=True, error=None, sim_time_s=time.perf_counter() - started, **base, **metrics)

    def _measure_dc(self, dc: Mapping[str, np.ndarray]) -> dict:
        return measure_dc(dc, self._supplies_v, self._device_vectors, self.topology.saturation_devices)

    def _resize(self, params: dict[str, float], var: list[int]) -> None:
        previous, self._params = self._params, None  # unknown until the change is made
        same_lengths = previous is not None and all(previous[k] == params[k] for k in self._length_names)
        alters = self._resizer.plan(var) if self._resizer is not None and same_lengths else None
        if alters is not None:
            self._engine.resize(params, alters)
            self._resizer.altered(var, alters)
            self.resized += 1
        elif self._resizer is not None:
            self._resizer.reparsed(params, var)
            self.reparsed += 1
            # then the same values as an altered candidate gets (equal to 1e-10, not to the last bit)
            alters = self._resizer.plan(var) if self._resizer.active else None
            if alters is not None:
                self._engine.resize(params, alters)
                self._resizer.altered(var, alters)
        else:
            self._engine.set_params(params)
            self.reparsed += 1
        self._params = params

    def _shift(self, shifts: Mapping[str, Mapping[str, float]]) -> None:
        if shifts and not self._nominal:
            raise ValueError("this testbench takes no Monte Carlo shifts: create it with shiftable=True")
        for device, values in shifts.items():
            if device not in self.instances or set(values) != set(SHIFTS):
                raise ValueError(
                    f"shifts name devices of {', '.join(self.instances)}, each with {' and '.join(SHIFTS)}; "
                    f"got {device!r}: {sorted(values)}"
                )
        for device in self._shifted - set(shifts):
            self._engine.alter(self.instances[device], **self._nominal[device])
        for device, values in shifts.items():
            nominal = self._nominal[device]
            self._engine.alter(
                self.instances[device], delvto=nominal["delvto"] + values["dvth_v"], mulu0=nominal["mulu0"] * values["beta_factor"],
            )
        self._shifted = set(shifts)

    def evaluate_um(self, widths_um: Sequence[float]) -> OtaResult:
        """As the paper's tables give widths: micrometres, rounded to multiples of lambda."""
        return self.evaluate(self.topology.var_from_um(list(widths_um), self.technology))

    def close(self) -> None:
        self._engine.close()

    def __enter__(self) -> "OtaTestbench":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
