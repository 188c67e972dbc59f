"""Where a circuit reference given at the edge (the CLI's ``--circuit``, a run spec) is resolved,
once, to the package text and its parsed ``Circuit``; the run then carries the text itself."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from circuits.model import Circuit, CircuitError, circuit_from_text


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
    return ResolvedCircuit(text, circuit_from_text(text, source), source)


def resolve(reference: str) -> ResolvedCircuit:
    """A circuit package by reference: a YAML or JSON file that exists, else a circuit stored in the
    service's database (``gmopt circuit add``) by id or name; ``CircuitError`` says what to fix."""
    path = Path(reference)
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CircuitError(f"cannot read circuit file {path}: {exc}") from exc
        return from_text(text, str(path))
    from app import circuits as store  # the store needs SQLAlchemy and the settings: only for a stored reference
    from app.db import open_database, reader, session_scope

    try:
        with session_scope(reader(open_database())) as session:
            return store.resolved(store.get_circuit(session, reference))
    except store.UnknownCircuit as exc:
        raise CircuitError(f"no circuit file {reference!r} and {exc}") from exc
