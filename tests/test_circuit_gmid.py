"""gm/ID for circuit packages on real ngspice: electrical variable groups (a width from gm/ID,
L and I_D through the tables, against a direct ``size_transistor`` call), their validation, the
gm/ID seeded start of the Miller op-amp (each device at its gm/ID, measured from the operating
point's gm and id, on generic180 and sky130) and a short run whose front holds W and gm/ID."""

from __future__ import annotations

import math
import re

import pytest
import yaml

from circuits import EXAMPLES_DIR
from circuits.benches import open_bench
from circuits.gmid import device_gm_id, seed_design
from circuits.model import CircuitError, circuit_from_text
from lut.sizing import size_transistor
from lut.technology import get_technology
from optimizer.circuit_space import circuit_space
from optimizer.file_store import FileRunStore
from optimizer.results import circuit_design_deck
from optimizer.runner import run_optimization
from optimizer.spec import RunSpec

MILLER = EXAMPLES_DIR / "miller.yaml"
GROUP = {"width": "w_in", "devices": ["MN1", "MN2"], "gm_id": {"min": 5, "max": 25, "default": 14}, "length": "l", "current": "{ibias}/2"}
GM_ID_TOLERANCE = 0.10


def miller(**changes: object) -> dict:
    data = yaml.safe_load(MILLER.read_text())
    data.update(changes)
    return data


def package(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False)


def test_an_electrical_group_is_validated_with_what_to_fix() -> None:
    circuit = circuit_from_text(package(miller(sizing=[GROUP])))
    assert circuit.group_devices(circuit.sizing[0]) == ["mn1", "mn2"] and circuit.sizing[0].column == "gm_id_w_in"
    cases = [
        ({**GROUP, "devices": ["MN1", "MN9"]}, r"mn9 is not a MOS device of the netlist"),
        ({**GROUP, "devices": ["MN1", "MP3"]}, r"mn1, mp3 mix nmos and pmos"),
        ({**GROUP, "width": "l"}, r"l is a l variable; an electrical group sets a w variable"),
        ({**GROUP, "width": "w_nope"}, r"w_nope is not a declared variable"),
        ({**GROUP, "devices": ["MN5"]}, r"mn5's w does not use variable w_in"),
        ({**GROUP, "current": "{w_nope}"}, r"w_nope is not a declared variable; current reads"),
        ({**GROUP, "gm_id": {"min": 25, "max": 5}}, r"min 25 must be below max 5"),
    ]
    for group, message in cases:
        with pytest.raises(CircuitError, match=message):
            circuit_from_text(package(miller(sizing=[group])))
    with pytest.raises(CircuitError, match=r"w_in is in two sizing groups"):
        circuit_from_text(package(miller(sizing=[GROUP, GROUP])))
    load = {"width": "w_load", "gm_id": {"min": 5, "max": 20}, "current": "{ibias}/2"}
    with pytest.raises(CircuitError, match=r"w_in is set by an electrical group; current reads the circuit's free variables"):
        circuit_from_text(package(miller(sizing=[GROUP, {**load, "current": "{w_in}*1"}])))
    with pytest.raises(CircuitError, match=r"gm_id 60 S/A is not a MOSFET's"):
        circuit_from_text(package(miller(devices={**miller()["devices"], "MN1": {"type": "nmos", "gm_id": 60}})))


def test_an_electrical_groups_width_is_a_direct_size_transistor_call() -> None:
    circuit = circuit_from_text(package(miller(sizing=[GROUP])))
    tech = get_technology("generic180")
    condition = tech.at()
    space = circuit_space(circuit, tech, condition)
    assert [c.name for c in space.columns][0] == "gm_id_w_in" and not space.columns[0].integer
    for gm_id, ibias_a, length_m in ((14.0, 20e-6, 1e-6), (8.0, 50e-6, 0.6e-6), (20.0, 10e-6, 2e-6)):
        columns = {**space.nominal_columns(), "gm_id_w_in": gm_id, "ibias": ibias_a, "l": length_m}
        sized = space.sized(space.encode(columns))
        direct = size_transistor(condition, "nmos", gm_id, ibias_a / 2, length_m, vds=tech.supply_v / 4)
        assert sized.error is None and sized.notes == []
        assert sized.design["w_in"] == pytest.approx(direct.w_rounded_m, rel=1e-9)  # on lambda, as size_transistor rounds
        assert sized.design["gm_id_w_in"] == pytest.approx(gm_id) and "w_in" in space.bench_values(sized.design)
        assert "gm_id_w_in" not in space.bench_values(sized.design)
    # beyond the variable's range: clipped to it, with a note
    narrow = circuit_from_text(package(miller(sizing=[GROUP], variables=[
        {**v, "max": "3u", "default": "2u"} if v["name"] == "w_in" else v for v in miller()["variables"]
    ])))
    narrow_space = circuit_space(narrow, tech, condition)
    sized = narrow_space.sized(narrow_space.encode({**narrow_space.nominal_columns(), "gm_id_w_in": 5.0, "ibias": 100e-6}))
    widest_m = math.floor(3e-6 / tech.lambda_m) * tech.lambda_m  # the largest multiple of lambda within max
    assert sized.design["w_in"] == pytest.approx(widest_m) and f"clipped to {widest_m * 1e6:.4g} um" in sized.notes[0]


def _miller_marked() -> dict:
    """The Miller package with the bias mirror's three devices (one width variable) marked at one
    gm/ID (their default roles, bias 10 and tail/mirror 8, cannot all hold at one W)."""
    data = miller()
    data["devices"] = {**data["devices"], **{name: {**data["devices"][name], "gm_id": 9} for name in ("MN5", "MN6", "MN8")}}
    return data


