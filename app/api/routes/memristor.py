"""Memristor models and the 5-4-2 memristor network (Mladenov 2024): thin routes over ``memristor/``.

They store nothing, like ``POST /evaluate``: each request is one short ngspice run in the
simulation pool, with the service's time-out.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import PoolDep, SettingsDep, WriterDep, simulate
from app.neuro_schemas import (
    MemristorIvPublic, MemristorIvRequest, MemristorProgramPublic, MemristorProgramRequest, NetworkPublic,
)
from app.neuro_tasks import memristor_iv, memristor_network, memristor_program

router = APIRouter(tags=["memristor"])
Coefficient = Annotated[float | None, Query(gt=0, le=100, description="Log-sigmoid k of eq. 14; default: fitted to the circuit.")]
_ERRORS = {422: {"description": "Bad parameters"}, 504: {"description": "The simulation ran past GMOPT_EVALUATE_TIMEOUT_S"}}


@router.post("/memristor/iv", response_model=MemristorIvPublic, responses=_ERRORS)
async def iv(request: MemristorIvRequest, pool: PoolDep, settings: SettingsDep, _: WriterDep) -> dict:
    """Two periods of a sine on one model in ngspice (Figure 3): peak current, memristance range, lobe area."""
    return await simulate(pool, settings, memristor_iv, request.model_dump())


@router.post("/memristor/program", response_model=MemristorProgramPublic, responses=_ERRORS)
async def program(request: MemristorProgramRequest, pool: PoolDep, settings: SettingsDep, _: WriterDep) -> dict:
    """Pulses needed from M1 to M2 in ngspice and in the ODE, beside eq. 12/13 (Figures 4-5)."""
    return await simulate(pool, settings, memristor_program, request.model_dump())


@router.get("/network", response_model=NetworkPublic, response_model_exclude_none=True, responses=_ERRORS)
async def network(pool: PoolDep, settings: SettingsDep, k: Coefficient = None) -> dict:
    """The 5-4-2 network of Figures 13-15 on Table 3's inputs: ngspice and numpy side by side, in mV."""
    return await simulate(pool, settings, memristor_network, k)
