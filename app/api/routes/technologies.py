"""GET /technologies: what the service can simulate."""

from __future__ import annotations

from fastapi import APIRouter

from app.schemas import TechnologyPublic
from lut.technology import list_technologies

router = APIRouter(tags=["technologies"])


@router.get("/technologies", response_model=list[TechnologyPublic])
def technologies() -> list[TechnologyPublic]:
    return [
        TechnologyPublic(
            name=tech.name, description=tech.description, supply_v=tech.supply_v, corners=list(tech.corners),
            nmos_model=tech.nmos.model, pmos_model=tech.pmos.model, lmin_m=tech.lmin_m, wmin_m=tech.wmin_m,
            length_m=tech.length_m, lambda_m=tech.lambda_m,
        )
        for tech in list_technologies()
    ]
