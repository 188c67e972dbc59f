"""The job queue in the database: enqueue, claim, heartbeats, cancel and stale-run recovery.

A run is claimed by a conditional UPDATE (``... WHERE id = ? AND status = 'queued'``) after a
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the transaction already holds the
write lock (``BEGIN IMMEDIATE``), so the same statements are atomic there too. The claiming
worker's id is the run's lease: heartbeats renew it, and a run whose heartbeats stopped for
``stale_after_s`` goes back to the queue, to resume from its last completed generation.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from app.db import session_scope
from app.models import Run, utc_now
from gmopt.settings import Settings

ACTIVE_STATUSES = ("queued", "running")
log = logging.getLogger(__name__)


class QueueFull(Exception):
    """The queue (or one token's share of it) is full: answered with 429."""


def owner_of(token: str | None) -> str:
    """Who submitted a run, without storing the token itself."""
    return "anonymous" if not token else hashlib.sha256(token.encode()).hexdigest()[:16]


def enqueue(session: Session, spec: dict, owner: str, settings: Settings, circuit: tuple[int, str, str] | None = None) -> Run:
    """Store a validated spec as a queued run, unless the queue or the owner's share is full.
    ``circuit``: a circuit run's stored circuit (id, name, content hash); its name fills ``topology``."""
    queued = session.scalar(select(func.count()).select_from(Run).where(Run.status == "queued"))
    if queued >= settings.max_queued_runs:
        raise QueueFull(f"the queue is full ({queued} runs waiting); retry when some have started")
    active = session.scalar(select(func.count()).select_from(Run).where(Run.owner == owner, Run.status.in_(ACTIVE_STATUSES)))
    if active >= settings.max_active_runs_per_token:
        raise QueueFull(
            f"this token already has {active} queued or running runs (limit {settings.max_active_runs_per_token}); "
            "wait for one to finish or cancel one"
        )
    run = Run(
        status="queued", topology=spec["topology"] if circuit is None else circuit[1], technology=spec["technology"], spec=spec,
        seed=spec["seed"], pop_size=spec["pop_size"], generations=spec["generations"], owner=owner,
        circuit_id=None if circuit is None else circuit[0], circuit_hash=None if circuit is None else circuit[2],
    )
    session.add(run)
    session.flush()
    return run


def claim_next(engine: Engine, worker_id: str) -> int | None:
    """Take the oldest queued run for ``worker_id``; None when nothing waits. Never hands a run out twice."""
    with session_scope(engine) as session:
        candidate = session.scalar(
            select(Run.id).where(Run.status == "queued").order_by(Run.id).limit(1).with_for_update(skip_locked=True)
        )
        if candidate is None:
            return None
        now = utc_now()
        claimed = session.execute(
            update(Run).where(Run.id == candidate, Run.status == "queued").values(
                status="running", worker_id=worker_id, heartbeat_at=now, attempts=Run.attempts + 1,
                started_at=func.coalesce(Run.started_at, now), message=f"running on {worker_id}",
            )
        )
        return candidate if claimed.rowcount == 1 else None


@dataclass
class Lease:
    """What a heartbeat learnt: does this worker still hold the run, and did a user cancel it."""

    held: bool
    cancel_requested: bool


def heartbeat(engine: Engine, run_id: int, worker_id: str) -> Lease:
    with session_scope(engine) as session:
        renewed = session.execute(
            update(Run).where(Run.id == run_id, Run.worker_id == worker_id, Run.status == "running")
            .values(heartbeat_at=utc_now())
        )
        cancel = session.scalar(select(Run.cancel_requested).where(Run.id == run_id))
    return Lease(held=renewed.rowcount == 1, cancel_requested=bool(cancel))


def requeue_stale(engine: Engine, stale_after_s: float) -> list[int]:
    """Put back in the queue every running run whose worker has been silent for ``stale_after_s``."""
    cutoff = utc_now() - timedelta(seconds=stale_after_s)
    with session_scope(engine) as session:
        stale = list(session.scalars(
            select(Run.id).where(Run.status == "running", Run.heartbeat_at < cutoff).with_for_update(skip_locked=True)
        ))
        if stale:
            session.execute(
                update(Run).where(Run.id.in_(stale), Run.status == "running", Run.heartbeat_at < cutoff).values(
                    status="queued", worker_id=None,
                    message=f"re-queued: its worker sent no heartbeat for {stale_after_s:g} s",
                )
            )
    return stale


def request_cancel(session: Session, run: Run) -> Run:
    """A queued run is cancelled at once; a running one when its worker's next heartbeat sees the flag."""
    if run.status == "queued":
        run.status, run.finished_at, run.message = "cancelled", utc_now(), "cancelled before it started"
    elif run.status == "running":
        run.cancel_requested, run.message = True, "cancel requested; stops after the current generation"
    return run


def record_progress(engine: Engine, run_id: int, worker_id: str, evaluations_per_s: float, eta_s: float | None, ac_skipped: int) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(Run).where(Run.id == run_id, Run.worker_id == worker_id)
            .values(evaluations_per_s=evaluations_per_s, eta_s=eta_s, ac_skipped=ac_skipped)
        )


class HeartbeatThread(threading.Thread):
    """Renews a run's lease every ``interval_s`` and remembers whether the run must stop."""

    def __init__(self, engine: Engine, run_id: int, worker_id: str, interval_s: float) -> None:
        super().__init__(name=f"heartbeat-run-{run_id}", daemon=True)
        self.engine, self.run_id, self.worker_id, self.interval_s = engine, run_id, worker_id, interval_s
        self.lease = Lease(held=True, cancel_requested=False)
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.interval_s):
            try:
                self.lease = heartbeat(self.engine, self.run_id, self.worker_id)
            except Exception as exc:  # a database hiccup: try again next beat; staleness is judged by the queue
                log.warning("heartbeat of run %s failed: %s", self.run_id, exc)
                continue
            if not self.lease.held:
                return

    def stop(self) -> None:
        self._done.set()
        self.join()

    @property
    def must_stop(self) -> bool:
        return not self.lease.held or self.lease.cancel_requested
