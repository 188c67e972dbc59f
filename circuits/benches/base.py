"""What every testbench of the catalog shares: a circuit package loaded once in an ngspice session.

The deck is rendered once per (circuit, condition) from ``circuits.render`` and a template of
``spice_templates/testbenches/``; each candidate then costs an ``alterparam`` of the variables
(one ``reset``), an ``alter`` of the bias sources whose value changed, and the bench's analyses.
A candidate that ngspice cannot simulate, or whose bias falls outside the rails, is a result
(``converged=False`` with the reason), never an exception: an optimizer's worker must score it.
"""

from __future__ import annotations

import copy
import math
import numbers
import time
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from circuits.model import TESTBENCH_MEASURES, Circuit
from circuits.render import device_vector, render_subckt
from engine import Backend, Engine, SimulationError, open_engine
from lut.technology import Condition
from ota.measure import NAN
from spice_templates import render

DEFAULT_TIMEOUT_S = 30.0
INSTANCE = "xdut"
DEVICE_QUANTITIES = ("vds", "vdsat")
# Failures of one candidate that become a result: ngspice's own, non-finite or missing vectors.
CANDIDATE_ERRORS = (SimulationError, FloatingPointError, np.linalg.LinAlgError, KeyError, IndexError, StopIteration, ValueError)


@dataclass
class BenchResult:
    """One candidate's figures: ``metrics`` holds every measure of the testbench (NaN when not
    measured), ``margins_v`` VDS - VDSAT (V) of each checked MOS device, ``curves`` the swept
    vectors (``freq_hz``, ``ac_magnitude_db``, ``ac_phase_deg`` and the bench's own)."""

    converged: bool
    error: str | None
    metrics: dict[str, float]
    margins_v: dict[str, float] = field(default_factory=dict)
    curves: dict[str, list[float]] = field(default_factory=dict)
    sim_time_s: float = NAN

    def to_dict(self, curves: bool | Collection[str] = True) -> dict:
        """Flat plain values: converged, error, every metric by name, margins_v, the curves kept
        (all: True, none: False, or those named; each costs a copy per candidate), sim_time_s.
        A NaN metric stays NaN (JSON writers encode it with ``gmopt.floats``)."""
        keep = set(self.curves if curves is True else () if curves is False else curves)
        return {
            "converged": self.converged, "error": self.error, **self.metrics, "margins_v": dict(self.margins_v),
            **{name: copy.copy(values) for name, values in self.curves.items() if name in keep}, "sim_time_s": self.sim_time_s,
        }


@dataclass(frozen=True)
class BiasSource:
    """A bias pin's source in the deck: a voltage from ground, or a current into the pin drawn
    from vdd (or, for a negative current, out of the pin into vss), so the supply power counts it."""

    name: str
    plus: str
    minus: str
    pin: str
    kind: str  # "voltage" | "current"
    sign: float

    def value(self, circuit: Circuit, env: Mapping[str, float]) -> float:
        return self.sign * circuit.pins.bias[self.pin].value.evaluate(env)


def node(port: str, circuit: Circuit) -> str:
    """The testbench's node for a subcircuit port: its role (inp, inn, out, vdd, vss) or ``bias_<port>``,
    so a user's port name never meets the testbench's own nodes (cm, fb, hold, vid)."""
    role = circuit.pins.roles()[port]
    return f"bias_{port}" if role == "bias" else role


