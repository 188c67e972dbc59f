"""Local worker processes for ngspice sessions: how they start, and how they end with their owner.

ngspice's shared library holds one circuit per process and is not re-entrant, so parallel
simulations run in worker processes. They are forked from multiprocessing's fork server, a
process that imports what a simulation worker needs (``PRELOAD``) once and never loads libngspice.

Why not spawn: a spawned worker is a new interpreter that imports numpy, pydantic-settings, the
engine, the testbench modules and, as it re-runs the main script, the whole CLI: 0.25-0.45 s before
it loads its circuit. On the 20 x 50 fig7 run it was ready 0.33 s after its pool was made, and
the main process simulated the first 6 of 50 batches alone. Forked from the server, a worker is
ready about 40 ms after its pool is made, and it leaves with ``os._exit`` (3 ms) instead of an
interpreter's finalisation (60 ms). ``prestart`` starts the server early, so that its imports
overlap the main process's own (the CLI and the service's worker call it).

Why not plain fork: a parent that holds libngspice sessions (with OpenMP threads) and threads of
its own (the store writer) must not be copied. The server is single-threaded, holds no session,
and computes nothing at import that depends on the environment (no settings, no technology).

What a fork does not bring: the environment is the server's, from when it started. Each worker
takes that of the process that made its pool, as a spawned process would, before it unpickles
its job (``_start``).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import forkserver
from multiprocessing.connection import wait
from typing import Any

# What the fork server imports: the main script (the ``gmopt`` console script imports the whole
# CLI; a worker forked from the server then does not re-run it) and a simulation worker's modules.
PRELOAD = ("__main__", "optimizer.evaluation", "ota.testbench")


def context() -> Any:
    """The multiprocessing context of every worker pool (and of what is shared with its workers:
    a shared array reaches a worker only through its pool's initializer arguments)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))  # read when the server starts; later calls change nothing
    return context


def prestart() -> None:
    """Start the fork server now, in the background (a few ms here): it imports ``PRELOAD`` while
    this process does its own start-up, and the first pool's workers fork from it at once."""
    context()
    forkserver.ensure_running()


def pool(processes: int, initializer: Callable[..., None], initargs: tuple = (), inherited: tuple = ()) -> ProcessPoolExecutor:
    """A pool of ``processes`` workers, each started with ``initializer(*inherited, *initargs)``
    after taking this process's environment and arranging to end with it (``_start``).
    ``inherited``: objects in shared memory (made with ``context()``), which reach a worker only as
    it starts."""
    # pickled here and unpickled by the worker once it has the environment: unpickling a job
    # resolves its technology by name, in the data directory the environment names
    start = pickle.dumps((initializer, initargs))
    return ProcessPoolExecutor(max_workers=processes, mp_context=context(), initializer=_start,
                               initargs=(dict(os.environ), inherited, start))


def _start(environment: dict[str, str], inherited: tuple, start: bytes) -> None:
    """A worker's first step: its owner watched, its owner's environment, then the pool's initializer."""
    _exit_with_owner()
    if os.environ != environment:
        os.environ.clear()
        os.environ.update(environment)
    initializer, initargs = pickle.loads(start)
    initializer(*inherited, *initargs)


def _exit_with_owner() -> None:
    """End this worker as soon as the process that made its pool dies, by a thread that waits on
    the owner's sentinel (a pipe the owner holds open). An owner killed with SIGKILL closes nothing
    else a worker waits on: each one idled for ever (two after every test run, from the service
    test that kills a worker), and so did the fork server, which stays while any worker holds its
    socket. Linux's parent-death signal cannot help here: a worker's parent is the fork server."""
    threading.Thread(target=_exit_when_gone, args=(multiprocessing.parent_process().sentinel,),
                     name="gmopt-owner-watch", daemon=True).start()


def _exit_when_gone(sentinel: int) -> None:
    wait([sentinel])
    os._exit(1)
