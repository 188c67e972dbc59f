"""The SQL run store: ``optimizer.store.RunStore`` on SQLite or PostgreSQL, one run per instance.

Every method is one transaction. Writes that a worker makes on behalf of a queued job carry its
lease (the worker id): once the queue has handed the run to another worker, the old worker's
status changes are ignored, while its evaluations are still kept (they are idempotent by index,
so a run executed twice by mistake still stores each evaluation once).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError

from app.db import reader, session_scope
from app.models import Checkpoint, Evaluation, EvaluationValue, FloatKind, Generation, ParetoPoint, Run, utc_now
from optimizer.store import EvaluationRecord, RunStore

FINAL_STATUSES = ("finished", "failed", "cancelled")
_KINDS = ("objective", "constraint")


def record_to_row(run_id: int, record: EvaluationRecord) -> Evaluation:
    encoded = record.to_json()
    row = Evaluation(
        run_id=run_id, index=record.index, generation=record.generation, var=[float(v) if isinstance(v, float) else int(v) for v in record.var], design=encoded["design"],
        widths_um=encoded["widths_um"], metrics=encoded["metrics"], curves=encoded["curves"],
        feasible=bool(record.feasible), converged=bool(record.converged), cached=bool(record.cached),
        error=record.error, wall_time_s=float(record.wall_time_s),
    )
    for kind, values in zip(_KINDS, (record.objectives, record.constraints)):
        for position, value in enumerate(values):
            number, value_type = FloatKind.split(value)
            row.values.append(EvaluationValue(kind=kind, position=position, value=number, value_type=value_type))
    return row


def row_to_record(row: Evaluation) -> EvaluationRecord:
    values: dict[str, list[float]] = {kind: [] for kind in _KINDS}
    for item in row.values:  # ordered by (kind, position)
        values[item.kind].append(item.value_type.join(item.value))
    return EvaluationRecord.from_json({
        "index": row.index, "generation": row.generation, "var": row.var, "widths_um": row.widths_um,
        "metrics": row.metrics, "curves": row.curves, "objectives": values["objective"],
        "constraints": values["constraint"], "feasible": row.feasible, "converged": row.converged,
        "error": row.error, "wall_time_s": row.wall_time_s, "cached": row.cached, "design": row.design or {},
    })


class SqlRunStore(RunStore):
    """The stored run ``run_id`` (its row must exist: ``app.queue.enqueue`` creates it)."""

    def __init__(self, engine: Engine, run_id: int, lease: str | None = None) -> None:
        self.engine = engine
        self.reader = reader(engine)
        self.run_id = run_id
        self.lease = lease

    # --- header and status ------------------------------------------------------------------
    def write_header(self, spec: dict, provenance: dict) -> None:
        with session_scope(self.engine) as session:
            session.execute(update(Run).where(Run.id == self.run_id).values(
                spec=spec, provenance=provenance,
                gmopt_version=_text(provenance.get("gmopt_version")),
                ngspice_version=_text(provenance.get("ngspice_version")),
                model_hash=_text(provenance.get("model_hash")),
            ))

    def read_header(self) -> tuple[dict, dict] | None:
        with session_scope(self.reader) as session:
            row = session.execute(select(Run.spec, Run.provenance).where(Run.id == self.run_id)).one()
        return None if row.provenance is None else (row.spec, row.provenance)

    def set_status(self, status: str, message: str = "") -> None:
        """Record the runner's status; a stop nobody asked for (worker shut down) re-queues the run.

        The runner reports ``cancelled`` whenever ``should_stop`` stopped it; that is a user's
        cancel only when one was requested. Otherwise the worker is going away and the run goes
        back to the queue, to resume from its last completed generation.
        """
        with session_scope(self.engine) as session:
            query = update(Run).where(Run.id == self.run_id)
            if self.lease is not None:
                query = query.where(Run.worker_id == self.lease, Run.status == "running")
            if status == "cancelled":
                requeue = query.where(Run.cancel_requested.is_(False))
                done = session.execute(requeue.values(status="queued", worker_id=None, message="worker stopped; waiting to resume"))
                if done.rowcount:
                    return
            values: dict = {"status": status, "message": message}
            if status in FINAL_STATUSES:
                values.update(finished_at=utc_now(), eta_s=None)
            session.execute(query.values(**values))

    def status(self) -> str:
        with session_scope(self.reader) as session:
            return session.execute(select(Run.status).where(Run.id == self.run_id)).scalar_one()

    # --- evaluations ------------------------------------------------------------------------
    def add_evaluations(self, records: Sequence[EvaluationRecord]) -> None:
        if not records:
            return
        try:
            self._insert_new(records)
        except IntegrityError:  # another worker stored some of them meanwhile: keep theirs
            self._insert_new(records)

    def _insert_new(self, records: Sequence[EvaluationRecord]) -> None:
        with session_scope(self.engine) as session:
            wanted = {record.index for record in records}
            stored = set(session.scalars(select(Evaluation.index).where(
                Evaluation.run_id == self.run_id, Evaluation.index.in_(wanted))))
            fresh = {record.index: record for record in records if record.index not in stored}
            session.add_all(record_to_row(self.run_id, record) for record in fresh.values())
            session.flush()
            count = select(func.count()).select_from(Evaluation).where(Evaluation.run_id == self.run_id).scalar_subquery()
            session.execute(update(Run).where(Run.id == self.run_id).values(evaluations_done=count))

    def evaluations(self, generation: int | None = None) -> list[EvaluationRecord]:
        query = select(Evaluation).where(Evaluation.run_id == self.run_id).order_by(Evaluation.index)
        if generation is not None:
            query = query.where(Evaluation.generation == generation)
        with session_scope(self.reader) as session:
            return [row_to_record(row) for row in session.scalars(query)]

    # --- generations ------------------------------------------------------------------------
    def complete_generation(self, generation: int, checkpoint: bytes, hypervolume: float, front_indices: list[int]) -> None:
        number, kind = FloatKind.split(hypervolume)
        try:
            with session_scope(self.engine) as session:
                session.add(Generation(run_id=self.run_id, generation=generation, hypervolume=number, hypervolume_type=kind))
                session.flush()
                session.add_all(
                    ParetoPoint(run_id=self.run_id, generation=generation, evaluation_index=int(index))
                    for index in sorted(set(front_indices))
                )
                session.merge(Checkpoint(run_id=self.run_id, generation=generation, data=bytes(checkpoint)))
                session.execute(update(Run).where(Run.id == self.run_id).values(generation=generation))
        except IntegrityError:
            # the generation was already completed (by this run's previous worker): the first one stays
            if self._completed(generation):
                return
            raise

    def _completed(self, generation: int) -> bool:
        with session_scope(self.reader) as session:
            return session.get(Generation, (self.run_id, generation)) is not None

    def last_checkpoint(self) -> tuple[int, bytes] | None:
        with session_scope(self.reader) as session:
            row = session.get(Checkpoint, self.run_id)
            return None if row is None else (row.generation, bytes(row.data))

    def hypervolumes(self) -> list[tuple[int, float]]:
        query = select(Generation).where(Generation.run_id == self.run_id).order_by(Generation.generation)
        with session_scope(self.reader) as session:
            return [(row.generation, row.hypervolume_type.join(row.hypervolume)) for row in session.scalars(query)]

    def front(self) -> list[EvaluationRecord]:
        return self.front_of(None)

    def front_of(self, generation: int | None) -> list[EvaluationRecord]:
        """The front of a completed generation (the last one when None)."""
        with session_scope(self.reader) as session:
            if generation is None:
                generation = session.execute(
                    select(func.max(Generation.generation)).where(Generation.run_id == self.run_id)
                ).scalar_one()
            if generation is None:
                return []
            indices = select(ParetoPoint.evaluation_index).where(
                ParetoPoint.run_id == self.run_id, ParetoPoint.generation == generation)
            query = (select(Evaluation).where(Evaluation.run_id == self.run_id, Evaluation.index.in_(indices))
                     .order_by(Evaluation.index))
            return [row_to_record(row) for row in session.scalars(query)]


def _text(value: object) -> str | None:
    return None if value is None else str(value)
