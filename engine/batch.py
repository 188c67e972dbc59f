"""``ngspice -b`` subprocess back-end: the fallback where the shared library cannot be used,
and the naive baseline that benchmarks compare the persistent session against."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Collection, Mapping
from pathlib import Path

from engine.base import DEFAULT_TIMEOUT_S, Engine, Results, check_analysis
from engine.errors import EngineUnavailable, SimulationError, SimulationTimeout
from engine.rawfile import read_raw
from engine.shared import _is_error


def ngspice_binary() -> str:
    """``GMOPT_NGSPICE`` if set, else ``ngspice`` on the PATH."""
    binary = os.environ.get("GMOPT_NGSPICE") or shutil.which("ngspice")
    if not binary:
        raise EngineUnavailable("the ngspice program was not found: install Debian's ngspice (make run does)")
    return binary


class BatchEngine(Engine):
    """Each run writes the deck with a control block and starts a fresh ``ngspice -b``."""

    def __init__(self) -> None:
        super().__init__()
        self._binary = ngspice_binary()
        self._netlist: str | None = None

    def load(self, netlist: str) -> None:
        self._forget_changes()
        lines = [line for line in netlist.splitlines() if line.strip().lower() != ".end"]
        self._netlist = "\n".join(lines)

    def deck(self, analyses: Mapping[str, str], folder: Path) -> str:
        """The complete batch deck: circuit, current changes, and one raw file per analysis."""
        if self._netlist is None:
            raise SimulationError("no circuit is loaded: call load() first")
        control = ["set num_threads=1", "set filetype=binary", *self._change_commands()]
        for index, command in enumerate(analyses.values()):
            control += [check_analysis(command), f"write {folder / f'{index}.raw'} all"]
        return "\n".join([self._netlist, ".control", *control, ".endc", ".end", ""])

    def run(
        self, analyses: Mapping[str, str], timeout_s: float = DEFAULT_TIMEOUT_S, vectors: Mapping[str, Collection[str]] | None = None,
    ) -> Results:
        """``vectors`` changes nothing here: the raw file holds every vector anyway."""
        with tempfile.TemporaryDirectory(prefix="gmopt-batch-") as tmp:
            folder = Path(tmp)
            deck_path = folder / "deck.cir"
            deck_path.write_text(self.deck(analyses, folder))
            try:
                done = subprocess.run(
                    [self._binary, "-b", str(deck_path)],
                    capture_output=True, text=True, timeout=timeout_s, cwd=folder,
                )
            except subprocess.TimeoutExpired as exc:
                raise SimulationTimeout(f"ngspice -b did not finish within {timeout_s:g} s") from exc
            errors = [line for line in (done.stderr + done.stdout).splitlines() if _is_error(line)]
            results: Results = {}
            for index, (key, command) in enumerate(analyses.items()):
                raw = folder / f"{index}.raw"
                if not raw.exists():
                    raise SimulationError(f"ngspice failed in '{command}'", errors or [done.stderr.strip()])
                results[key] = read_raw(raw)
            if errors:
                raise SimulationError("ngspice reported errors", errors)
            return results
