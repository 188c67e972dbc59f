"""What the API reads from and writes to the database, shaped as the public schemas (routes hold no queries).

A completed generation's front never changes, so its rendered JSON or CSV is kept in a small
in-process cache keyed by (run, generation, format): reading a 1,000-point front then costs one
primary-key query, not a thousand rows.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections import OrderedDict
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Engine, and_, func, select
from sqlalchemy.orm import Session

from app.db import reader, session_scope
from app.models import Evaluation, Generation, Lut, NeuromorphicResult, Run, TechnologyRecord
from app.neuro_schemas import PointResult
from app.queue import ACTIVE_STATUSES, enqueue, request_cancel
from app.schemas import CircuitSummary, EvaluationPublic, HypervolumePoint, LutPublic, RunPublic
from app.sql_store import FINAL_STATUSES, SqlRunStore, row_to_record
from gmopt.floats import encode_float
from gmopt.settings import Settings
from lut.technology import get_technology
from optimizer import circuit_problem
from optimizer.problem import constraint_names
from optimizer.results import design_netlist, front_csv
from optimizer.spec import RunSpec
from optimizer.store import EvaluationRecord


def _run_query():
    """Runs with their last completed generation's hypervolume, in one query."""
    return select(Run, Generation.hypervolume, Generation.hypervolume_type).outerjoin(
        Generation, and_(Generation.run_id == Run.id, Generation.generation == Run.generation)
    )


def _public(row) -> RunPublic:
    run, hypervolume, kind = row
    spec = _read_spec(run.spec)
    total = run.pop_size * run.generations
    return RunPublic(
        id=run.id, status=run.status, message=run.message, topology=run.topology, technology=run.technology,
        seed=run.seed, pop_size=run.pop_size, generations=run.generations, generation=run.generation,
        evaluations_done=run.evaluations_done, evaluations_total=total,
        progress_pct=100.0 if run.status == "finished" else round(100.0 * min(run.evaluations_done, total) / total, 2),
        evaluations_per_s=run.evaluations_per_s, eta_s=run.eta_s, ac_skipped=run.ac_skipped,
        hypervolume=None if kind is None else encode_float(kind.join(hypervolume)),
        attempts=run.attempts, cancel_requested=run.cancel_requested, created_at=run.created_at,
        started_at=run.started_at, finished_at=run.finished_at, gmopt_version=run.gmopt_version,
        ngspice_version=run.ngspice_version, model_hash=run.model_hash, provenance=run.provenance, spec=run.spec,
        circuit_id=run.circuit_id, circuit_hash=run.circuit_hash, circuit_name=None if run.circuit_hash is None else run.topology,
        constraint_names=_constraint_names(spec), circuit=_circuit_summary(spec),
    )


def _read_spec(spec: dict) -> RunSpec | None:
    """The stored spec, or None for one this version no longer reads (a run stored by an older
    gmopt, or a package it refuses, must still list, not fail every GET /runs)."""
    try:
        return RunSpec.model_validate(spec)
    except ValueError:  # pydantic's ValidationError, a CircuitError
        return None


def _constraint_names(spec: RunSpec | None) -> list[str]:
    """What each stored constraint value is; [] for a spec this version no longer reads."""
    if spec is None:
        return []
    return circuit_problem.constraint_names(spec.circuit_object) if spec.is_circuit else constraint_names(spec)


def _circuit_summary(spec: RunSpec | None) -> CircuitSummary | None:
    """A circuit run's package as the page shows it (what it is, its objectives, limits and variables),
    read from the exact text the run used, so the page never parses YAML."""
    if spec is None or not spec.is_circuit:
        return None
    from circuits.library import content_hash
    from circuits.model import TESTBENCH_MEASURES

    circuit = spec.circuit_object
    return CircuitSummary(
        name=circuit.name, description=circuit.description, testbench=circuit.testbench.name,
        measures=list(TESTBENCH_MEASURES[circuit.testbench.name]), content_hash=content_hash(spec.circuit_package),
        objectives=[objective.model_dump() for objective in circuit.objectives],
        constraints=[constraint.model_dump() for constraint in circuit.constraints],
        variables=[{"name": v.name, "kind": v.kind, "devices": list(v.devices), "scale": v.scale, "min": v.min, "max": v.max}
                   for v in circuit.variables],
    )


class RunEnded(Exception):
    """A cancel of a run that has already ended (answered with 409)."""


def run_exists(session: Session, run_id: int) -> bool:
    return session.get(Run, run_id) is not None


def create_run(engine: Engine, spec: dict, owner: str, settings: Settings, circuit: tuple[int, str, str] | None = None) -> RunPublic:
    """Queue a validated spec (``app.queue.QueueFull`` when the queue or the owner's share is full);
    ``circuit``: a circuit run's stored circuit (id, name, content hash)."""
    with session_scope(engine) as session:
        run = enqueue(session, spec, owner, settings, circuit)
        return get_run(session, run.id)


