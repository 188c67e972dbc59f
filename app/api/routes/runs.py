"""Optimization runs: queue one, list them, follow one, cancel it, read its front and evaluations."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app import circuits, crud
from app.db import reader, session_scope
from app.api.deps import EngineDep, FrontCacheDep, PoolDep, ReadSessionDep, SettingsDep, WriterDep, simulate
from app.queue import QueueFull
from app.schemas import (
    EvaluationPublic, EvaluationsPublic, FrontPublic, HypervolumesPublic, RunCreate, RunPublic, RunsPublic, RunStatus,
)
from circuits.model import CircuitError
from optimizer.results import circuit_design_deck
from optimizer.runner import check_run
from optimizer.spec import RunSpec, SpecError

router = APIRouter(prefix="/runs", tags=["runs"])
Skip = Annotated[int, Query(ge=0, le=10_000_000)]
Limit = Annotated[int, Query(ge=1, le=1000)]
RunId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The run's id, as POST /runs answered it.")]
RowId = Annotated[int, Path(ge=0, le=2**31 - 1)]


def _missing(run_id: int) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no run {run_id}; GET /runs lists the runs")


def _invalid(field: str, message: str) -> RequestValidationError:
    """A 422 shaped as pydantic's own, at the body field ``field`` (``corners.1``)."""
    loc = ("body", *(int(part) if part.isdigit() else part for part in field.split(".")))
    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": message, "input": None}])


def _exists(session: Session, run_id: int) -> None:
    if not crud.run_exists(session, run_id):
        raise _missing(run_id)


@router.post(
    "", response_model=RunPublic, status_code=status.HTTP_201_CREATED,
    responses={429: {"description": "The queue, or this token's share of it, is full"}},
)
def create_run(request: RunCreate, engine: EngineDep, settings: SettingsDep, owner: WriterDep) -> RunPublic:
    """Queue a run; a worker (``gmopt worker``) picks it up. Answers with the run and its id.
    A circuit run names a stored circuit (``circuit``: id or name), resolved here once to its text."""
    total = request.pop_size * request.generations
    if total > settings.max_evaluations_per_run:
        raise _invalid("pop_size", f"pop_size x generations = {total} is outside 1 to {settings.max_evaluations_per_run}, "
                       "this service's limit of evaluations per run: lower pop_size or generations")
    spec, circuit = _with_circuit(request, engine, owner)
    try:
        check_run(spec)
    except SpecError as exc:  # unknown technology or corner: the message lists the valid ones
        raise _invalid(exc.field, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    try:
        return crud.create_run(engine, spec.model_dump(mode="json"), owner, settings, circuit)
    except QueueFull as exc:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc), headers={"Retry-After": "30"}) from exc


