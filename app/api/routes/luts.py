"""gm/ID look-up tables: build one (POST /luts), list them, look a quantity up (GET /luts/{id}/lookup)."""

from __future__ import annotations

import pathlib
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app import crud
from app.api.deps import EngineDep, PoolDep, ReadSessionDep, SettingsDep, WriterDep, simulate
from app.models import Lut
from app.schemas import LutCreate, LutLookup, LutLookupPublic, LutPublic
from app.simulation_pool import build_lut
from gmopt.floats import encode_float
from lut.lookup import load_lut
from lut.technology import get_technology

router = APIRouter(prefix="/luts", tags=["luts"])
LutId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class LutsPublic(BaseModel):
    data: list[LutPublic]
    count: int


@router.post("", response_model=LutPublic, status_code=status.HTTP_201_CREATED)
async def create_lut(request: LutCreate, pool: PoolDep, settings: SettingsDep, engine: EngineDep, _: WriterDep) -> LutPublic:
    """Simulate both devices' tables (or take them from the cache) and record them."""
    built = await simulate(pool, settings, build_lut, request.technology, request.corner, request.temp_c)
    return await run_in_threadpool(crud.record_lut, engine, built)


@router.get("", response_model=LutsPublic)
def list_luts(session: ReadSessionDep, skip: Annotated[int, Query(ge=0, le=10_000_000)] = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> LutsPublic:
    data, count = crud.list_luts(session, skip, limit)
    return LutsPublic(data=data, count=count)


def _lut(session: Session, lut_id: int) -> Lut:
    lut = crud.get_lut(session, lut_id)
    if lut is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no LUT {lut_id}; GET /luts lists them, POST /luts builds one")
    return lut


@router.get("/{lut_id}", response_model=LutPublic)
def get_lut(lut_id: LutId, session: ReadSessionDep) -> Lut:
    return _lut(session, lut_id)


@router.get("/{lut_id}/lookup", response_model=LutLookupPublic)
def lookup(lut_id: LutId, query: Annotated[LutLookup, Query()], session: ReadSessionDep) -> LutLookupPublic:
    """pygmid's ``lookup``: e.g. ``?device=nmos&quantity=ID_W&gm_id=12&L=1e-6&VDS=0.9``."""
    lut = _lut(session, lut_id)
    if not pathlib.Path(lut.path).is_file():
        raise HTTPException(status.HTTP_409_CONFLICT, f"the table file of LUT {lut_id} is gone; POST /luts rebuilds it")
    try:
        table = load_lut(get_technology(lut.technology).at(lut.corner, lut.temp_c), query.device)
        value = table.lookup(query.quantity, vgs=query.vgs, gm_id=query.gm_id, L=query.L, VDS=query.VDS, VSB=query.VSB)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return LutLookupPublic(lut_id=lut_id, query=query, value=encode_float(float(value)))