def cancel_run(engine: Engine, run_id: int) -> RunPublic | None:
    """Cancel a queued run, or ask a running one to stop; None for no such run, ``RunEnded`` for an ended one."""
    with session_scope(engine) as session:
        run = session.get(Run, run_id)
        if run is None:
            return None
        if run.status in FINAL_STATUSES:
            raise RunEnded(f"run {run_id} has already ended ({run.status})")
        request_cancel(session, run)
        session.flush()
        return get_run(session, run_id)


def hypervolumes(engine: Engine, run_id: int) -> list[HypervolumePoint]:
    return [HypervolumePoint(generation=g, hypervolume=encode_float(v)) for g, v in SqlRunStore(engine, run_id).hypervolumes()]


def active_run_counts(engine: Engine) -> dict[str, int]:
    """How many runs are queued and running (``health``)."""
    with session_scope(reader(engine)) as session:
        counts = dict(session.execute(
            select(Run.status, func.count()).where(Run.status.in_(ACTIVE_STATUSES)).group_by(Run.status)
        ).tuples().all())
    return {status: counts.get(status, 0) for status in ACTIVE_STATUSES}


def get_run(session: Session, run_id: int) -> RunPublic | None:
    row = session.execute(_run_query().where(Run.id == run_id)).one_or_none()
    return None if row is None else _public(row)


def list_runs(session: Session, status: str | None, topology: str | None, skip: int, limit: int) -> tuple[list[RunPublic], int]:
    conditions = [column == value for column, value in ((Run.status, status), (Run.topology, topology)) if value]
    count = session.scalar(select(func.count()).select_from(Run).where(*conditions))
    rows = session.execute(_run_query().where(*conditions).order_by(Run.id.desc()).offset(skip).limit(limit))
    return [_public(row) for row in rows], count


def evaluation_public(record: EvaluationRecord, curves: bool = True) -> EvaluationPublic:
    return EvaluationPublic.model_validate((record if curves else _without_curves(record)).to_json())


def _without_curves(record: EvaluationRecord) -> EvaluationRecord:
    """The record for a list: ``to_json`` deep-copies every field, and the five stored curves (183
    points) made up about 90 % of that work for a 720-evaluation list (2.1 of 2.3 s)."""
    return dataclasses.replace(record, curves={})


def point_netlist(engine: Engine, run_id: int, index: int, corner: str | None, temp_c: float | None) -> tuple[str, Any] | None:
    """What ``gmopt export`` writes for a stored point: the file name and either the deck (a built-in
    OTA's, from its template) or, for a circuit run, the arguments of ``circuit_design_deck`` (its
    bench loads the deck in ngspice: the caller runs it in the simulation pool). At the run's first
    corner and temperature unless others are named; None when there is no such point. An unknown
    corner is a ValueError that lists the technology's corners."""
    with session_scope(reader(engine)) as session:
        row = session.execute(
            select(Run.spec, Evaluation.var, Evaluation.design).join(Evaluation, Evaluation.run_id == Run.id)
            .where(Run.id == run_id, Evaluation.index == index)
        ).one_or_none()
    if row is None:
        return None
    spec = RunSpec.model_validate(row.spec)
    corner = corner or spec.corners[0]
    temp_c = spec.temps_c[0] if temp_c is None else temp_c
    get_technology(spec.technology).at(corner, temp_c)  # an unknown corner: ValueError naming the corners
    filename = f"run{run_id}-point{index}-{spec.design_name}-{spec.technology}-{corner}-{temp_c:g}C.cir"
    if spec.is_circuit:
        return filename, (spec, dict(row.design or {}), corner, temp_c)
    return filename, design_netlist(spec, list(row.var), corner, temp_c)


def list_evaluations(
    session: Session, run_id: int, generation: int | None, skip: int, limit: int, curves: bool
) -> tuple[list[EvaluationPublic], int]:
    conditions = [Evaluation.run_id == run_id]
    if generation is not None:
        conditions.append(Evaluation.generation == generation)
    count = session.scalar(select(func.count()).select_from(Evaluation).where(*conditions))
    rows = session.scalars(select(Evaluation).where(*conditions).order_by(Evaluation.index).offset(skip).limit(limit))
    return [evaluation_public(row_to_record(row), curves) for row in rows], count


def get_evaluation(session: Session, run_id: int, index: int) -> EvaluationPublic | None:
    row = session.scalar(select(Evaluation).where(Evaluation.run_id == run_id, Evaluation.index == index))
    return None if row is None else evaluation_public(row_to_record(row))


