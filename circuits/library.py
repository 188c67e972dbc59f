"""Where a circuit reference given at the edge (the CLI's ``--circuit``, a run spec) is resolved,
once, to the package text and its parsed ``Circuit``; the run then carries the text itself."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from circuits.model import Circuit, CircuitError, circuit_from_text, read_package


def content_hash(text: str) -> str:
    """sha256 of a package's exact text: a run's provenance and the circuits table name it by this."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ResolvedCircuit:
    """A circuit package as a run uses it: the exact text, its hash and the validated object."""

    text: str
    circuit: Circuit
    source: str

    @property
    def content_hash(self) -> str:
        return content_hash(self.text)


def from_text(text: str, source: str = "circuit") -> ResolvedCircuit:
    return ResolvedCircuit(text, parsed(text, source), source)


@functools.lru_cache(maxsize=16)
def parsed(text: str, source: str = "circuit") -> Circuit:
    """A package text validated once per process: a run's spec is parsed again on every resume
    and header read, and a worker looks its bench up per candidate."""
    return circuit_from_text(text, source)


def resolve(reference: str) -> ResolvedCircuit:
    """A circuit package by reference: a YAML or JSON file that exists, else a circuit stored in the
    service's database (``gmopt circuit add``) by id or name; ``CircuitError`` says what to fix."""
    path = Path(reference)
    if path.is_file():
        return from_text(read_package(path), str(path))
    from app import circuits as store  # the store needs SQLAlchemy and the settings: only for a stored reference
    from app.db import open_database, reader, session_scope

    try:
        with session_scope(reader(open_database())) as session:
            return store.resolved(store.get_circuit(session, reference))
    except store.UnknownCircuit as exc:
        raise CircuitError(f"no circuit file {reference!r} and {exc}") from exc
