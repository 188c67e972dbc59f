"""The paper's Table 10, reproduced: energy per spike (T = 5 ms) and area of the neuron with each OTA.

Cases: the baseline OTA (our stand-in for the paper's 'original OTA' of its ref. [13]) and the
three OTAs with the first gm/ID sizing (Table 5) and the NSGA-II sizing (Table 7), each with the
emulator's inverter at 1x and 100x width. The paper's Table 10 areas match the Table 7 widths, so
its numbers sit beside our 'optimized' rows (and the baseline's).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from gmopt import paper
from neuromorphic.circuit import default_var
from neuromorphic.neuron import NeuronOptions
from neuromorphic.parallel import Progress, neuron_case, run_cases
from ota.topology import get_topology

PAPER_NAME = {"baseline": "original"}
SIZINGS = {"first": paper.TABLE5_WIDTHS_UM, "optimized": paper.TABLE7_WIDTHS_UM}


@dataclass(frozen=True)
class Table10Row:
    topology: str
    sizing: str
    inverter_scale: int
    var: list[int]
    spike_count: int | None
    rate_hz: float | None
    energy_per_spike_j: float | None
    area_um2: float | None
    area_table9_um2: float | None
    paper_energy_per_spike_j: float | None
    paper_area_um2: float | None
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def table10_cases(technology: str = "generic180", corner: str = "tt", temp_c: float = 27.0,
                  options: NeuronOptions | None = None) -> list[dict]:
    """Plain-argument cases (for worker processes), one per Table 10 row we compute."""
    options_fields = asdict(options or NeuronOptions())
    cases = []
    for topology in ("baseline", "fig7", "fig8", "fig9"):
        sizings = {"reference": default_var(topology)} if topology not in paper.TABLE7_WIDTHS_UM else {
            name: get_topology(topology).var_from_um(widths[topology]) for name, widths in SIZINGS.items()
        }
        for sizing, var in sizings.items():
            for scale in (1, paper.INVERTER_SCALE_PAPER):
                cases.append({
                    "topology": topology, "var": var, "technology": technology, "corner": corner, "temp_c": temp_c,
                    "inverter_scale": scale, "options": options_fields, "sizing": sizing,
                })
    return cases


def _row(outcome: dict) -> Table10Row:
    paper_values = None
    if outcome["sizing"] in ("optimized", "reference"):
        paper_values = paper.TABLE10_ENERGY.get((PAPER_NAME.get(outcome["topology"], outcome["topology"]), outcome["inverter_scale"]))
    result = outcome.get("result", {})
    return Table10Row(
        topology=outcome["topology"], sizing=outcome["sizing"], inverter_scale=outcome["inverter_scale"], var=outcome["var"],
        spike_count=result.get("spike_count"), rate_hz=result.get("rate_hz"),
        energy_per_spike_j=result.get("energy_per_spike_j"), area_um2=result.get("area_um2"),
        area_table9_um2=result.get("area_table9_um2"),
        paper_energy_per_spike_j=paper_values[0] if paper_values else None,
        paper_area_um2=paper_values[1] if paper_values else None,
        error=outcome.get("error"),
    )


def reproduce_table10(technology: str = "generic180", corner: str = "tt", temp_c: float = 27.0,
                      options: NeuronOptions | None = None, workers: int = 2,
                      progress: Progress | None = None) -> list[Table10Row]:
    """Every case in ``workers`` processes (one ngspice session each); rows in a fixed order."""
    cases = table10_cases(technology, corner, temp_c, options)
    outcomes = run_cases(_neuron_case_with_sizing, cases, workers=workers, progress=progress)
    return [_row(outcome) for outcome in outcomes]


def _neuron_case_with_sizing(case: dict) -> dict:
    """``sizing`` is a label of the row, not an argument of the neuron."""
    arguments = {key: value for key, value in case.items() if key != "sizing"}
    return {**neuron_case(arguments), "sizing": case["sizing"]}
