"""The neuromorphic and memristor endpoints against direct calls of the libraries (real ngspice, SQLite).

The API simulates in its pool process, the test in its own: the same netlists on the same ngspice
give the same numbers, so results must agree to 1e-9 relative (only the wall time differs).
"""

from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient

from gmopt import paper
from memristor.activation import fit_activation
from memristor.iv import sine_loop, summary
from memristor.models import get_model
from memristor.network import NetworkSpec, numpy_network, spice_network
from memristor.programming import program
from neuromorphic.emulator import EmulatorOptions, run_emulator
from neuromorphic.neuron import NeuronOptions, run_neuron

REL = 1e-9
EMULATOR = {"freq_hz": 1e5, "amplitude_v": 0.5, "periods": 3}
NEURON = {"period_s": 10e-6, "duty": 0.4, "periods": 3}


@pytest.fixture
def stored_point(make_record, stored_run, fig7_table7_var):
    """``stored_point(client)``: a fig7 run (corner tt, 27 degC) with one evaluated point, index 0,
    the Table 7 OTA; returns the point's URL."""

    def store(client: TestClient) -> str:
        point = make_record(0)
        point.var = fig7_table7_var
        run = stored_run(client, [point], fronts={0: [0]}, hypervolumes={0: 0.5})
        return f"/runs/{run.run_id}/points/0"

    return store


def assert_same(got: dict, expected: dict, skip: tuple[str, ...] = ("sim_time_s",)) -> None:
    """Every field equal; floats (also inside lists and dicts) to REL."""
    assert set(got) == set(expected)
    for name, value in expected.items():
        if name in skip:
            continue
        if isinstance(value, float) and math.isfinite(value):
            assert got[name] == pytest.approx(value, rel=REL), name
        elif isinstance(value, list) and value and isinstance(value[0], float):
            assert got[name] == pytest.approx(value, rel=REL, abs=1e-18), name
        elif isinstance(value, dict):
            assert_same(got[name], value, skip=())
        else:
            assert got[name] == value, name


def test_emulator_and_neuron_match_direct_runs_and_are_stored(client: TestClient, stored_point, fig7_table7_var) -> None:
    url = stored_point(client)
    emulated = client.post(f"{url}/emulator", json=EMULATOR)
    assert emulated.status_code == 201, emulated.text
    direct = run_emulator("fig7", fig7_table7_var, "generic180", "tt", 27.0, options=EmulatorOptions(**EMULATOR)).to_dict()
    assert emulated.json()["kind"] == "emulator" and emulated.json()["point_index"] == 0
    assert_same(emulated.json()["data"], direct)
    assert len(emulated.json()["data"]["loop_v"]) == 2001

    # corner and temperature override the run's (tt, 27 degC); the x100 inverter of Section 5
    fired = client.post(f"{url}/neuron", json={**NEURON, "corner": "ff", "temp_c": 50.0, "inverter_scale": 100})
    assert fired.status_code == 201, fired.text
    direct = run_neuron("fig7", fig7_table7_var, "generic180", "ff", 50.0, options=NeuronOptions(**NEURON), inverter_scale=100).to_dict()
    assert direct["spike_count"] > 0
    assert_same(fired.json()["data"], direct)
    assert fired.json()["data"]["setup"]["corner"] == "ff" and fired.json()["data"]["setup"]["inverter_scale"] == 100

    listed = client.get(f"{url}/results").json()
    assert listed["count"] == 2 and listed["data"] == [emulated.json(), fired.json()]


@pytest.mark.parametrize(("kind", "body", "fix"), [
    ("emulator", {"amplitude_v": 5}, "amplitude_v: Input should be less than or equal to 2"),
    ("emulator", {"periods": 500}, "periods: Input should be less than or equal to 50"),
    ("neuron", {"period_s": 1e-3, "periods": 10}, "exceeds this service's limit of 0.005 s of simulated time"),
    ("neuron", {"duty": 30}, "duty: Input should be less than 1"),
    ("neuron", {"period_s": 1e-6, "duty": 0.005}, "pulse edge 1e-08 s does not fit in the pulse"),
    ("neuron", {"netlist": "V1 1 0 1"}, "netlist: Extra inputs are not permitted"),
    ("emulator", {"corner": "xx", "periods": 2}, "has no corner 'xx'; valid corners: tt, ff, ss, fs, sf"),
])
def test_bad_options_get_422_saying_what_to_fix(client: TestClient, stored_point, kind: str, body: dict, fix: str) -> None:
    url = stored_point(client)
    answer = client.post(f"{url}/{kind}", json=body)
    assert answer.status_code == 422
    assert fix in (answer.json().get("message") or answer.json()["detail"])
    assert client.get(f"{url}/results").json()["count"] == 0


