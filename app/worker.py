"""``gmopt worker``: take queued runs from the database and run them, one at a time, until stopped.

Start as many as the machine holds. Each claims a run atomically, renews its lease with a
heartbeat thread, and stores every evaluation as it finishes (SqlRunStore). SIGTERM or Ctrl-C
lets the current generation finish, then puts the run back in the queue to resume elsewhere; a
worker killed outright is noticed by the others (no heartbeat for ``stale_after_s``), which
re-queue its run, and whoever takes it resumes from the last completed generation.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid

from sqlalchemy import Engine, select

from app.db import open_database, session_scope
from app.models import Run
from app.queue import HeartbeatThread, claim_next, record_progress, requeue_stale
from app.sql_store import SqlRunStore
from engine import processes
from gmopt.settings import Settings, get_settings
from optimizer.evaluation import CircuitLoadError
from optimizer.runner import ProgressInfo, run_optimization
from optimizer.spec import RunSpec

log = logging.getLogger("gmopt.worker")


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def execute(engine: Engine, run_id: int, worker_id: str, settings: Settings, shutdown: threading.Event) -> None:
    """Run (or resume) one claimed run; every outcome is written to the run's row."""
    store = SqlRunStore(engine, run_id, lease=worker_id)
    with session_scope(engine) as session:
        spec_data = session.scalar(select(Run.spec).where(Run.id == run_id))
    beat = HeartbeatThread(engine, run_id, worker_id, settings.heartbeat_interval_s)
    beat.start()

    def progress(info: ProgressInfo) -> None:
        record_progress(engine, run_id, worker_id, info.evaluations_per_s, info.eta_s, info.ac_skipped)

    try:
        summary = run_optimization(
            RunSpec.parse(spec_data, source=f"run {run_id}"), store, workers=settings.workers,
            dask_address=settings.dask_address or None, progress=progress,
            should_stop=lambda: shutdown.is_set() or beat.must_stop, resume=True,
            main_simulates=False,  # a hard ngspice failure breaks the run's pool, never this worker
        )
        log.info("run %s: %s after %d evaluations", run_id, summary.status, summary.evaluations)
    except CircuitLoadError as exc:  # the runner stored it, failed and not resumable; no traceback to add
        log.error("run %s failed: %s", run_id, exc)
    except Exception as exc:  # the run failed, not the worker: record why and take the next one
        log.exception("run %s failed", run_id)
        store.set_status("failed", f"{type(exc).__name__}: {exc}")
    finally:
        beat.stop()


def serve(settings: Settings | None = None, *, once: bool = False) -> int:
    """Work until SIGTERM/SIGINT (or, with ``once``, until the queue is empty); returns the runs taken."""
    settings = settings or get_settings()
    if not settings.dask_address:  # every run simulates in local worker processes (main_simulates False)
        processes.prestart()
    engine = open_database(settings)
    worker_id = new_worker_id()
    shutdown = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: shutdown.set())
    poll_s = min(1.0, settings.heartbeat_interval_s)
    taken = 0
    log.info("worker %s polling %s", worker_id, engine.url.render_as_string(hide_password=True))
    while not shutdown.is_set():
        for run_id in requeue_stale(engine, settings.stale_after_s):
            log.warning("run %s re-queued: its worker stopped sending heartbeats", run_id)
        run_id = claim_next(engine, worker_id)
        if run_id is None:
            if once:
                break
            shutdown.wait(poll_s)
            continue
        taken += 1
        log.info("worker %s took run %s", worker_id, run_id)
        execute(engine, run_id, worker_id, settings, shutdown)
    return taken
