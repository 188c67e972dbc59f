"""POST /evaluate: simulate one OTA candidate now (in the simulation pool, with a time-out)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import PoolDep, SettingsDep, WriterDep, simulate
from app.schemas import EvaluateRequest, OtaResultPublic
from app.simulation_pool import evaluate_candidate

router = APIRouter(tags=["evaluate"])


@router.post(
    "/evaluate", response_model=OtaResultPublic,
    responses={422: {"description": "Bad widths, topology, technology or corner"}, 504: {"description": "Time-out"}},
)
async def evaluate(request: EvaluateRequest, pool: PoolDep, settings: SettingsDep, _: WriterDep) -> dict:
    """The dc sweep (its Vin = 0 point is the operating point) and ac analysis of one candidate: gain,
    bandwidth, phase margin, gm, RMSE, offset, power, Iout-Vin."""
    return await simulate(pool, settings, evaluate_candidate, request.model_dump())
