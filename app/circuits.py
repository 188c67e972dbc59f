"""The circuit store: circuit packages as added by ``POST /circuits`` and ``gmopt circuit add``.

A record is never changed: the same text added twice is the same record (by name and content
hash), and a changed text under a known name is a new record, so a run keeps pointing at the exact
package it used. A name means its newest record; an id means that one version.
"""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import session_scope
from app.models import CircuitRecord
from app.schemas import CircuitDetail, CircuitPublic, CircuitVariablePublic
from circuits.library import ResolvedCircuit, content_hash, from_text
from circuits.model import TESTBENCH_MEASURES, CircuitError
from circuits.units import VARIABLE_UNITS


class UnknownCircuit(LookupError):
    """No stored circuit has this id or name (answered with 404)."""


def add_circuit(engine: Engine, text: str, owner: str = "", source: str = "circuit") -> tuple[CircuitRecord, bool]:
    """Validate ``text`` (``CircuitError`` says the line and what to fix) and store it unless the
    same name and text are stored already; returns the record and whether it is new."""
    circuit = from_text(text, source).circuit
    digest = content_hash(text)
    for _attempt in range(2):  # a concurrent add of the same text wins the unique constraint: read it
        with session_scope(engine) as session:
            found = _same(session, circuit.name, digest)
            if found is not None:
                return found, False
            record = CircuitRecord(
                name=circuit.name, description=circuit.description, testbench=circuit.testbench.name,
                text=text, content_hash=digest, owner=owner,
            )
            session.add(record)
            try:
                session.flush()
            except IntegrityError:
                session.rollback()
                continue
            return record, True
    raise RuntimeError(f"circuit {circuit.name} could neither be stored nor read back")


def _same(session: Session, name: str, digest: str) -> CircuitRecord | None:
    return session.scalar(select(CircuitRecord).where(CircuitRecord.name == name, CircuitRecord.content_hash == digest))


def list_circuits(session: Session) -> list[CircuitRecord]:
    """The newest record of each name, by name."""
    newest = select(func.max(CircuitRecord.id)).group_by(CircuitRecord.name)
    return list(session.scalars(select(CircuitRecord).where(CircuitRecord.id.in_(newest)).order_by(CircuitRecord.name)))


def versions(session: Session, name: str) -> int:
    return session.scalar(select(func.count()).select_from(CircuitRecord).where(CircuitRecord.name == name)) or 0


def get_circuit(session: Session, reference: str | int) -> CircuitRecord:
    """A record by id (digits) or by name (its newest record); ``UnknownCircuit`` otherwise."""
    text = str(reference).strip()
    if text.isascii() and text.isdigit():  # "¹" is a digit to str.isdigit, not to int()
        record = session.get(CircuitRecord, int(text)) if int(text) < 2**31 else None
    else:
        record = session.scalar(
            select(CircuitRecord).where(CircuitRecord.name == text.lower()).order_by(CircuitRecord.id.desc()).limit(1)
        )
    if record is None:
        raise UnknownCircuit(f"no stored circuit {text!r}: add it first (POST /circuits, gmopt circuit add FILE)")
    return record


def resolved(record: CircuitRecord) -> ResolvedCircuit:
    """The stored text parsed again (it was valid when added; a newer gmopt may refuse it: CircuitError)."""
    try:
        return from_text(record.text, f"stored circuit {record.name} (id {record.id})")
    except CircuitError as exc:
        raise CircuitError(f"{exc} (stored by an older gmopt: add the package again once fixed)") from exc


def public(session: Session, record: CircuitRecord) -> CircuitPublic:
    fields = {name: getattr(record, name) for name in ("id", "name", "description", "testbench", "content_hash", "owner", "created_at")}
    return CircuitPublic(**fields, versions=versions(session, record.name))


def detail(session: Session, record: CircuitRecord, created: bool = False) -> CircuitDetail:
    """The record with its parsed package: variables in SI units, pins, testbench settings, measures."""
    circuit = resolved(record).circuit
    variables = [
        CircuitVariablePublic(
            name=v.name, kind=v.kind, unit=VARIABLE_UNITS[v.kind], min=v.min, max=v.max, step=v.step, grid=v.grid,
            scale=v.scale, devices=list(v.devices),
        )
        for v in circuit.variables
    ]
    return CircuitDetail(
        **public(session, record).model_dump(), created=created, text=record.text, variables=variables,
        pins=circuit.pins.model_dump(mode="json"), testbench_settings=circuit.testbench.model_dump(mode="json"),
        measures=list(TESTBENCH_MEASURES[circuit.testbench.name]),
        constraints=[c.model_dump(mode="json") for c in circuit.constraints],
        objectives=[o.model_dump(mode="json") for o in circuit.objectives],
    )
