"""What the REST API accepts and answers, by role (``RunCreate``, ``RunPublic``, ``RunsPublic``...).

JSON has no inf or NaN, so every float that may be non-finite is answered as a number or one of
the strings ``"inf"``, ``"-inf"``, ``"nan"`` (the one encoding, ``gmopt.floats``).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any, Literal, get_args, get_origin, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from circuits.model import MAX_FILE_BYTES
from gmopt.floats import NonFinite
from lut.table import DEVICES, SIMULATED
from lut.technology import TemperatureC
from optimizer.spec import RunSpec, TopologyName
from ota.testbench import OtaResult

JsonFloat = float | NonFinite
RunStatus = Literal["queued", "running", "finished", "failed", "cancelled"]
STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


class RunCreate(RunSpec):
    """A run to queue: the optimizer's run specification (``gmopt optimize --spec`` takes the same fields).

    A circuit run gives ``circuit``, a stored circuit's id or name (``POST /circuits``), instead of
    ``topology``: the server resolves it once and fills ``circuit_package`` with the stored text.
    """

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: object) -> object:
        """``circuit`` alone is let through for the route to resolve; everything else as ``RunSpec``."""
        if isinstance(data, dict) and data.get("topology") is None and data.get("circuit") is not None:
            if data.get("circuit_package") is not None:
                raise ValueError("give 'circuit' (a stored circuit's id or name) without 'circuit_package': the server fills it in")
            return data
        return RunSpec.__pydantic_decorators__.model_validators["_one_kind"].func.__func__(cls, data)

    def with_package(self, text: str) -> RunSpec:
        """The run spec of a circuit reference once resolved to its stored text (pydantic's
        ValidationError for the fields a circuit run refuses)."""
        return RunSpec.model_validate(self.model_dump(mode="json", exclude_unset=True) | {"circuit_package": text})


class CircuitSummary(BaseModel):
    """A circuit run's package as the page needs it: read from the exact text stored with the run."""

    name: str
    description: str
    testbench: str
    measures: list[str] = Field(description="Every measure the testbench reports (metric names, SI units).")
    content_hash: str
    objectives: list[dict[str, Any]] = Field(description="{measure, goal: min | max}, in the package's order.")
    constraints: list[dict[str, Any]] = Field(description="{measure, op, value}, in the order of the run's constraint_names.")
    variables: list[dict[str, Any]] = Field(description="{name, kind, devices, scale, min, max}; values in SI units.")


class RunPublic(BaseModel):
    """A run's queue state, progress and provenance."""

    id: int
    status: RunStatus
    message: str
    topology: str
    technology: str
    seed: int
    pop_size: int
    generations: int
    generation: int | None = Field(description="Last completed generation (0 = initial population), None before.")
    evaluations_done: int
    evaluations_total: int = Field(description="pop_size x generations.")
    progress_pct: float
    evaluations_per_s: float | None
    eta_s: float | None
    ac_skipped: int = Field(0, description="AC analyses the run's DC screen (spec screen_dc) skipped since the run last started (a resumed run counts again from 0).")
    hypervolume: JsonFloat | None = Field(description="Hypervolume of the last completed generation.")
    attempts: int = Field(description="How many times a worker started (or resumed) the run.")
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    gmopt_version: str | None
    ngspice_version: str | None
    model_hash: str | None
    provenance: dict[str, Any] | None
    spec: dict[str, Any]
    circuit_id: int | None = Field(None, description="The stored circuit a circuit run uses (GET /circuits/{id}); null for a built-in topology.")
    circuit_name: str | None = Field(None, description="A circuit run's package name; null for a built-in topology.")
    circuit_hash: str | None = Field(None, description="sha256 of the exact package text the run uses (also in its provenance).")
    constraint_names: list[str] = Field(description="What each value of an evaluation's constraints is (<= 0 when met).")
    circuit: CircuitSummary | None = Field(None, description="A circuit run's package; null for a built-in OTA run.")


class RunsPublic(BaseModel):
    data: list[RunPublic]
    count: int