def _with_circuit(request: RunCreate, engine: Engine, owner: str) -> tuple[RunSpec, tuple[int, str, str] | None]:
    """The spec to queue and its stored circuit (id, name, hash): a ``circuit`` reference becomes the
    stored text; a ``circuit_package`` given as text is stored first (the same text: the same id)."""
    if request.topology is not None:
        return request, None
    try:
        if request.circuit_package is not None:
            record, _ = circuits.add_circuit(engine, request.circuit_package, owner)
        else:
            with session_scope(reader(engine)) as session:
                record = circuits.get_circuit(session, request.circuit)
    except circuits.UnknownCircuit as exc:
        raise _invalid("circuit", f"{exc}; GET /circuits lists them") from exc
    except CircuitError as exc:
        raise _invalid("circuit_package", str(exc)) from exc
    try:
        spec = request.with_package(record.text) if request.circuit_package is None else request
    except ValidationError as exc:
        raise RequestValidationError([{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]) from exc
    return spec, (record.id, record.name, record.content_hash)


@router.get("", response_model=RunsPublic)
def list_runs(
    session: ReadSessionDep, status: RunStatus | None = None,  # noqa: A002
    topology: Annotated[str | None, Query(max_length=64, description="A built-in topology or a circuit's name.")] = None,
    skip: Skip = 0, limit: Limit = 100,
) -> RunsPublic:
    """Newest first, filtered by status and topology."""
    data, count = crud.list_runs(session, status, topology, skip, limit)
    return RunsPublic(data=data, count=count)


@router.get("/{run_id}", response_model=RunPublic)
def get_run(run_id: RunId, session: ReadSessionDep) -> RunPublic:
    """Status, progress (%), last completed generation, evaluations/s and ETA."""
    run = crud.get_run(session, run_id)
    if run is None:
        raise _missing(run_id)
    return run


@router.post("/{run_id}/cancel", response_model=RunPublic, responses={409: {"description": "The run has already ended"}})
def cancel_run(run_id: RunId, engine: EngineDep, _: WriterDep) -> RunPublic:
    """A queued run is cancelled at once; a running one stops after its current generation."""
    try:
        run = crud.cancel_run(engine, run_id)
    except crud.RunEnded as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    if run is None:
        raise _missing(run_id)
    return run


@router.get(
    "/{run_id}/front", response_model=FrontPublic,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "JSON, or CSV with ?format=csv"}},
)
async def get_front(run_id: RunId, engine: EngineDep, cache: FrontCacheDep, format: Literal["json", "csv"] = "json") -> Response:  # noqa: A002
    """The feasible Pareto front of the last completed generation (curves: GET .../evaluations/{index})."""
    body = cache.cached(run_id, format) or await run_in_threadpool(cache.render, engine, run_id, format)
    if body is None:
        raise _missing(run_id)
    if format == "csv":
        return Response(body, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="run-{run_id}-front.csv"'})
    return Response(body, media_type="application/json")


@router.get("/{run_id}/evaluations", response_model=EvaluationsPublic)
def list_evaluations(
    run_id: RunId, session: ReadSessionDep, generation: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
    skip: Skip = 0, limit: Limit = 100, curves: bool = False,
) -> EvaluationsPublic:
    """Every evaluation in evaluation order (``curves=true`` adds the Iout-Vin sweeps)."""
    _exists(session, run_id)
    data, count = crud.list_evaluations(session, run_id, generation, skip, limit, curves)
    return EvaluationsPublic(data=data, count=count)


@router.get("/{run_id}/evaluations/{index}", response_model=EvaluationPublic)
def get_evaluation(run_id: RunId, index: RowId, session: ReadSessionDep) -> EvaluationPublic:
    """One evaluation with its metrics and its Iout-Vin curve."""
    evaluation = crud.get_evaluation(session, run_id, index)
    if evaluation is None:
        _exists(session, run_id)
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} has no evaluation {index}")
    return evaluation


@router.get(
    "/{run_id}/evaluations/{index}/netlist",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "The deck, as a download"},
               404: {"description": "No such run or evaluation"}, 422: {"description": "A corner the technology lacks"}},
)
async def get_netlist(
    run_id: RunId, index: RowId, engine: EngineDep, pool: PoolDep, settings: SettingsDep,
    corner: Annotated[str | None, Query(max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")] = None,
    temp_c: Annotated[float | None, Query(ge=-55, le=175)] = None,
) -> PlainTextResponse:
    """The point as the standalone SPICE testbench ``gmopt export`` writes (``ngspice -b`` runs it as is),
    at the run's first corner and temperature unless ``corner``/``temp_c`` name others. A circuit
    run's deck is its bench's, rendered in the simulation pool."""
    try:
        found = await run_in_threadpool(crud.point_netlist, engine, run_id, index, corner, temp_c)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    if found is None:
        with session_scope(reader(engine)) as session:
            _exists(session, run_id)
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} has no evaluation {index}")
    filename, text = found
    if not isinstance(text, str):
        text = await simulate(pool, settings, circuit_design_deck, *text)
    return PlainTextResponse(text, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/{run_id}/hypervolume", response_model=HypervolumesPublic)
def get_hypervolume(run_id: RunId, engine: EngineDep, session: ReadSessionDep) -> HypervolumesPublic:
    """The hypervolume of each completed generation (fixed objective scales: comparable across runs)."""
    _exists(session, run_id)
    return HypervolumesPublic(run_id=run_id, data=crud.hypervolumes(engine, run_id))
