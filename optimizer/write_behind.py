"""Store writes made behind the run: a generation's records and checkpoint are written by one
background thread while the next generation simulates.

Why: writing a generation (JSON-encoding 20 records of about 9 kB each, an fsync, the checkpoint,
another fsync; or the same as SQL transactions) took 15-17 ms of each 20-candidate generation of
generic180's fig7, during which the workers had nothing to do.

What stays promised: the writes are made in the order they were asked for, one at a time, so a
generation's records are on disk before its checkpoint, and its checkpoint before the next
generation's records; a run killed at any moment resumes from its last stored checkpoint, and
every record stored after it is reused, not simulated again (``optimizer.runner``). The queue
holds at most ``MAX_PENDING`` writes: a store slower than the simulations holds the run back
instead of letting unwritten results pile up in memory. A write that fails ends the run with its
error at the next write asked for, or at ``close``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence

from optimizer.store import EvaluationRecord, RunStore

# two generations of writes (records, checkpoint): the run is never more than one generation
# ahead of its store
MAX_PENDING = 4


class StoreWriteError(RuntimeError):
    """A background store write failed; the run stops (resuming starts from the last stored checkpoint)."""


class WriteBehind:
    """``add_evaluations`` and ``complete_generation`` of ``store``, made in a background thread."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=MAX_PENDING)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._write, name="gmopt-store-writer", daemon=True)  # started by the first write

    def add_evaluations(self, records: Sequence[EvaluationRecord]) -> None:
        self._put(lambda: self.store.add_evaluations(records))

    def complete_generation(self, generation: int, checkpoint: bytes, hypervolume: float, front_indices: list[int]) -> None:
        self._put(lambda: self.store.complete_generation(generation, checkpoint, hypervolume, front_indices))

    def close(self) -> None:
        """Make the pending writes, stop the thread, raise the first write that failed."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._raise_failure()

    def _put(self, write: Callable[[], None]) -> None:
        self._raise_failure()
        if not self._thread.is_alive():
            if self._thread.ident is not None:  # a write after close would never be made
                raise RuntimeError("the store writer is closed")
            self._thread.start()
        self._queue.put(write)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise StoreWriteError(f"storing the run failed: {type(self._failure).__name__}: {self._failure}") from self._failure

    def _write(self) -> None:
        while (write := self._queue.get()) is not None:
            if self._failure is None:  # after a failure nothing more is written: the order would break
                try:
                    write()
                except BaseException as exc:  # noqa: BLE001 - handed to the run's thread, which raises it
                    self._failure = exc