class EvaluationPublic(BaseModel):
    """One evaluated candidate (objectives as minimised, constraints <= 0 when met)."""

    index: int
    generation: int
    var: list[int | float] = Field(description="The design-space row (a circuit run's float columns: its continuous variables).")
    widths_um: list[JsonFloat]
    design: dict[str, float] = Field(default_factory=dict, description="A circuit run's variable values by name, in SI units (m, A, V, F, ohm).")
    metrics: dict[str, JsonFloat | bool | str | None]
    curves: dict[str, list[JsonFloat]] = Field(
        description="vin_v and iout_a of the DC sweep, freq_hz, ac_magnitude_db and ac_phase_deg of the AC response "
                    "(empty in lists; runs stored before the AC curves were kept have only the DC sweep).")
    objectives: list[JsonFloat]
    constraints: list[JsonFloat]
    feasible: bool
    converged: bool
    error: str | None
    wall_time_s: float
    cached: bool


class EvaluationsPublic(BaseModel):
    data: list[EvaluationPublic]
    count: int


class FrontPublic(BaseModel):
    """The feasible Pareto front of a run's last completed generation."""

    run_id: int
    generation: int | None
    objectives: list[str]
    data: list[EvaluationPublic]
    count: int


class HypervolumePoint(BaseModel):
    generation: int
    hypervolume: JsonFloat


class HypervolumesPublic(BaseModel):
    run_id: int
    data: list[HypervolumePoint]


class TechnologyPublic(BaseModel):
    name: str
    description: str
    supply_v: float
    corners: list[str]
    nmos_model: str
    pmos_model: str
    lmin_m: float
    wmin_m: float
    length_m: float = Field(description="Channel length of every sized device unless a run frees it.")
    lambda_m: float = Field(description="Width unit: W = Var x lambda.")


