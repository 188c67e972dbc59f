"""GET /health: is the service up, can it reach its database, how long is the queue."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from app import crud
from app.api.deps import EngineDep
from gmopt import __version__

router = APIRouter(tags=["health"])


class HealthPublic(BaseModel):
    status: str
    version: str
    database: str
    queued_runs: int
    running_runs: int


@router.get("/health", response_model=HealthPublic)
def health(engine: EngineDep) -> HealthPublic:
    try:
        counts = crud.active_run_counts(engine)
    except SQLAlchemyError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"database unreachable: {type(exc).__name__}") from exc
    return HealthPublic(
        status="ok", version=__version__, database=engine.dialect.name,
        queued_runs=counts["queued"], running_runs=counts["running"],
    )
