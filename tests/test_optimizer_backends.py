"""The local simulation back-end: a built-in topology's batches are shared between this process
and ``workers - 1`` spawned workers; every candidate runs once and gets its own answer, in order,
whoever simulated it, and this process's testbench is closed with the back-end; a circuit
package's candidates never run in this process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from circuits.library import resolve
from lut.technology import get_technology
from optimizer.circuit_space import circuit_space
from optimizer import evaluation
from optimizer.evaluation import CircuitJob, SimulationJob, simulation_backend
from ota.sizing import first_sizing
from ota.testbench import OtaTestbench

EXAMPLES = Path(__file__).resolve().parents[1] / "circuits" / "examples"


def test_a_shared_batch_answers_every_candidate_in_order_as_a_direct_simulation() -> None:
    condition = get_technology("generic180").at("tt", 27.0)
    # bias voltages 1 mV off the technology's: a testbench no other test has left in this process's cache
    job = SimulationJob.widths_only("fig7", condition, {pin: volts + 1e-3 for pin, volts in condition.technology.bias_v.items()})
    rows = [[v + step for v in first_sizing("fig7")] for step in range(12)]
    loaded = set(evaluation._TESTBENCHES)
    with simulation_backend(job, workers=2) as parallel:
        first = parallel(job, rows)   # the worker is still starting: this process takes most of the batch
        second = parallel(job, rows[::-1])
        assert set(evaluation._TESTBENCHES) > loaded  # this process simulated with its own testbench
    assert set(evaluation._TESTBENCHES) == loaded  # and closed it with the back-end
    with OtaTestbench("fig7", condition, bias_v=dict(job.bias_v)) as bench:
        direct = [bench.evaluate(row).to_dict(curves=False) for row in rows]
    for answers in (first, second[::-1]):
        assert [answer["results"][0]["var"] for answer in answers] == rows
        for answer, expected in zip(answers, direct):
            # each process reaches a candidate through other width changes: equal to 1e-9 (ota/resize.py)
            assert answer["results"][0]["gain_db"] == pytest.approx(expected["gain_db"], rel=1e-9)
            assert answer["results"][0]["gm_s"] == pytest.approx(expected["gm_s"], rel=1e-9)


def test_a_circuit_package_runs_only_in_child_processes(tmp_path: Path) -> None:
    resolved = resolve(str(EXAMPLES / "miller.yaml"))
    condition = get_technology("generic180").at("tt", 27.0)
    job = CircuitJob(resolved.text, (condition,), circuit_space(resolved.circuit, condition.technology, condition))
    with simulation_backend(job, workers=2) as parallel:
        pids = [answer["pid"] for answer in parallel(_pid, [0, 1, 2, 3])]
    assert os.getpid() not in pids and len(set(pids)) <= 2


def _pid(_: int) -> dict[str, int]:
    return {"pid": os.getpid()}


def _logged(task: tuple[str, int]) -> dict[str, int]:
    """Leave a file per call (position, process), a few milliseconds apart: how often each position ran, and where."""
    folder, position = task
    (Path(folder) / f"{position}-{os.getpid()}-{time.perf_counter_ns()}").touch()
    time.sleep(0.005)
    if position == 13 and (Path(folder).parent / "fail").exists():
        raise ValueError("candidate 13 fails")
    return {"position": position, "pid": os.getpid()}


def test_every_candidate_of_a_shared_batch_runs_once_in_one_of_the_processes(tmp_path: Path) -> None:
    condition = get_technology("generic180").at("tt", 27.0)
    job = SimulationJob.widths_only("fig7", condition, condition.technology.bias_v)
    with simulation_backend(job, workers=3) as parallel:
        # the first batches: the two workers still starting, this process answers alone (their tasks, when
        # they start, find a later batch on the board and take nothing of it)
        (tmp_path / "start").mkdir()
        for _ in range(200):
            if len({answer["pid"] for answer in parallel(_logged, [(str(tmp_path / "start"), 0)] * 20)}) == 3:
                break
        calls, tasks = tmp_path / "calls", [(str(tmp_path / "calls"), position) for position in range(40)]
        calls.mkdir()
        answers = parallel(_logged, tasks)
        assert [answer["position"] for answer in answers] == list(range(40))
        ran = [name.name.split("-") for name in calls.iterdir()]
        assert sorted(int(position) for position, _, _ in ran) == list(range(40))  # each position once
        assert {int(pid) for _, pid, _ in ran} == {answer["pid"] for answer in answers}
        assert len({answer["pid"] for answer in answers}) == 3 and os.getpid() in {answer["pid"] for answer in answers}
        # a candidate that raises ends its batch with the error; the next batch is answered whole
        (tmp_path / "fail").touch()
        with pytest.raises(ValueError, match="candidate 13 fails"):
            parallel(_logged, tasks)
        (tmp_path / "fail").unlink()
        assert [answer["position"] for answer in parallel(_logged, tasks)] == list(range(40))


def test_without_main_simulates_even_one_worker_is_a_child_process() -> None:
    condition = get_technology("generic180").at("tt", 27.0)
    job = SimulationJob.widths_only("fig7", condition, condition.technology.bias_v)
    with simulation_backend(job, workers=1, main_simulates=False) as parallel:
        pids = [answer["pid"] for answer in parallel(_pid, [0, 1, 2])]
    assert os.getpid() not in pids and len(set(pids)) == 1


@pytest.mark.slow
def test_the_workers_end_with_a_parent_killed_outright() -> None:
    """A parent killed with SIGKILL in the middle of a batch: before, its workers waited for ever
    (each holds the answer pipe's other end, so nothing tells it the parent is gone). A thread in
    each now ends it (``engine.processes._exit_with_owner``), and then the fork server leaves too."""
    code = (
        "import time\n"
        "from lut.technology import get_technology\n"
        "from optimizer.evaluation import SimulationJob, simulation_backend\n"
        "condition = get_technology('generic180').at('tt', 27.0)\n"
        "job = SimulationJob.widths_only('fig7', condition, condition.technology.bias_v)\n"
        "from ota.sizing import first_sizing\n"
        "rows = [[v + step for v in first_sizing('fig7')] for step in range(40)]\n"
        "with simulation_backend(job, workers=3) as parallel:\n"
        "    print('started', flush=True)\n"
        "    while True:\n"
        "        parallel(job, rows)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code],
                              stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
    parent.stdout.readline()
    time.sleep(3)  # killed in the middle of a batch: the workers simulating, or handing their answers over
    server = subprocess.run(["pgrep", "-f", "-P", str(parent.pid), "forkserver"], capture_output=True, text=True).stdout.split()
    assert len(server) == 1
    workers = [int(pid) for pid in subprocess.run(["pgrep", "-P", server[0]], capture_output=True, text=True).stdout.split()]
    assert len(workers) == 2
    workers.append(int(server[0]))
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in workers):
        time.sleep(0.05)
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