class LutCreate(BaseModel):
    """Build (or load from the cache) the gm/ID tables of both devices of a technology."""

    model_config = STRICT

    technology: str = Field("generic180", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    corner: str | None = Field(None, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$", description="Default: the technology's typical corner.")
    temp_c: TemperatureC = Field(27.0, description="Temperature in degC.")


class LutPublic(BaseModel):
    id: int
    technology: str
    corner: str
    temp_c: float
    cache_key: str
    grid: dict[str, Any]
    provenance: dict[str, Any]
    simulated: bool = Field(description="False when the table came from the cache.")
    build_seconds: float
    created_at: datetime


LutQuantity = Literal[
    *(name.upper() for name in SIMULATED), "FT", "VGS", "GM_ID", "ID_W", "GM_GDS", "GM_CGG", "CGG_W", "GDS_ID", "GDS_W",
]


class LutLookup(BaseModel):
    """A pygmid-style look-up: ``quantity`` of ``device`` against ``vgs`` or ``gm_id`` (give exactly one)."""

    model_config = STRICT

    device: Literal[*DEVICES]
    quantity: LutQuantity
    L: float = Field(gt=0, lt=1e-3, description="Channel length in metres.")
    VDS: float = Field(ge=0, le=100, description="|VDS| in volts.")
    VSB: float = Field(0.0, ge=0, le=100, description="|VSB| in volts.")
    vgs: float | None = Field(None, ge=0, le=100, description="|VGS| in volts.")
    gm_id: float | None = Field(None, gt=0, le=100, description="gm/ID in S/A.")

    @model_validator(mode="after")
    def _one_abscissa(self) -> "LutLookup":
        if (self.vgs is None) == (self.gm_id is None):
            raise ValueError("give exactly one of vgs (V) or gm_id (S/A)")
        return self


class LutLookupPublic(BaseModel):
    lut_id: int
    query: LutLookup
    value: JsonFloat


class EvaluateRequest(BaseModel):
    """One OTA candidate, simulated now: integer widths ``var`` (multiples of lambda) or ``widths_um``."""

    model_config = STRICT

    topology: TopologyName
    technology: str = Field("generic180", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    corner: str | None = Field(None, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    temp_c: TemperatureC = Field(27.0, description="Temperature in degC.")
    var: list[Annotated[int, Field(ge=1, le=1_000_000)]] | None = Field(None, min_length=1, max_length=32)
    widths_um: list[Annotated[float, Field(gt=0, le=100_000)]] | None = Field(None, min_length=1, max_length=32)

    @model_validator(mode="after")
    def _one_sizing(self) -> "EvaluateRequest":
        if (self.var is None) == (self.widths_um is None):
            raise ValueError("give exactly one of var (integers, W = var x lambda) or widths_um (micrometres)")
        return self


def _public_type(hint: Any) -> Any:
    """float -> JsonFloat, recursively inside lists and dicts: the API's encoding of inf/NaN."""
    if hint is float:
        return JsonFloat
    origin = get_origin(hint)
    return origin[tuple(_public_type(arg) for arg in get_args(hint))] if origin in (list, dict) else hint


def public_model(name: str, result_class: type, doc: str, exclude: tuple[str, ...] = (), **extra: Any) -> type[BaseModel]:
    """The response schema of a result dataclass: its fields (``float`` as ``JsonFloat``) plus ``extra``
    (pydantic field definitions), so the OpenAPI document follows the dataclass without a copy."""
    hints = get_type_hints(result_class)
    fields = {field.name: (_public_type(hints[field.name]), ...) for field in dataclasses.fields(result_class)
              if field.name not in exclude}
    return create_model(name, __doc__=doc, **fields, **extra)


OtaResultPublic = public_model(
    "OtaResultPublic", OtaResult, "The figures of merit of one simulated candidate (ota.testbench.OtaResult).",
)


class TopologyVariablePublic(BaseModel):
    name: str = Field(description="The spec's variable, e.g. var1: W = var x lambda.")
    label: str = Field(description="The paper's name, e.g. W1.")
    devices: list[str]
    polarity: str
    role: str


class TopologyPublic(BaseModel):
    name: str
    title: str
    variables: list[TopologyVariablePublic]


class ObjectivePublic(BaseModel):
    metric: str = Field(description="The evaluation metric the objective is, e.g. gain_db.")
    goal: Literal["min", "max"] = Field(description="What the designer wants; the optimizer minimises max goals negated.")


class RunOptionsPublic(BaseModel):
    """What a run form needs: the defaults, the choices and this service's limits."""

    defaults: dict[str, Any] = Field(description="A RunCreate with every default (topology: the paper's fig7).")
    topologies: list[TopologyPublic]
    circuits: list["CircuitPublic"] = Field(default_factory=list, description="Stored circuit packages (POST /runs takes circuit: id or name).")
    objectives: dict[str, ObjectivePublic] = Field(description="Every objective a run can ask for.")
    token_required: bool = Field(description="POSTs need 'Authorization: Bearer <token>'.")
    max_evaluations_per_run: int = Field(description="Largest pop_size x generations this service accepts.")
    spec_schema: dict[str, Any] = Field(description="The JSON schema of RunCreate (bounds and descriptions of each field).")


# --- circuit packages --------------------------------------------------------------------------
class CircuitCreate(BaseModel):
    """A circuit package to store: its YAML or JSON text (the raw body, as text/yaml, works too)."""

    model_config = STRICT
    text: str = Field(min_length=1, max_length=MAX_FILE_BYTES, description="The package, exactly as written (it is hashed as given).")


class CircuitPublic(BaseModel):
    """A stored circuit package (one version: a changed text under the same name is a new id)."""

    id: int
    name: str
    description: str
    testbench: str
    content_hash: str = Field(description="sha256 of the exact text.")
    owner: str
    created_at: datetime
    versions: int = Field(1, description="How many versions of this name are stored (GET /circuits/{id} reads an older one).")


class CircuitsPublic(BaseModel):
    data: list[CircuitPublic]
    count: int


class CircuitVariablePublic(BaseModel):
    name: str
    kind: str
    unit: str = Field(description="SI unit of min, max and the run's design values (m, A, V, F, ohm; empty for m).")
    min: float
    max: float
    step: float | str | None
    grid: list[float] | None
    scale: str
    devices: list[str]


class CircuitDetail(CircuitPublic):
    """A stored package with what a run form needs: its variables, pins, testbench and measures."""

    created: bool = Field(False, description="POST /circuits: true when this text was new, false when it was stored already.")
    text: str
    variables: list[CircuitVariablePublic]
    pins: dict[str, Any]
    testbench_settings: dict[str, Any] = Field(description="The package's testbench with its settings (null: the technology's).")
    measures: list[str] = Field(description="What the testbench measures: the names constraints and objectives use.")
    constraints: list[dict[str, Any]]
    objectives: list[dict[str, Any]]
