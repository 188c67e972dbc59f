"""What the neuromorphic and memristor endpoints accept and answer.

Requests are bounded so that one request is one short transient: the emulator simulates at most
``MAX_EMULATOR_PERIODS`` sine periods (400 steps each) and the neuron at most
``MAX_NEURON_STOP_S`` of pulses (Table 10's 5 ms window), pulse programming at most 20 x
``MAX_PERIOD_PER_WIDTH`` steps per pulse (and ``app.neuro_tasks.MAX_PROGRAM_PULSES`` pulses); the
simulation pool's time-out stops the rest.
Combined limits (a pulse edge that must fit in the pulse...) are checked by the option dataclasses
themselves, so the API and the library cannot disagree about what is valid.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, model_validator

from app.schemas import STRICT, public_model
from gmopt import paper
from lut.technology import TemperatureC
from memristor.models import MODELS
from memristor.programming import ProgrammingResult
from neuromorphic.emulator import EmulatorOptions, EmulatorResult
from neuromorphic.neuron import NeuronOptions, NeuronResult

MAX_EMULATOR_PERIODS = 50
MAX_NEURON_STOP_S = paper.NEURON_PULSES[1][0]
MAX_PERIOD_PER_WIDTH = 10           # pulse programming: period / width (the paper's is 2)
MemristorModelName = Literal[*MODELS]


# --- a stored front point in the emulator or the neuron -------------------------------------------
class PointRequest(BaseModel):
    """What every point simulation takes besides its options: the inverter and where to simulate."""

    model_config = STRICT
    OPTIONS: ClassVar[type]
    SETUP_FIELDS: ClassVar[tuple[str, ...]] = ("inverter_scale", "corner", "temp_c")

    inverter_scale: float = Field(1.0, ge=0.01, le=1000,
                                  description="Width scale of the emulator's inverter (the paper: 1 and 100).")
    corner: str | None = Field(None, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$", description="Default: the run's first corner.")
    temp_c: TemperatureC | None = Field(None, description="Temperature in degC; default: the run's first temperature.")

    def options(self) -> dict[str, Any]:
        """The library's option fields (everything but the setup)."""
        return self.model_dump(exclude=set(self.SETUP_FIELDS))

    @model_validator(mode="after")
    def _library_accepts(self) -> "PointRequest":
        self.OPTIONS(**self.options())  # its ValueError names the combined limit to fix
        return self


class EmulatorRequest(PointRequest):
    """The OTA memristor emulator (Fig. 6) driven by a sine; the last of ``periods`` periods is analysed."""

    OPTIONS = EmulatorOptions

    amplitude_v: float = Field(EmulatorOptions.amplitude_v, gt=0, le=2, description="Sine amplitude in V.")
    freq_hz: float = Field(EmulatorOptions.freq_hz, ge=1, le=1e9, description="Sine frequency in Hz.")
    periods: int = Field(EmulatorOptions.periods, ge=2, le=MAX_EMULATOR_PERIODS,
                         description="Simulated periods (400 steps each); the last is the loop.")


class NeuronRequest(PointRequest):
    """The LIF neuron (Fig. 5) with this OTA in its reset module, driven by ``periods`` input pulses."""

    OPTIONS = NeuronOptions

    amplitude_v: float = Field(paper.NEURON_INPUT_V, gt=0, le=2, description="Input pulse level in V.")
    period_s: float = Field(paper.NEURON_PULSES[0][0], ge=1e-6, le=MAX_NEURON_STOP_S, description="Input pulse period in s.")
    duty: float = Field(paper.NEURON_PULSES[0][1], gt=0, lt=1, description="High fraction of each period, e.g. 0.4 for 40 %.")
    periods: int = Field(1, ge=1, le=1000, description="Input periods simulated.")

    @model_validator(mode="after")
    def _bounded_transient(self) -> "NeuronRequest":
        stop_s = self.periods * self.period_s
        if stop_s > MAX_NEURON_STOP_S * (1 + 1e-9):
            raise ValueError(f"periods x period_s = {stop_s:g} s exceeds this service's limit of {MAX_NEURON_STOP_S:g} s "
                             "of simulated time: lower periods or period_s")
        return self


EmulatorResultPublic = public_model(
    "EmulatorResultPublic", EmulatorResult,
    "The emulator's i-v loop of the last period: pinch, lobe areas (V*A), VB range (neuromorphic.emulator).",
)
NeuronResultPublic = public_model(
    "NeuronResultPublic", NeuronResult,
    "Spikes, energy by eq. 12 and area of one neuron run (neuromorphic.neuron; no waveforms).",
    exclude=("waveforms",),
)


