"""The run store: one interface through which a run records every evaluation and checkpoint.

Modelled on optuna's storages: the runner only talks to ``RunStore``; the CLI uses the file
store (``optimizer.file_store``), the service an SQL one. A generation counts as done only once
``complete_generation`` stored its checkpoint, which is what a resumed run starts from.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from gmopt.floats import decode_float, decode_float_list, decode_floats, encode_floats

MetricValue = float | bool | str | None


@dataclass
class EvaluationRecord:
    """One evaluated candidate of a run, as stored."""

    index: int                      # unique in the run: generation-major, then individual
    generation: int                 # 0 = initial population
    var: list[int | float]          # the design-space row: integers, and floats for continuous circuit variables
    widths_um: list[float]          # the OTA topologies' widths; empty for a circuit package's run
    metrics: dict[str, MetricValue]  # OtaResult scalars (worst case over corners); NaN = not measured
    curves: dict[str, list[float]] = field(default_factory=dict)  # vin_v, iout_a
    objectives: list[float] = field(default_factory=list)          # as minimised
    constraints: list[float] = field(default_factory=list)         # <= 0 feasible
    feasible: bool = False
    converged: bool = False
    error: str | None = None
    wall_time_s: float = 0.0
    cached: bool = False
    design: dict[str, float] = field(default_factory=dict)  # a circuit run's variables by name, in SI units (m, A, V, F)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict in which inf and NaN survive as strings (``gmopt.floats``)."""
        return encode_floats({item.name: getattr(self, item.name) for item in fields(self)})  # encode_floats copies: no asdict

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "EvaluationRecord":
        data = dict(data)
        data["metrics"] = decode_floats(data["metrics"])
        data["widths_um"] = decode_float_list(data["widths_um"])
        data["objectives"] = decode_float_list(data["objectives"])
        data["constraints"] = decode_float_list(data["constraints"])
        data["curves"] = {key: decode_float_list(values) for key, values in data.get("curves", {}).items()}
        data["var"] = [v if isinstance(v, int) else float(v) for v in data["var"]]
        data["design"] = {name: decode_float(value) for name, value in (data.get("design") or {}).items()}
        return cls(**data)


class RunStore(ABC):
    """Storage of ONE run: header, evaluations, per-generation checkpoints, status."""

    @abstractmethod
    def write_header(self, spec: dict, provenance: dict) -> None:
        """Record the spec and where the results come from (seed, models, versions)."""

    @abstractmethod
    def read_header(self) -> tuple[dict, dict] | None:
        """``(spec, provenance)``, or None for a new run."""

    @abstractmethod
    def add_evaluations(self, records: Sequence[EvaluationRecord]) -> None:
        """Store evaluations; an ``index`` already stored is ignored, so a resumed run never duplicates."""

    @abstractmethod
    def evaluations(self, generation: int | None = None) -> list[EvaluationRecord]:
        """Every stored evaluation (or one generation's), by index."""

    @abstractmethod
    def complete_generation(self, generation: int, checkpoint: bytes, hypervolume: float, front_indices: list[int]) -> None:
        """Atomically mark a generation done with the algorithm state to resume from."""

    @abstractmethod
    def last_checkpoint(self) -> tuple[int, bytes] | None:
        """``(generation, checkpoint)`` of the last completed generation, or None."""

    @abstractmethod
    def hypervolumes(self) -> list[tuple[int, float]]:
        """``(generation, hypervolume)`` of every completed generation, in order."""

    @abstractmethod
    def front(self) -> list[EvaluationRecord]:
        """The last completed generation's feasible Pareto front, as records (by index)."""

    @abstractmethod
    def set_status(self, status: str, message: str = "") -> None:
        """``running``, ``finished``, ``cancelled``, ``failed`` and a human-readable message."""

    @abstractmethod
    def status(self) -> str:
        """The last status set (``new`` before any)."""