@pytest.mark.parametrize("technology", ["generic180", "sky130"])
def test_the_seeded_miller_opamps_devices_run_at_their_gm_id(technology: str, installed_pdk) -> None:
    tech = installed_pdk(technology) if technology != "generic180" else get_technology(technology)
    circuit = circuit_from_text(package(_miller_marked()))
    condition = tech.at()
    space = circuit_space(circuit, tech, condition)
    with open_bench(circuit, condition, operating_points=True) as bench:
        seeding = seed_design(circuit, space, bench)
        columns = seeding.columns
        assert seeding.notes == [] and seeding.seeded == pytest.approx({"w_in": 15, "w_load": 8, "w_bias": 9, "w_cs": 10})
        design = space.sized(space.encode(columns)).design
        nominal = bench.operating_point(space.bench_values(space.sized(space.encode(space.nominal_columns())).design))
        op = bench.operating_point(space.bench_values(design))
    for device, point in op.items():
        target = device_gm_id(circuit, device)
        measured = point["gm"] / point["id"]  # ngspice's @m...[gm] / @m...[id]
        assert measured == pytest.approx(target, rel=GM_ID_TOLERANCE), (device, measured, nominal[device]["gm"] / nominal[device]["id"])
    assert any(abs(columns[v.name] - v.nominal(tech)) > 0.1 * v.nominal(tech) for v in circuit.variables if v.kind == "w")


def test_seeding_reports_what_it_could_not_size() -> None:
    data = miller()
    # the load loses its role; the second stage asks for a gm/ID beyond the pmos table (1.2 to 26.2 S/A there)
    data["devices"] = {**data["devices"], "MP3": {"type": "pmos"}, "MP4": {"type": "pmos"}, "MP7": {"type": "pmos", "gm_id": 38}}
    circuit = circuit_from_text(package(data))
    tech = get_technology("generic180")
    space = circuit_space(circuit, tech)
    with open_bench(circuit, tech.at(), operating_points=True) as bench:
        seeding = seed_design(circuit, space, bench)
    columns, notes = seeding.columns, seeding.notes
    with open_bench(circuit, tech.at()) as plain, pytest.raises(ValueError, match="open it with operating_points=True"):
        plain.operating_point({})  # a run's workers' benches save no operating-point vectors
    assert "w_load: no device with a role or gm_id" in notes and "w_load" not in seeding.seeded
    assert any(note.startswith("w_bias: its devices ask for different gm/ID") for note in notes)
    assert seeding.seeded["w_bias"] == pytest.approx((10 * 8 * 8) ** (1 / 3))  # the geometric mean of bias, tail, mirror
    assert any(note.startswith("w_cs: mp7 at gm/ID 38 S/A is outside the tables") and note.endswith("kept nominal") for note in notes)
    assert columns["w_cs"] == space.nominal_columns()["w_cs"] and "w_cs" not in seeding.seeded
    assert seeding.summary().startswith("sized w_in at 15 S/A, w_bias at 8.62 S/A; w_load: no device")
    assert columns["w_load"] == space.nominal_columns()["w_load"] and columns["w_in"] != space.nominal_columns()["w_in"]


def test_a_short_run_with_an_electrical_group_stores_widths_and_gm_id(tmp_path) -> None:
    data = miller(sizing=[GROUP], constraints=[
        {"measure": "gain_db", "op": ">=", "value": 30}, {"measure": "phase_margin_deg", "op": ">=", "value": 30},
    ])
    spec = RunSpec.parse({"circuit_package": package(data), "circuit": "miller with a gm/ID group", "pop_size": 6, "generations": 2, "seed": 3})
    store = FileRunStore(tmp_path / "run")
    summary = run_optimization(spec, store, workers=1)
    assert summary.status == "finished" and summary.evaluations == 12
    assert "seeding: sized w_load at 8 S/A, w_bias at 8.62 S/A, w_cs at 10 S/A; w_bias: its devices" in store.status_message()
    tech = get_technology("generic180")
    condition = tech.at()
    front = store.front()
    assert front
    for record in front:
        gm_id = record.design["gm_id_w_in"]
        assert 5 <= gm_id <= 25 and isinstance(record.var[0], float) and record.var[0] == pytest.approx(gm_id)
        direct = size_transistor(condition, "nmos", gm_id, record.design["ibias"] / 2, record.design["l"], vds=tech.supply_v / 4)
        widest_m = math.floor(200e-6 / tech.lambda_m) * tech.lambda_m  # w_in's max on lambda
        assert record.design["w_in"] == pytest.approx(min(direct.w_rounded_m, widest_m), rel=1e-9)
        assert ("clipped to" in record.metrics.get("sizing_note", "")) == (direct.w_m > widest_m)
        assert math.isfinite(record.metrics["gain_db"]) and record.feasible
    deck = circuit_design_deck(spec, front[0].design)  # the export takes the design's variables, W included
    param_line = next(line for line in deck.splitlines() if line.startswith(".param") and " w_in=" in line)
    assert float(re.search(r" w_in=(\S+)", param_line)[1]) == pytest.approx(front[0].design["w_in"], rel=1e-6)
    assert "gm_id_w_in" not in deck
    first = store.evaluations()[0]
    assert first.design["gm_id_w_in"] == pytest.approx(14.0)  # the seeded start: the group's default gm/ID