class StoredResult(BaseModel):
    """A simulation of one front point, as stored in ``neuromorphic_results``."""

    id: int
    run_id: int
    point_index: int = Field(description="The evaluation's index in its run.")
    created_at: datetime


class StoredEmulatorResult(StoredResult):
    kind: Literal["emulator"]
    data: EmulatorResultPublic


class StoredNeuronResult(StoredResult):
    kind: Literal["neuron"]
    data: NeuronResultPublic


PointResult = Annotated[StoredEmulatorResult | StoredNeuronResult, Field(discriminator="kind")]


class PointResultsPublic(BaseModel):
    data: list[PointResult]
    count: int


# --- memristor models and the network -----------------------------------------------------------
class MemristorIvRequest(BaseModel):
    """A sinusoidal i-v loop of one model in ngspice (Section 3, Figure 3), two periods."""

    model_config = STRICT

    model: MemristorModelName = "a14mod"
    amplitude_v: float = Field(paper.IV_AMPLITUDE_V, gt=0, le=10, description="Sine amplitude in V.")
    freq_hz: float = Field(paper.IV_FREQUENCIES_HZ[1], ge=1, le=1e10, description="Sine frequency in Hz.")
    initial_ohm: float = Field(paper.IV_INITIAL_MEMRISTANCE_OHM, gt=0, le=1e9, description="Starting memristance in ohm.")


class MemristorIvPublic(BaseModel):
    """Key figures of the loop and the loop resampled to 400 points (``memristor.iv.summary``)."""

    model: str
    amplitude_v: float
    initial_ohm: float
    frequency_hz: float
    max_current_a: float
    memristance_min_ohm: float
    memristance_max_ohm: float
    lobe_area_va: float = Field(description="|int i dv| over both lobes of the last period, V*A.")
    t: list[float]
    v: list[float]
    i: list[float]


class MemristorProgramRequest(BaseModel):
    """Pulses from ``from_ohm`` to ``to_ohm`` (Figures 4-5); the amplitude's sign sets the direction."""

    model_config = STRICT

    model: MemristorModelName = "a14mod"
    from_ohm: float = Field(gt=0, le=1e9, description="Starting memristance M1 in ohm.")
    to_ohm: float = Field(gt=0, le=1e9, description="Target memristance M2 in ohm.")
    amplitude_v: float = Field(ge=-10, le=10, description="Pulse level in V, e.g. 1.1 or -1.1.")
    width_s: float = Field(paper.PROGRAM_PULSE_WIDTH_S, ge=1e-12, le=1e-3, description="Pulse width in s.")
    period_s: float = Field(paper.PROGRAM_PULSE_PERIOD_S, ge=2e-12, le=2e-3, description="Pulse period in s.")

    @model_validator(mode="after")
    def _pulse_fits(self) -> "MemristorProgramRequest":
        if not self.width_s < self.period_s <= MAX_PERIOD_PER_WIDTH * self.width_s:
            raise ValueError(f"period_s = {self.period_s:g} s must exceed width_s = {self.width_s:g} s and be at most "
                             f"{MAX_PERIOD_PER_WIDTH} times it (ngspice steps at width_s/20 through every period)")
        if self.amplitude_v == 0:
            raise ValueError("amplitude_v = 0 V moves nothing: give a pulse level, e.g. 1.1 or -1.1")
        return self


MemristorProgramPublic = public_model(
    "MemristorProgramPublic", ProgrammingResult,
    "Pulses, effective and elapsed time in ngspice and the ODE, beside eq. 12/13 (memristor.programming).",
    paper=(dict[str, float] | None, Field(description="The paper's own figures when this is one of its cases.")),
)


class NetworkSide(BaseModel):
    """One evaluation of the 5-4-2 network: hidden sums S, activations tf and outputs Y, in mV."""

    S_mv: list[float]
    tf_mv: list[float]
    Y_mv: list[float]
    k: float = Field(description="The log-sigmoid coefficient of eq. 14.")
    opamp_gain: float | None = None
    memristors: int | None = Field(None, description="Memristors in the circuit (ngspice side).")


class NetworkPublic(BaseModel):
    """The network of Figures 13-15 in ngspice beside numpy (ideal op-amps, logsig with the same k)."""

    k: float
    spice: NetworkSide
    numpy: NetworkSide

