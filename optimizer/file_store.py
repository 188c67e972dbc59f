"""The run store of the command line: one folder per run (``gmopt optimize --out runs/fig7``).

Layout: ``header.json``; ``evaluations.jsonl`` (one record per line, appended and flushed as
evaluations finish); ``checkpoint.pkl`` (the last generation's: a header line with the
generation's entry, then the pickled state; written to a temporary file and renamed) and
``generations.jsonl`` (one entry per generation, appended after its checkpoint, so a generation is
listed only once its checkpoint is on disk); ``status.json``. A run killed mid-write leaves at most
a torn last line, which is dropped; killed between a checkpoint and its line, the checkpoint's
header lists the generation, and the next write appends it.

Why a log, not one list: ``generations.json``, rewritten whole after every generation (as older
runs have it; they are still read), grew with the run: 1.9 ms of the writer's CPU per generation
at generation 100 of a 100 x 100 run, growing linearly with the generations listed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from gmopt.floats import decode_float, encode_float
from optimizer.store import EvaluationRecord, RunStore

_CHECKPOINT = "checkpoint.pkl"
_GENERATIONS = "generations.jsonl"
_OLD_GENERATIONS = "generations.json"  # older runs': the whole list, rewritten per generation
_CHECKPOINT_HEADER = b"gmopt checkpoint "  # then the generation's entry as JSON and a newline, then the state
_INDEX = re.compile(r'\{"index": ?(\d+),')  # the start of every line add_evaluations writes (json or orjson)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file, flush it to disk, then rename: readers see old or new, never half."""
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


