"""A run's evaluated point in the memristor emulator or the LIF neuron ("From a Pareto point to a neuron").

The point's OTA (topology, technology, integer widths) comes from the stored run; corner and
temperature default to the run's first ones. The simulation runs in the simulation pool with the
service's time-out, and every result is stored in ``neuromorphic_results`` before it is answered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app import crud
from app.api.deps import EngineDep, PoolDep, ReadSessionDep, SettingsDep, WriterDep, simulate
from app.api.routes.runs import RowId, RunId, _exists
from app.db import reader, session_scope
from app.neuro_schemas import (
    EmulatorRequest, NeuronRequest, PointRequest, PointResult, PointResultsPublic, StoredEmulatorResult,
    StoredNeuronResult,
)
from app.neuro_tasks import emulate_point, neuron_point
from app.simulation_pool import SimulationPool
from gmopt.settings import Settings

router = APIRouter(prefix="/runs/{run_id}/points/{index}", tags=["neuromorphic"])
_SIMULATION_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such run, or no such point in it"},
    422: {"description": "Bad options, or a corner or temperature the technology or circuit does not accept"},
    504: {"description": "The simulation ran past GMOPT_EVALUATE_TIMEOUT_S"},
}


def _point(session: Session, run_id: int, index: int) -> tuple[dict, list[int]]:
    found = crud.get_point(session, run_id, index)
    if found is None:
        _exists(session, run_id)
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"run {run_id} has no evaluated point {index}; GET /runs/{run_id}/evaluations lists them")
    return found


def _setup(engine: Engine, run_id: int, index: int, request: PointRequest) -> dict[str, Any]:
    """The OTA of the stored point, where to simulate it, and the inverter."""
    with session_scope(reader(engine)) as session:
        spec, var = _point(session, run_id, index)
    if spec.get("topology") is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"run {run_id} sizes a circuit package; the emulator and the neuron take a built-in OTA's widths only")
    return {
        "topology": spec["topology"], "var": var, "technology": spec["technology"],
        "corner": request.corner or spec["corners"][0],
        "temp_c": spec["temps_c"][0] if request.temp_c is None else request.temp_c,
        "inverter_scale": request.inverter_scale,
    }


async def _simulate_point(
    kind: str, task: Callable[..., dict], run_id: int, index: int, request: PointRequest,
    pool: SimulationPool, settings: Settings, engine: Engine,
) -> PointResult:
    setup = await run_in_threadpool(_setup, engine, run_id, index, request)
    data = await simulate(pool, settings, task, setup, request.options())
    return await run_in_threadpool(crud.store_point_result, engine, run_id, index, kind, data)


@router.post("/emulator", response_model=StoredEmulatorResult, status_code=status.HTTP_201_CREATED,
             responses=_SIMULATION_ERRORS)
async def emulate(run_id: RunId, index: RowId, request: EmulatorRequest, pool: PoolDep, settings: SettingsDep,
                  engine: EngineDep, _: WriterDep) -> PointResult:
    """The point's OTA in the memristor emulator (Fig. 6) under a sine: pinch, lobe areas and the loop."""
    return await _simulate_point("emulator", emulate_point, run_id, index, request, pool, settings, engine)


@router.post("/neuron", response_model=StoredNeuronResult, status_code=status.HTTP_201_CREATED,
             responses=_SIMULATION_ERRORS)
async def neuron(run_id: RunId, index: RowId, request: NeuronRequest, pool: PoolDep, settings: SettingsDep,
                 engine: EngineDep, _: WriterDep) -> PointResult:
    """The point's OTA in the LIF neuron's reset module (Fig. 5) under input pulses: spikes, energy, area."""
    return await _simulate_point("neuron", neuron_point, run_id, index, request, pool, settings, engine)


@router.get("/results", response_model=PointResultsPublic, responses={404: _SIMULATION_ERRORS[404]})
def list_results(run_id: RunId, index: RowId, session: ReadSessionDep) -> PointResultsPublic:
    """Every emulator and neuron result stored for the point, oldest first."""
    _point(session, run_id, index)
    data = crud.point_results(session, run_id, index)
    return PointResultsPublic(data=data, count=len(data))
