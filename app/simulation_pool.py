"""Simulations the API answers synchronously (POST /evaluate, POST /luts), in separate processes.

ngspice's shared library is one circuit per process and not re-entrant, and a simulation must
never block the event loop: each call runs in a process pool whose processes keep their loaded
testbenches. A call that exceeds its time-out has its process ended and replaced by the pool
(pebble's per-task time-out), so one hung simulation cannot take the service down.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Callable

from pebble import ProcessExpired, ProcessPool

from gmopt.floats import encode_floats


class SimulationTimeout(Exception):
    """The simulation ran past its time-out (answered with 504)."""


class SimulationCrashed(Exception):
    """The simulation's process died (answered with 503; the pool has already replaced it)."""


class SimulationPool:
    """A lazily started pebble process pool: each call has its own time-out, after which pebble
    ends that call's process and starts a fresh one (a running task cannot be cancelled otherwise)."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._pool: ProcessPool | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPool:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPool(max_workers=self.processes, context=multiprocessing.get_context("spawn"))
            return self._pool

    async def call(self, timeout_s: float, function: Callable[..., Any], *args: Any) -> Any:
        future = self._executor().schedule(function, args=args, timeout=timeout_s)
        try:
            return await asyncio.wrap_future(future)
        except FutureTimeout as exc:
            raise SimulationTimeout(f"the simulation took longer than {timeout_s:g} s and was stopped") from exc
        except ProcessExpired as exc:
            raise SimulationCrashed(f"the simulation process died ({exc})") from exc

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
            pool.join()


# --- what runs inside the pool's processes --------------------------------------------------
@functools.lru_cache(maxsize=8)
def _testbench(topology: str, technology: str, corner: str | None, temp_c: float):
    from ota.testbench import OtaTestbench

    return OtaTestbench(topology=topology, technology=technology, corner=corner or "tt", temp_c=temp_c)


def evaluate_candidate(request: dict[str, Any]) -> dict[str, Any]:
    """Simulate one candidate; ValueError (bad widths, unknown technology or corner) reaches the caller."""
    testbench = _testbench(request["topology"], request["technology"], request["corner"], request["temp_c"])
    result = testbench.evaluate(request["var"]) if request.get("var") is not None else testbench.evaluate_um(request["widths_um"])
    return encode_floats(result.to_dict())


def build_lut(technology: str, corner: str | None, temp_c: float) -> dict[str, Any]:
    """Build (or load from the cache) both devices' tables; returns what the luts table records."""
    from lut.build import build_or_load, cache_key
    from lut.technology import get_technology

    condition = get_technology(technology).at(corner, temp_c)
    tech = condition.technology
    result = build_or_load(condition)
    meta = dict(next(iter(result.tables.values())).meta)
    meta.pop("device", None)
    return {
        "technology": tech.name, "corner": meta["corner"], "temp_c": meta["temp_c"], "cache_key": cache_key(meta),
        "path": str(result.path), "grid": meta["grid"], "provenance": meta, "simulated": result.simulated,
        "build_seconds": result.seconds, "technology_record": {
            "name": tech.name, "description": tech.description, "supply_v": tech.supply_v,
            "corners": list(tech.corners), "model_hash": tech.model_hash(),
        },
    }
