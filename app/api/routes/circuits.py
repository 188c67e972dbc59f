"""Circuit packages: store one (``POST /circuits``), list them, read one by id or name.

A refused package is a 422 whose ``detail`` is the parser's sentence: the file line (and netlist
line) and what to fix. A package's size is limited by ``circuits.model.MAX_FILE_BYTES`` (200 kB)
and the body as a whole by the service's ``max_body_bytes``.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from app import circuits as store
from app.api.deps import EngineDep, ReadSessionDep, WriterDep
from app.db import reader, session_scope
from app.schemas import CircuitCreate, CircuitDetail, CircuitsPublic
from circuits.model import MAX_FILE_BYTES, CircuitError

router = APIRouter(prefix="/circuits", tags=["circuits"])
Reference = Annotated[str, Path(
    min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$", description="A stored circuit's id, or its name (the newest version).",
)]
TEXT_TYPES = ("text/", "application/yaml", "application/x-yaml")


async def _package_text(request: Request) -> str:
    """The package from ``{"text": "..."}`` (application/json) or from a raw YAML/JSON body."""
    body = await request.body()
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    try:
        if kind == "application/json":
            return CircuitCreate.model_validate(json.loads(body)).text
        if kind.startswith(TEXT_TYPES):
            text = body.decode("utf-8")
            if len(body) > MAX_FILE_BYTES:
                raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"a circuit package is at most {MAX_FILE_BYTES} bytes")
            return text
    except (ValueError, ValidationError) as exc:  # JSON, UTF-8 and the body's shape
        message = "; ".join(e["msg"] for e in exc.errors()) if isinstance(exc, ValidationError) else str(exc)
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f'the body must be {{"text": "<the package>"}} or the raw YAML/JSON package: {message}'
        ) from exc
    raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "send application/json ({\"text\": ...}) or text/yaml")


@router.post(
    "", response_model=CircuitDetail, status_code=status.HTTP_201_CREATED,
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": CircuitCreate.model_json_schema()},
        "text/yaml": {"schema": {"type": "string", "description": "The package's YAML (or JSON) text."}},
    }}},
    responses={200: {"description": "This exact text was stored already (same id)"},
               422: {"description": "The package is refused: detail names the line and what to fix"}},
)
async def add_circuit(request: Request, response: Response, engine: EngineDep, owner: WriterDep) -> CircuitDetail:
    """Validate and store a circuit package: 201 with its id, or 200 with the same id when this exact
    text is stored already; a changed text under a known name gets a new id (older runs keep theirs)."""
    text = await _package_text(request)

    def add() -> CircuitDetail:
        record, created = store.add_circuit(engine, text, owner, source="circuit")
        with session_scope(reader(engine)) as session:
            return store.detail(session, record, created)

    try:
        added = await run_in_threadpool(add)
    except CircuitError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    if not added.created:
        response.status_code = status.HTTP_200_OK
    return added


@router.get("", response_model=CircuitsPublic)
def list_circuits(session: ReadSessionDep) -> CircuitsPublic:
    """The newest version of each stored circuit, by name."""
    data = [store.public(session, record) for record in store.list_circuits(session)]
    return CircuitsPublic(data=data, count=len(data))


@router.get("/{reference}", response_model=CircuitDetail, responses={404: {"description": "No such circuit"}})
def get_circuit(reference: Reference, session: ReadSessionDep) -> CircuitDetail:
    """One stored package: its text, hash, variables, pins, testbench and the measures it offers."""
    try:
        return store.detail(session, store.get_circuit(session, reference))
    except store.UnknownCircuit as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except CircuitError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