# --- look-up tables ------------------------------------------------------------------------------
def record_lut(engine: Engine, built: dict) -> LutPublic:
    """Store what ``app.simulation_pool.build_lut`` returned (a rebuilt table replaces its row)."""
    with session_scope(engine) as session:
        session.merge(TechnologyRecord(**built.pop("technology_record")))
        lut = session.scalar(select(Lut).where(Lut.cache_key == built["cache_key"]))
        if lut is None:
            lut = Lut(**built)
            session.add(lut)
        else:
            for key, value in built.items():
                setattr(lut, key, value)
        session.flush()
        return LutPublic.model_validate(lut, from_attributes=True)


def list_luts(session: Session, skip: int, limit: int) -> tuple[list[LutPublic], int]:
    rows = session.scalars(select(Lut).order_by(Lut.id).offset(skip).limit(limit))
    return [LutPublic.model_validate(row, from_attributes=True) for row in rows], session.scalar(select(func.count()).select_from(Lut))


def get_lut(session: Session, lut_id: int) -> Lut | None:
    return session.get(Lut, lut_id)


# --- neuromorphic results of a front point ---------------------------------------------------------
_point_result = TypeAdapter(PointResult)


def get_point(session: Session, run_id: int, index: int) -> tuple[dict, list[int]] | None:
    """The spec of a run and the integer widths of its evaluation ``index``; None when either is missing."""
    row = session.execute(
        select(Run.spec, Evaluation.var).join(Evaluation, Evaluation.run_id == Run.id)
        .where(Run.id == run_id, Evaluation.index == index)
    ).one_or_none()
    return None if row is None else (row.spec, list(row.var))


def store_point_result(engine: Engine, run_id: int, index: int, kind: str, data: dict[str, Any]) -> PointResult:
    with session_scope(engine) as session:
        row = NeuromorphicResult(run_id=run_id, point_index=index, kind=kind, data=data)
        session.add(row)
        session.flush()
        return _point_result.validate_python(row, from_attributes=True)


def point_results(session: Session, run_id: int, index: int) -> list[PointResult]:
    """Every emulator and neuron result stored for the point, oldest first."""
    where = (NeuromorphicResult.run_id == run_id, NeuromorphicResult.point_index == index)
    rows = session.scalars(select(NeuromorphicResult).where(*where).order_by(NeuromorphicResult.id))
    return [_point_result.validate_python(row, from_attributes=True) for row in rows]


class FrontCache:
    """Rendered fronts by (run, generation, format), and each run's last generation for ``ttl_s``.

    A front changes once per generation (seconds to minutes), so a front at most ``ttl_s`` old
    is as good as the database's, and a busy reader then costs no query at all.
    """

    def __init__(self, size: int = 64, ttl_s: float = 0.25) -> None:
        self.size, self.ttl_s = size, ttl_s
        self._bodies: OrderedDict[tuple[int, int | None, str], bytes] = OrderedDict()
        self._generations: dict[int, tuple[float, int | None, list[str]]] = {}
        self._lock = threading.Lock()

    def cached(self, run_id: int, fmt: str) -> bytes | None:
        """The body when both the run's generation and its rendering are fresh in memory."""
        with self._lock:
            known = self._generations.get(run_id)
            if known is None or time.monotonic() - known[0] > self.ttl_s:
                return None
            return self._bodies.get((run_id, known[1], fmt))

    def render(self, engine: Engine, run_id: int, fmt: str) -> bytes | None:
        """The front of the run's last completed generation as JSON or CSV bytes; None for no such run."""
        with session_scope(reader(engine)) as session:
            row = session.execute(select(Run.generation, Run.spec).where(Run.id == run_id)).one_or_none()
        if row is None:
            return None
        objectives = _objective_names(row.spec)
        key = (run_id, row.generation, fmt)
        with self._lock:
            self._generations[run_id] = (time.monotonic(), row.generation, objectives)
            body = self._bodies.get(key)
        if body is None:
            records = SqlRunStore(engine, run_id).front_of(row.generation) if row.generation is not None else []
            body = front_csv(records).encode() if fmt == "csv" else _front_json(run_id, row.generation, records, objectives)
        with self._lock:
            self._bodies[key] = body
            self._bodies.move_to_end(key)
            while len(self._bodies) > self.size:
                self._bodies.popitem(last=False)
        return body


def _objective_names(spec: dict) -> list[str]:
    """The front's objective names: an OTA run's (rmse, gain...), or a circuit run's ``power_w (min)``."""
    if spec.get("circuit_package") is None:
        return list(spec.get("objectives") or [])
    read = _read_spec(spec)
    return [] if read is None else circuit_problem.objective_names(read.circuit_object)


def _front_json(run_id: int, generation: int | None, records: list[EvaluationRecord], objectives: list[str]) -> bytes:
    points = []
    for record in records:
        points.append(_without_curves(record).to_json())
    payload = {"run_id": run_id, "generation": generation, "objectives": objectives, "data": points, "count": len(points)}
    return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()

