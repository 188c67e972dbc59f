"""GET /run-options: what a run form needs (the spec's defaults, the topologies, the stored circuits and this service's limits)."""

from __future__ import annotations

from fastapi import APIRouter

from app import circuits
from app.api.deps import ReadSessionDep, SettingsDep
from app.schemas import ObjectivePublic, RunCreate, RunOptionsPublic, TopologyPublic, TopologyVariablePublic
from optimizer.problem import OBJECTIVE_METRICS
from ota.topology import TOPOLOGIES, get_topology

router = APIRouter(tags=["runs"])
DEFAULT_TOPOLOGY = "fig7"  # the paper's optimized OTA (Table 8, Figure 7)


def _topology(name: str) -> TopologyPublic:
    topology = get_topology(name)
    variables = [
        TopologyVariablePublic(name=v.name, label=v.label, devices=list(v.devices), polarity=v.polarity, role=v.role)
        for v in topology.variables
    ]
    return TopologyPublic(name=topology.name, title=topology.title, variables=variables)


@router.get("/run-options", response_model=RunOptionsPublic)
def run_options(settings: SettingsDep, session: ReadSessionDep) -> RunOptionsPublic:
    """Defaults and choices for ``POST /runs``: the built-in topologies and the stored circuits
    (technologies and their corners: ``GET /technologies``; a circuit's variables: ``GET /circuits/{id}``)."""
    return RunOptionsPublic(
        defaults=RunCreate(topology=DEFAULT_TOPOLOGY).model_dump(mode="json"),
        topologies=[_topology(name) for name in TOPOLOGIES],
        circuits=[circuits.public(session, record) for record in circuits.list_circuits(session)],
        objectives={name: ObjectivePublic(metric=metric, goal="max" if sign < 0 else "min")
                    for name, (metric, sign) in OBJECTIVE_METRICS.items()},
        token_required=bool(settings.api_token),
        max_evaluations_per_run=settings.max_evaluations_per_run,
        spec_schema=RunCreate.model_json_schema(),
    )
