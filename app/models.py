"""The service's database schema, in one file (migrations live beside it in ``alembic/``).

As in optuna's RDB storage, objective and constraint values are rows with an explicit value
type, so a failed simulation's NaN or an infinite penalty survives the database unchanged
(PostgreSQL's JSON refuses NaN, and SQL NULL would lose which one it was). Metrics and curves
are JSON in the encoding of ``EvaluationRecord.to_json`` (non-finite floats as strings).
"""

from __future__ import annotations

import enum
import math
from datetime import UTC, datetime

from sqlalchemy import (
    JSON, Boolean, DateTime, Enum, Float, ForeignKey, ForeignKeyConstraint, Index, Integer, LargeBinary, String,
    Text, TypeDecorator, UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utc_now() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (SQLite keeps no zone), always read back as an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class FloatKind(enum.Enum):
    """What a stored float is: a finite number in ``value``, or one of the three non-finite values."""

    finite = "finite"
    inf = "inf"
    neg_inf = "-inf"
    nan = "nan"

    @classmethod
    def split(cls, value: float) -> tuple[float | None, "FloatKind"]:
        value = float(value)
        if math.isfinite(value):
            return value, cls.finite
        if math.isnan(value):
            return None, cls.nan
        return None, cls.inf if value > 0 else cls.neg_inf

    def join(self, value: float | None) -> float:
        return float(value) if self is FloatKind.finite else float(self.value)


FLOAT_KIND = Enum(FloatKind, native_enum=False, length=8, values_callable=lambda kinds: [kind.value for kind in kinds])


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict: JSON, list: JSON}


class TechnologyRecord(Base):
    """A technology as used by a stored LUT or run: which model files (by hash) made the results."""

    __tablename__ = "technologies"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    supply_v: Mapped[float] = mapped_column(Float)
    corners: Mapped[list] = mapped_column(JSON)
    model_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class Lut(Base):
    """A built gm/ID look-up table: its key, file and provenance (the numbers stay in the file)."""

    __tablename__ = "luts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    technology: Mapped[str] = mapped_column(ForeignKey("technologies.name"), index=True)
    corner: Mapped[str] = mapped_column(String(32))
    temp_c: Mapped[float] = mapped_column(Float)
    cache_key: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(Text)
    grid: Mapped[dict] = mapped_column(JSON)
    provenance: Mapped[dict] = mapped_column(JSON)
    simulated: Mapped[bool] = mapped_column(Boolean)
    build_seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class CircuitRecord(Base):
    """A circuit package as added (``POST /circuits``, ``gmopt circuit add``): its exact text and
    content hash. A run points at the record it used, so editing a circuit means adding a new one."""

    __tablename__ = "circuits"
    __table_args__ = (UniqueConstraint("name", "content_hash", name="uq_circuits_name_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    testbench: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    owner: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Run(Base):
    """One optimization job: its spec, its place in the queue, its progress and provenance."""

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    message: Mapped[str] = mapped_column(Text, default="")
    topology: Mapped[str] = mapped_column(String(64), index=True)  # a built-in topology, or the circuit package's name
    circuit_id: Mapped[int | None] = mapped_column(ForeignKey("circuits.id"), default=None, index=True)
    circuit_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    technology: Mapped[str] = mapped_column(String(64))
    spec: Mapped[dict] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(Integer)
    pop_size: Mapped[int] = mapped_column(Integer)
    generations: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    # queue: who holds the run, since when it last said so, how often it was (re)started
    worker_id: Mapped[str | None] = mapped_column(String(128), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # progress: the last completed generation, stored evaluations, the runner's speed estimate
    generation: Mapped[int | None] = mapped_column(Integer, default=None)
    evaluations_done: Mapped[int] = mapped_column(Integer, default=0)
    evaluations_per_s: Mapped[float | None] = mapped_column(Float, default=None)
    eta_s: Mapped[float | None] = mapped_column(Float, default=None)
    ac_skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # AC analyses the DC screen skipped so far
    # provenance, written by the runner's header
    provenance: Mapped[dict | None] = mapped_column(JSON, default=None)
    gmopt_version: Mapped[str | None] = mapped_column(String(32), default=None)
    ngspice_version: Mapped[str | None] = mapped_column(String(32), default=None)
    model_hash: Mapped[str | None] = mapped_column(String(64), default=None)


class Evaluation(Base):
    """One simulated candidate of a run; ``index`` is its place in evaluation order, unique per run."""

    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("run_id", "index", name="uq_evaluations_run_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    generation: Mapped[int] = mapped_column(Integer)
    var: Mapped[list] = mapped_column(JSON)
    widths_um: Mapped[list] = mapped_column(JSON)
    design: Mapped[dict] = mapped_column(JSON, default=dict)  # a circuit run's variables by name (SI units)
    metrics: Mapped[dict] = mapped_column(JSON)
    curves: Mapped[dict] = mapped_column(JSON)
    feasible: Mapped[bool] = mapped_column(Boolean)
    converged: Mapped[bool] = mapped_column(Boolean)
    cached: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    wall_time_s: Mapped[float] = mapped_column(Float)

    values: Mapped[list["EvaluationValue"]] = relationship(
        back_populates="evaluation", cascade="all, delete-orphan", lazy="selectin",
        order_by="(EvaluationValue.kind, EvaluationValue.position)",
    )


class EvaluationValue(Base):
    """One objective (as minimised) or constraint (<= 0 feasible) value of an evaluation."""

    __tablename__ = "evaluation_values"

    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), primary_key=True)  # "objective" | "constraint"
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)
    value_type: Mapped[FloatKind] = mapped_column(FLOAT_KIND)

    evaluation: Mapped[Evaluation] = relationship(back_populates="values")


class Generation(Base):
    """A completed generation: it exists only once its checkpoint was stored in the same transaction."""

    __tablename__ = "generations"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    hypervolume: Mapped[float | None] = mapped_column(Float)
    hypervolume_type: Mapped[FloatKind] = mapped_column(FLOAT_KIND)
    completed_at: Mapped[datetime] = mapped_column(default=utc_now)


class ParetoPoint(Base):
    """Membership of an evaluation in a completed generation's feasible Pareto front."""

    __tablename__ = "pareto_points"
    __table_args__ = (
        ForeignKeyConstraint(["run_id", "generation"], ["generations.run_id", "generations.generation"], ondelete="CASCADE"),
    )

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluation_index: Mapped[int] = mapped_column(Integer, primary_key=True)


class Checkpoint(Base):
    """The algorithm state to resume from; only the newest generation's is kept."""

    __tablename__ = "checkpoints"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class NeuromorphicResult(Base):
    """A neuromorphic simulation of one front point (spiking neuron, memristor emulator...)."""

    __tablename__ = "neuromorphic_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    point_index: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
