"""One transistor of each polarity simulated directly at an operating point, in a persistent ngspice
session: the check of a technology's model file at registration and of every checked sizing.

The deck (spice_templates/lut/direct.cir.j2) is loaded once per technology, corner and
temperature; a new W, L or bias is an ``alterparam`` + ``reset`` and one ``op``: about 1-3 ms on
generic180, about 30 ms on sky130, whose binned subcircuits are re-evaluated at each reset (its
model load, about 10 s, is paid once per process).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from engine import SimulationError, open_engine
from engine.base import Engine
from lut.table import SIMULATED
from lut.technology import Condition, Technology
from spice_templates import render

_NAMES = {"nmos": ("1", "dn", "gn", "0", "bn", "n"), "pmos": ("2", "dp", "gp", "0", "bp", "p")}
MIN_ON_CURRENT_A_PER_M = 0.1  # 0.1 uA/um at |VGS| = |VDS| = 0.6 supply: any working MOSFET carries far more


@dataclass(frozen=True)
class OperatingPoint:
    """Magnitudes of one device's quantities (ngspice names, as in the tables) at one bias."""

    values: dict[str, float]

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    @property
    def gm_id(self) -> float:
        return self.values["gm"] / self.values["id"]


class DirectSession:
    """Both devices of a technology at one condition, loaded once; thread-safe."""

    def __init__(self, condition: Condition) -> None:
        self.condition = condition
        self.tech = tech = condition.technology
        self._lock = threading.Lock()
        instances = {
            device: tech.device(device).instance(name, drain, gate, source, bulk, w=f"w_{p}", l=f"l_{p}")
            for device, (name, drain, gate, source, bulk, p) in _NAMES.items()
        }
        self._vectors = {
            device: {q: tech.device(device).vector(_NAMES[device][0], q) for q in SIMULATED} for device in _NAMES
        }
        deck = render(
            "lut/direct.cir.j2", include=condition.include(), temp_c=condition.temp_c, width_m=10 * tech.wmin_m,
            length_m=tech.length_m, vgs_v=0.6 * tech.supply_v, vds_v=0.6 * tech.supply_v,
            nmos_instance=instances["nmos"], pmos_instance=instances["pmos"],
            saves=[v for vectors in self._vectors.values() for v in vectors.values()],
        )
        self._engine: Engine = open_engine("shared")
        try:
            self._engine.load(deck)
        except SimulationError:
            self._engine.close()
            raise

    def operating_point(self, device: str, w_m: float, l_m: float, vgs_v: float, vds_v: float, vsb_v: float = 0.0) -> OperatingPoint:
        """The device's quantities at W, L and bias magnitudes (a PMOS gets them negated)."""
        kind = "nmos" if self.tech.device(device).polarity == "n" else "pmos"
        p = _NAMES[kind][5]
        with self._lock:
            self._engine.set_params({f"w_{p}": w_m, f"l_{p}": l_m, f"vgs_{p}": vgs_v, f"vds_{p}": vds_v, f"vsb_{p}": vsb_v})
            vectors = self._engine.run({"op": "op"})["op"]
        missing = [name for name in self._vectors[kind].values() if name not in vectors]
        if missing:
            raise SimulationError(f"ngspice did not return {', '.join(missing)}: the {kind} model does not provide it")
        return OperatingPoint({q: abs(float(vectors[name][0])) for q, name in self._vectors[kind].items()})

    def close(self) -> None:
        self._engine.close()


MAX_SESSIONS = 2  # a loaded sky130 session holds about 560 MB; the least recently used is closed
_sessions: dict[tuple, DirectSession] = {}
_sessions_lock = threading.Lock()


def direct_session(condition: Condition) -> DirectSession:
    """The process's session at this condition (loaded on first use, kept for the next sizing:
    sky130's load costs about 10 s)."""
    tech = condition.technology
    key = (tech.name, str(tech.model_file), tech.model_hash(), condition.corner, condition.temp_c)
    with _sessions_lock:
        session = _sessions.pop(key, None) or DirectSession(condition)
        _sessions[key] = session  # most recently used last
        while len(_sessions) > MAX_SESSIONS:
            _sessions.pop(next(iter(_sessions))).close()
        return session


def close_sessions() -> None:
    """Close every kept session (frees their models' memory)."""
    with _sessions_lock:
        while _sessions:
            _sessions.popitem()[1].close()


class ModelCheckError(ValueError):
    """A model file or device name that ngspice cannot load or simulate; carries ngspice's words."""


def check_models(tech: Technology) -> None:
    """Load ``tech``'s models at every corner and simulate both devices once (W = 10 Wmin, the
    default L, |VGS| = |VDS| = 0.6 supply): a missing file, section or model name, a card ngspice
    refuses, or a device of the wrong polarity is refused here, with ngspice's words, instead of at
    first use."""
    width_m, length_m, bias_v = 10 * tech.wmin_m, tech.length_m, 0.6 * tech.supply_v
    for corner in tech.corners:
        condition = tech.at(corner)
        where = f"technology {tech.name!r}, corner {corner!r} ({condition.include().splitlines()[-1]})"
        try:
            session = DirectSession(condition)
        except SimulationError as exc:
            names = f"nmos {tech.nmos.model!r} and pmos {tech.pmos.model!r}"
            raise ModelCheckError(
                f"{where}: ngspice could not load the models with {names}:\n" + "\n".join(exc.log[-12:] or [str(exc)])
            ) from exc
        try:
            for kind in _NAMES:
                device = tech.device(kind)
                try:
                    point = session.operating_point(kind, width_m, length_m, bias_v, bias_v)
                except SimulationError as exc:
                    raise ModelCheckError(f"{where}: {kind} {device.model!r} does not simulate:\n{exc}") from exc
                density = point["id"] / width_m
                if not (math.isfinite(density) and density > MIN_ON_CURRENT_A_PER_M):
                    raise ModelCheckError(
                        f"{where}: {kind} {device.model!r} carries {density * 1e-6:.3g} A/um at |VGS| = |VDS| = {bias_v:g} V, "
                        f"W = {width_m * 1e6:g} um, L = {length_m * 1e6:g} um: is it a "
                        f"{'PMOS' if kind == 'nmos' else 'NMOS'} model, or the wrong section?"
                    )
        finally:
            session.close()