class FileRunStore(RunStore):
    """A run kept as JSON files in one folder (created if missing)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._evaluations_path = self.folder / "evaluations.jsonl"
        self._indices: set[int] | None = None
        self._log_ready = False  # the generations log checked once before this store's first append

    # --- header and status ------------------------------------------------------------------
    def write_header(self, spec: dict, provenance: dict) -> None:
        self._write_json("header.json", {"spec": spec, "provenance": provenance})

    def read_header(self) -> tuple[dict, dict] | None:
        data = self._read_json("header.json")
        return None if data is None else (data["spec"], data["provenance"])

    def set_status(self, status: str, message: str = "") -> None:
        self._write_json("status.json", {"status": status, "message": message})

    def status(self) -> str:
        data = self._read_json("status.json")
        return "new" if data is None else data["status"]

    def status_message(self) -> str:
        data = self._read_json("status.json")
        return "" if data is None else data["message"]

    # --- evaluations ------------------------------------------------------------------------
    def add_evaluations(self, records: Sequence[EvaluationRecord]) -> None:
        known = self._known_indices()
        fresh = [record for record in records if record.index not in known]
        if not fresh:
            return
        # orjson: a record's 385 curve floats cost 0.2 ms in json.dumps, 0.02 ms here (same values
        # back); numpy scalars as numbers (to_json has already spelled every non-finite value)
        lines = b"".join(orjson.dumps(record.to_json(), option=orjson.OPT_SERIALIZE_NUMPY) + b"\n" for record in fresh)
        with open(self._evaluations_path, "ab") as handle:
            handle.write(lines)
            handle.flush()
            os.fsync(handle.fileno())
        known.update(record.index for record in fresh)

    def evaluations(self, generation: int | None = None) -> list[EvaluationRecord]:
        records = {record.index: record for record in self._read_records()}
        return [
            records[index] for index in sorted(records)
            if generation is None or records[index].generation == generation
        ]

    # --- generations ------------------------------------------------------------------------
    def complete_generation(self, generation: int, checkpoint: bytes, hypervolume: float, front_indices: list[int]) -> None:
        entry = json.dumps({"generation": generation, "hypervolume": encode_float(hypervolume), "front": list(front_indices)}).encode()
        self._prepare_log()
        _write_atomic(self.folder / _CHECKPOINT, _CHECKPOINT_HEADER + entry + b"\n" + checkpoint)
        self._append_line(entry)

    def last_checkpoint(self) -> tuple[int, bytes] | None:
        stored = self._read_checkpoint()
        if stored is None:
            return None
        entry, state = stored
        if entry is None:  # an older run's checkpoint: the last generation listed is its generation
            generations = self._generations()
            return (generations[-1]["generation"], state) if generations else None
        return entry["generation"], state

    def hypervolumes(self) -> list[tuple[int, float]]:
        return [(entry["generation"], float(entry["hypervolume"])) for entry in self._generations()]

    def front(self) -> list[EvaluationRecord]:
        generations = self._generations()
        if not generations:
            return []
        wanted = set(generations[-1]["front"])
        records = {record.index: record for record in self._read_records(wanted)}
        return [records[index] for index in sorted(records)]

    # --- helpers ----------------------------------------------------------------------------
    def _generations(self) -> list[dict[str, Any]]:
        """The entries in generation order: the log's, and the checkpoint's own where a kill came before its line."""
        entries = self._logged()
        header = self._checkpoint_entry()
        if header is not None:
            entries.setdefault(header["generation"], header)
        return [{**entries[g], "hypervolume": decode_float(entries[g]["hypervolume"])} for g in sorted(entries)]

    def _logged(self) -> dict[int, dict[str, Any]]:
        """The log's entries by generation (a torn last line dropped; an entry written again, by a
        generation re-run after a kill, replaces the earlier), or an older run's list."""
        path = self.folder / _GENERATIONS
        if not path.exists():
            return {entry["generation"]: entry for entry in self._read_json(_OLD_GENERATIONS) or []}
        entries = {}
        for line in path.read_bytes().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            entries[entry["generation"]] = entry
        return entries

    def _prepare_log(self) -> None:
        """Before this store's first append: an older run's list becomes the log, a torn last line
        is cut, and the checkpoint's entry is appended if a kill came before its line."""
        if self._log_ready:
            return
        path, old = self.folder / _GENERATIONS, self.folder / _OLD_GENERATIONS
        if not path.exists() and old.exists():
            lines = (json.dumps({**entry, "hypervolume": encode_float(entry["hypervolume"])}).encode() + b"\n" for entry in self._logged().values())
            _write_atomic(path, b"".join(lines))
            old.unlink()
        if path.exists():
            text = path.read_bytes()
            if text and not text.endswith(b"\n"):
                _write_atomic(path, text[: text.rfind(b"\n") + 1])
        header = self._checkpoint_entry()
        if header is not None and header["generation"] not in self._logged():
            self._append_line(json.dumps(header).encode())
        self._log_ready = True

    def _append_line(self, entry: bytes) -> None:
        with open(self.folder / _GENERATIONS, "ab") as handle:
            handle.write(entry + b"\n")
            handle.flush()
            os.fsync(handle.fileno())

    def _read_checkpoint(self) -> tuple[dict[str, Any] | None, bytes] | None:
        """(the generation's entry, the state); the entry None for an older run's checkpoint (no header)."""
        path = self.folder / _CHECKPOINT
        if not path.exists():
            return None
        data = path.read_bytes()
        if not data.startswith(_CHECKPOINT_HEADER):
            return None, data
        entry, _, state = data[len(_CHECKPOINT_HEADER):].partition(b"\n")
        return json.loads(entry), state

    def _checkpoint_entry(self) -> dict[str, Any] | None:
        """The checkpoint's header entry, reading only its first line."""
        path = self.folder / _CHECKPOINT
        if not path.exists():
            return None
        with open(path, "rb") as handle:
            line = handle.readline()
        return json.loads(line[len(_CHECKPOINT_HEADER):]) if line.startswith(_CHECKPOINT_HEADER) else None

    def _read_records(self, indices: set[int] | None = None) -> list[EvaluationRecord]:
        """Every record, or only those of ``indices``: a line whose index (its first key, as
        ``add_evaluations`` writes it) is not wanted is not parsed (a 100 x 100 run's front is read
        from 10,000 lines of about 9 kB)."""
        if not self._evaluations_path.exists():
            return []
        records = []
        for line in self._evaluations_path.read_text().splitlines():
            if indices is not None and (match := _INDEX.match(line)) and int(match.group(1)) not in indices:
                continue
            try:
                record = EvaluationRecord.from_json(json.loads(line))
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # the torn last line of a killed run
            if indices is None or record.index in indices:
                records.append(record)
        return records

    def _known_indices(self) -> set[int]:
        """Indices already stored; on first use also cut a torn last line so appends stay parseable."""
        if self._indices is None:
            if self._evaluations_path.exists():
                text = self._evaluations_path.read_bytes()
                if text and not text.endswith(b"\n"):
                    _write_atomic(self._evaluations_path, text[: text.rfind(b"\n") + 1])
            self._indices = {record.index for record in self._read_records()}
        return self._indices

    def _write_json(self, name: str, data: Any) -> None:
        _write_atomic(self.folder / name, json.dumps(data, indent=1).encode())

    def _read_json(self, name: str) -> Any:
        path = self.folder / name
        return json.loads(path.read_text()) if path.exists() else None
