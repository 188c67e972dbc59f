"""Records and checkpoints written behind the run (``optimizer.write_behind``): in order, all of
them by the time the run returns, and a store that fails mid-run stops the run with its reason,
keeps what was stored, and resumes to the uninterrupted run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from optimizer.file_store import FileRunStore
from optimizer.runner import run_optimization
from optimizer.store import EvaluationRecord
from optimizer.write_behind import StoreWriteError, WriteBehind
from tests.test_optimizer_run import small_spec, trajectory


class LoggedStore(FileRunStore):
    """A file store that logs the writes it receives, and fails the ``fail_at``-th batch of records."""

    def __init__(self, folder: Path, fail_at: int | None = None) -> None:
        super().__init__(folder)
        self.log: list[tuple[str, int]] = []
        self.fail_at = fail_at

    def add_evaluations(self, records: Sequence[EvaluationRecord]) -> None:
        if self.fail_at is not None and len([kind for kind, _ in self.log if kind == "records"]) + 1 == self.fail_at:
            raise OSError(28, "No space left on device")
        super().add_evaluations(records)
        self.log.append(("records", records[0].generation))

    def complete_generation(self, generation: int, checkpoint: bytes, hypervolume: float, front_indices: list[int]) -> None:
        super().complete_generation(generation, checkpoint, hypervolume, front_indices)
        self.log.append(("checkpoint", generation))


def test_every_write_is_made_in_order_before_the_run_returns(tmp_path: Path) -> None:
    store = LoggedStore(tmp_path / "run")
    summary = run_optimization(small_spec(generations=4), store, workers=1)
    assert summary.status == "finished" and store.status() == "finished"
    assert store.log == [(kind, generation) for generation in range(4) for kind in ("records", "checkpoint")]
    assert len(store.evaluations()) == 24 and [generation for generation, _ in store.hypervolumes()] == [0, 1, 2, 3]


def test_a_failing_store_stops_the_run_keeps_what_was_stored_and_resumes(tmp_path: Path) -> None:
    spec = small_spec(generations=4)
    failing = LoggedStore(tmp_path / "run", fail_at=3)
    with pytest.raises(StoreWriteError, match="No space left on device"):
        run_optimization(spec, failing, workers=1)
    assert failing.status() == "failed" and "No space left on device" in failing.status_message()
    # generations 0 and 1 are whole; nothing of generation 2 or later was written after the failure
    assert failing.log == [("records", 0), ("checkpoint", 0), ("records", 1), ("checkpoint", 1)]
    assert [generation for generation, _ in failing.hypervolumes()] == [0, 1]

    resumed = FileRunStore(failing.folder)
    summary = run_optimization(spec, resumed, workers=1)
    uninterrupted = FileRunStore(tmp_path / "uninterrupted")
    run_optimization(spec, uninterrupted, workers=1)
    assert summary.status == "finished" and summary.generations_completed == 4
    assert trajectory(resumed) == trajectory(uninterrupted)
    assert resumed.hypervolumes() == uninterrupted.hypervolumes()


def test_writes_after_a_failure_are_refused_with_the_first_reason(tmp_path: Path) -> None:
    writes = WriteBehind(LoggedStore(tmp_path / "run", fail_at=1))
    writes.add_evaluations([EvaluationRecord(index=0, generation=0, var=[1], widths_um=[0.1], metrics={})])
    with pytest.raises(StoreWriteError, match="OSError: .*No space left on device"):
        writes.close()
    with pytest.raises(StoreWriteError, match="No space left on device"):
        writes.complete_generation(0, b"", 0.0, [])