def test_unknown_run_or_point_is_404(client: TestClient, stored_point) -> None:
    url = stored_point(client)
    run_id = url.split("/")[2]
    missing_point = client.post(f"/runs/{run_id}/points/7/neuron", json=NEURON)
    assert missing_point.status_code == 404
    assert missing_point.json()["detail"] == f"run {run_id} has no evaluated point 7; GET /runs/{run_id}/evaluations lists them"
    assert client.get(f"/runs/{run_id}/points/7/results").status_code == 404
    missing_run = client.post("/runs/424242/points/0/emulator", json=EMULATOR)
    assert missing_run.status_code == 404 and missing_run.json()["detail"] == "no run 424242; GET /runs lists the runs"


def test_point_simulations_need_the_token_and_time_out(client_with, stored_point) -> None:
    with client_with(evaluate_timeout_s=0.05) as client:
        url = stored_point(client)
        late = client.post(f"{url}/neuron", json=NEURON)
        assert late.status_code == 504 and "longer than 0.05 s" in late.json()["detail"]
        client.app.state.settings = client.app.state.settings.model_copy(update={"api_token": "s3cret"})
        assert client.post(f"{url}/emulator", json=EMULATOR).status_code == 401
        assert client.post(f"{url}/emulator", json=EMULATOR, headers={"Authorization": "Bearer wrong"}).status_code == 403
        assert client.get(f"{url}/results").json() == {"data": [], "count": 0}  # reads stay open; nothing stored


def test_memristor_iv_and_programming_match_the_library(client: TestClient) -> None:
    body = {"model": "a14mod", "amplitude_v": 1.1, "freq_hz": 1e6}
    answer = client.post("/memristor/iv", json=body)
    assert answer.status_code == 200, answer.text
    direct = summary(sine_loop(get_model("a14mod"), 1e6, 1.1, paper.IV_INITIAL_MEMRISTANCE_OHM), 1e6)
    assert_same(answer.json(), {**direct, "model": "a14mod", "amplitude_v": 1.1, "initial_ohm": paper.IV_INITIAL_MEMRISTANCE_OHM})

    case = {"from_ohm": 10e3, "to_ohm": 9e3, "amplitude_v": 1.1}  # Figure 4
    answer = client.post("/memristor/program", json=case)
    assert answer.status_code == 200, answer.text
    direct = program(get_model("a14mod"), **case).to_json()
    got = answer.json()
    assert got.pop("paper")["effective_time_s"] == pytest.approx(14e-9, rel=0.05)
    assert_same(got, direct, skip=())

    unknown = client.post("/memristor/iv", json={"model": "hp"})
    assert unknown.status_code == 422 and "'joglekar', 'biolek', 'lehtonen_laiho' or 'a14mod'" in unknown.json()["message"]
    overlap = client.post("/memristor/program", json={**case, "width_s": 2e-9, "period_s": 1e-9})
    assert overlap.status_code == 422 and "period_s = 1e-09 s must exceed width_s = 2e-09 s" in overlap.json()["message"]
    idle = client.post("/memristor/program", json={**case, "period_s": 1e-3})
    assert idle.status_code == 422 and "be at most 10 times it" in idle.json()["message"]
    wrong_way = client.post("/memristor/program", json={**case, "amplitude_v": -1.1})
    assert wrong_way.status_code == 422 and "flip the amplitude's sign" in wrong_way.json()["detail"]
    too_many = client.post("/memristor/program", json={**case, "width_s": 1e-12, "period_s": 2e-12})  # ~14,000 pulses
    assert too_many.status_code == 422 and "this service simulates at most 1000" in too_many.json()["detail"]


def test_network_matches_the_library(client: TestClient) -> None:
    spec = NetworkSpec()
    given = client.get("/network", params={"k": 5.0})
    assert given.status_code == 200, given.text
    assert_same(given.json(), {"k": 5.0, "spice": spice_network(spec, 5.0).to_json(),
                               "numpy": numpy_network(spec, 5.0).to_json()})
    fitted = client.get("/network").json()
    assert fitted["k"] == pytest.approx(fit_activation().k, rel=REL)
    assert_same(fitted["numpy"], numpy_network(spec, fitted["k"]).to_json())
    assert client.get("/network", params={"k": -1}).status_code == 422
    steep = client.get("/network", params={"k": 90})  # the adders' chains are sized for logsig(90 S): no convergence
    assert steep.status_code == 422 and steep.json()["detail"].startswith("ngspice could not simulate this case")


def test_openapi_documents_the_new_endpoints(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for path in ("/runs/{run_id}/points/{index}/emulator", "/runs/{run_id}/points/{index}/neuron",
                 "/runs/{run_id}/points/{index}/results", "/memristor/iv", "/memristor/program", "/network"):
        assert path in document["paths"], path
    schemas = document["components"]["schemas"]
    assert schemas["MemristorIvRequest"]["properties"]["model"]["enum"] == ["joglekar", "biolek", "lehtonen_laiho", "a14mod"]
    assert {"pinch_ratio", "lobe_area_pos", "loop_i_a"} <= set(schemas["EmulatorResultPublic"]["properties"])
    assert "waveforms" not in schemas["NeuronResultPublic"]["properties"]