class CircuitBench(ABC):
    """A loaded testbench of one circuit package at one condition; subclasses give the template,
    the extra template values and ``_measure``."""

    template: ClassVar[str]
    default_load_capacitance_f: ClassVar[float]
    saved_nodes: ClassVar[tuple[str, ...]] = ("v(out)", "i(vdd)", "i(vss)")

    def __init__(self, circuit: Circuit, condition: Condition, backend: Backend = "shared", timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.circuit, self.condition, self.timeout_s = circuit, condition, timeout_s
        self.measures = TESTBENCH_MEASURES[circuit.testbench.name]
        tech = condition.technology
        settings = circuit.testbench
        self.supply_v = settings.supply_v if settings.supply_v is not None else tech.supply_v
        self.rails_v = {"vdd": self.supply_v / 2, "vss": -self.supply_v / 2}  # symmetric, as every technology's
        self.input_cm_v = settings.input_cm_v if settings.input_cm_v is not None else tech.input_cm_v
        self.load_capacitance_f = settings.load_capacitance_f if settings.load_capacitance_f is not None else self.default_load_capacitance_f
        if not self.rails_v["vss"] < self.input_cm_v < self.rails_v["vdd"]:
            raise ValueError(f"testbench input_cm_v {self.input_cm_v:g} V lies outside the rails +-{self.supply_v / 2:g} V")
        self._subckt = render_subckt(circuit, tech)
        self.nominal = {v.name: v.nominal(tech) for v in circuit.variables}
        self._bias = self._bias_sources()
        self.device_vectors = {
            e.name: tuple(device_vector(circuit, tech, e.name, q, within=INSTANCE) for q in DEVICE_QUANTITIES) for e in circuit.parsed.mosfets
        }
        self.saturation_devices = tuple(name for name in self.device_vectors if circuit.devices[name].saturation)
        self._bias_now = {source.name: source.value(circuit, self.nominal) for source in self._bias}
        deck = self._deck(self.nominal, control=())
        self._engine: Engine = open_engine(backend)
        try:
            self._engine.load(deck)
        except BaseException:
            self._engine.close()  # give the ngspice library back to the pool
            raise
        self._params: dict[str, float] | None = None

    # -- the deck ----------------------------------------------------------------------------
    def _bias_sources(self) -> list[BiasSource]:
        sources = []
        for pin, bias in self.circuit.pins.bias.items():
            where = node(pin, self.circuit)
            if bias.voltage is not None:
                sources.append(BiasSource(f"v{where}", where, "0", pin, "voltage", 1.0))
            elif bias.current.evaluate(self.nominal) >= 0:
                sources.append(BiasSource(f"i{where}", "vdd", where, pin, "current", 1.0))
            else:
                sources.append(BiasSource(f"i{where}", where, "vss", pin, "current", -1.0))
        return sources

    def _instance(self) -> str:
        netlist = self.circuit.parsed
        nodes = " ".join(node(port, self.circuit) for port in netlist.ports)
        params = "".join(f" {v.name}={{{v.name}}}" for v in self.circuit.variables)
        return f"{INSTANCE} {nodes} {netlist.name}{params}"

    def _deck(self, values: Mapping[str, float], control: tuple[str, ...]) -> str:
        saves = [*self.saved_nodes, *(vector for vectors in self.device_vectors.values() for vector in vectors)]
        return render(
            self.template, circuit=self.circuit.name, tech=self.condition.technology.name, corner=self.condition.corner,
            temp_c=self.condition.temp_c, include=self.condition.include(), subckt=self._subckt,
            params=[(v.name, values[v.name]) for v in self.circuit.variables], vdd_v=self.rails_v["vdd"], vss_v=self.rails_v["vss"],
            bias=[{"name": s.name, "plus": s.plus, "minus": s.minus, "value": s.value(self.circuit, values)} for s in self._bias],
            instance=self._instance(), cl_f=self.load_capacitance_f, input_cm_v=self.input_cm_v, saves=saves,
            analyses=list(control), **self._template_values(),
        )

    def _template_values(self) -> dict:
        return {}

    def deck(self, values: Mapping[str, float]) -> str:
        """The netlist this bench runs, at ``values``, with its analyses in a ``.control`` block:
        a file that ``ngspice -b`` runs as it is (for export)."""
        return self._deck(self.values(values), control=self._export_analyses())

    @abstractmethod
    def _export_analyses(self) -> tuple[str, ...]:
        """The analyses (and commands) a ``.control`` block needs to run what ``evaluate`` runs."""

    # -- one candidate -------------------------------------------------------------------------
    def values(self, values: Mapping[str, float]) -> dict[str, float]:
        """Every variable's value (SI): those given, the others nominal. ValueError for an unknown
        name, a value that is not a finite number, or one outside the variable's [min, max]."""
        given = {str(name).lower(): value for name, value in values.items()}
        declared = {v.name: v for v in self.circuit.variables}
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not a variable of circuit {self.circuit.name} ({', '.join(declared) or 'none'})")
        checked = dict(self.nominal)
        for name, value in given.items():
            variable = declared[name]
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise ValueError(f"variable {name} = {value!r}: give a finite number")
            if not variable.min * (1 - 1e-9) <= value <= variable.max * (1 + 1e-9) + 1e-30:
                raise ValueError(f"variable {name} = {value:g} lies outside [{variable.min:g}, {variable.max:g}]")
            checked[name] = float(value)
        return checked

    def evaluate(self, values: Mapping[str, float]) -> BenchResult:
        """Simulate one candidate (variable name -> SI value; a variable not given is nominal)."""
        env = self.values(values)
        started = time.perf_counter()
        try:
            self._set(env)
            metrics, margins, curves = self._measure(self._engine, env)
        except CANDIDATE_ERRORS as exc:
            return BenchResult(False, str(exc).strip() or type(exc).__name__, dict.fromkeys(self.measures, NAN), sim_time_s=time.perf_counter() - started)
        checked = [margins[d] for d in self.saturation_devices]
        metrics["saturation_margin_v"] = min(checked) if checked else NAN
        unknown = set(metrics) - set(self.measures)
        assert not unknown, f"measures {unknown} are not listed for {self.circuit.testbench.name}"
        return BenchResult(True, None, {name: float(metrics.get(name, NAN)) for name in self.measures}, margins, curves, time.perf_counter() - started)

    def _set(self, env: Mapping[str, float]) -> None:
        for source in self._bias:
            value = source.value(self.circuit, env)
            if source.kind == "voltage" and not self.rails_v["vss"] <= value <= self.rails_v["vdd"]:
                raise ValueError(f"bias pin {source.pin} = {value:g} V lies outside the rails {self.rails_v['vss']:g} to {self.rails_v['vdd']:g} V")
            if self._bias_now[source.name] != value:  # an altered source stays altered: set only what differs
                self._engine.alter(source.name, dc=value)
                self._bias_now[source.name] = value
        params = {name: env[name] for name in self.nominal}
        if params and params != self._params:
            self._params = None
            self._engine.set_params(params)
            self._params = params

    @abstractmethod
    def _measure(self, engine: Engine, env: Mapping[str, float]) -> tuple[dict[str, float], dict[str, float], dict[str, list[float]]]:
        """Run the analyses; (metrics, saturation margins by device, curves)."""

    def close(self) -> None:
        self._engine.close()

    def __enter__(self) -> "CircuitBench":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
