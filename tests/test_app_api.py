"""The REST API in-process: validation, tokens, limits, and reading stored runs back exactly."""

from __future__ import annotations

import csv
import io
import math

import pytest
from fastapi.testclient import TestClient

from lut.lookup import lookup as direct_lookup
from ota.testbench import OtaTestbench


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/technologies", "/luts", "/luts/{lut_id}/lookup", "/evaluate", "/runs", "/runs/{run_id}",
                 "/runs/{run_id}/cancel", "/runs/{run_id}/front", "/runs/{run_id}/evaluations", "/runs/{run_id}/hypervolume",
                 "/health"):
        assert path in paths, path
    run_create = client.get("/openapi.json").json()["components"]["schemas"]["RunCreate"]
    topology = run_create["properties"]["topology"]["anyOf"]  # a built-in, or null for a circuit run
    assert topology == [{"enum": ["baseline", "fig7", "fig8", "fig9"], "type": "string"}, {"type": "null"}]


@pytest.mark.parametrize(("body", "fix"), [
    ({"topology": "fig7", "pop_size": 2}, "pop_size: Value error, 2 is outside 4 to 1000"),
    ({"topology": "fig7", "temps_c": [27, 200]}, "temps_c.1: Value error, temperature 200.0 degC is outside -55 to 175 degC"),
    ({"topology": "fig10"}, "topology: Input should be 'baseline', 'fig7', 'fig8' or 'fig9'"),
    ({"topology": "fig7", "netlist": "V1 1 0 1"}, "netlist: Extra inputs are not permitted"),
    ({"topology": "fig7", "technology": "sky999"}, "technology: unknown technology 'sky999'; valid technologies: generic180"),
    ({"topology": "fig7", "corners": ["tt", "xx"]}, "corners.1: technology 'generic180' has no corner 'xx'; valid corners: tt, ff, ss, fs, sf"),
    ({"topology": "fig7", "pop_size": 1000, "generations": 1000}, "pop_size: pop_size x generations = 1000000 is outside 1 to 20000"),
])
def test_bad_runs_get_422_saying_what_to_fix(client: TestClient, body: dict, fix: str) -> None:
    response = client.post("/runs", json=body)
    assert response.status_code == 422
    answer = response.json()
    assert fix in (answer.get("message") or answer["detail"])


def _bounded_fields(schemas: dict, name: str, prefix: str = "") -> list[tuple[str, dict]]:
    """Every numeric field of a body schema that has a limit, as (dotted path, its number schema)."""
    found = []
    for field, schema in schemas[name]["properties"].items():
        path = f"{prefix}{field}"
        for option in schema.get("anyOf", [schema]):
            if "$ref" in option:
                found += _bounded_fields(schemas, option["$ref"].rsplit("/", 1)[1], f"{path}.")
            elif option.get("type") == "array" and option.get("items", {}).get("type") in ("number", "integer"):
                found += [(f"{path}.0", option["items"])] if set(option["items"]) & LIMITS else []
            elif option.get("type") in ("number", "integer") and set(option) & LIMITS:
                found.append((path, option))
    return found


LIMITS = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}


def _outside(number: dict) -> tuple[float, float]:
    """A value past one of a number schema's limits, and that limit."""
    for key, step in (("minimum", -1), ("exclusiveMinimum", 0), ("maximum", 1), ("exclusiveMaximum", 0)):
        if key in number:
            return number[key] + step, number[key]
    raise AssertionError(number)


def test_every_out_of_range_run_field_is_a_422_naming_the_field_and_its_limit(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    fields = _bounded_fields(schemas, "RunCreate")
    assert {"pop_size", "generations", "temps_c.0", "seed", "operators.mutation_prob", "constraints.bandwidth_min_hz"} <= {
        path for path, _ in fields}
    for path, number in fields:
        value, limit = _outside(number)
        body: dict = {"topology": "fig7"}
        *parents, leaf = path.split(".")
        target = body
        for part in parents:
            target = target.setdefault(part, {})
        if leaf == "0":  # a list of numbers (temps_c): one bad item
            body[parents[0]] = [value]
        else:
            target[leaf] = value
        answer = client.post("/runs", json=body)
        assert answer.status_code == 422, (path, value, answer.text)
        message = answer.json()["message"]
        assert message.startswith(f"{path}: ") and f"{limit:g}" in message, (path, message)


def test_writes_need_the_token_when_one_is_set(client_with, fig7_var: list[int], small_run) -> None:
    with client_with(api_token="s3cret") as client:
        assert client.post("/runs", json=small_run).status_code == 401
        assert client.post("/runs", json=small_run, headers={"Authorization": "Bearer wrong"}).status_code == 403
        created = client.post("/runs", json=small_run, headers={"Authorization": "Bearer s3cret"})
        assert created.status_code == 201
        assert client.get(f"/runs/{created.json()['id']}").status_code == 200  # reads stay open
        assert client.post(f"/runs/{created.json()['id']}/cancel").status_code == 401
        # Simulating endpoints use the shared pool, so they need the token too.
        assert client.post("/evaluate", json={"topology": "fig7", "var": fig7_var}).status_code == 401
        assert client.post("/memristor/iv", json={"model": "a14mod"}).status_code == 401


def test_body_size_limit_and_queue_limits(client_with, small_run) -> None:
    with client_with(max_body_bytes=2000, max_queued_runs=2) as client:
        padded = {**small_run, "corners": ["tt"] * 1000}
        assert client.post("/runs", json=padded).status_code == 413
        assert client.post("/runs", json=small_run).status_code == 201
        assert client.post("/runs", json=small_run).status_code == 201
        full = client.post("/runs", json=small_run)
        assert full.status_code == 429 and "queue is full" in full.json()["detail"]


def test_runs_list_filters_and_paginates(client: TestClient, small_run) -> None:
    ids = [client.post("/runs", json={**small_run, "topology": topology}).json()["id"] for topology in ("fig7", "fig8", "fig7")]
    client.post(f"/runs/{ids[0]}/cancel")
    page = client.get("/runs", params={"topology": "fig7", "limit": 1}).json()
    assert page["count"] == 2 and [run["id"] for run in page["data"]] == [ids[2]]
    assert [run["id"] for run in client.get("/runs", params={"topology": "fig7", "skip": 1}).json()["data"]] == [ids[0]]
    cancelled = client.get("/runs", params={"status": "cancelled"}).json()
    assert cancelled["count"] == 1 and cancelled["data"][0]["status"] == "cancelled"
    assert client.post(f"/runs/{ids[0]}/cancel").status_code == 409
    assert client.get("/runs", params={"status": "bogus"}).status_code == 422


def test_front_evaluations_and_hypervolume_read_back_what_was_stored(client: TestClient, make_record, stored_run) -> None:
    records = [make_record(i, generation=i // 4) for i in range(8)]
    records[5].objectives = [math.inf, -50.0, math.nan]
    store = stored_run(client, records, fronts={0: [0, 2], 1: [2, 5, 6]}, hypervolumes={0: 0.125, 1: math.nan})
    run = client.get(f"/runs/{store.run_id}").json()
    assert (run["generation"], run["evaluations_done"], run["evaluations_total"], run["progress_pct"]) == (1, 8, 8, 100.0)
    assert run["hypervolume"] == "nan"

    front = client.get(f"/runs/{store.run_id}/front").json()
    assert front["generation"] == 1 and front["objectives"] == ["rmse", "gain", "power"]
    assert [point["index"] for point in front["data"]] == [2, 5, 6]
    assert front["data"][1]["objectives"] == ["inf", -50.0, "nan"]
    assert front["data"][0]["widths_um"] == records[2].widths_um and front["data"][0]["metrics"]["gain_db"] == 45.5

    table = list(csv.DictReader(io.StringIO(client.get(f"/runs/{store.run_id}/front", params={"format": "csv"}).text)))
    assert sorted(int(row["index"]) for row in table) == [2, 5, 6]  # columns: tests/test_front_csv.py

    page = client.get(f"/runs/{store.run_id}/evaluations", params={"skip": 2, "limit": 3}).json()
    assert page["count"] == 8 and [e["index"] for e in page["data"]] == [2, 3, 4] and page["data"][0]["curves"] == {}
    detail = client.get(f"/runs/{store.run_id}/evaluations/5").json()
    assert detail["curves"] == {"vin_v": [-0.2, 0.0, 0.2], "iout_a": [-7e-4, 1e-6, 7e-4]}
    assert client.get(f"/runs/{store.run_id}/evaluations/99").status_code == 404
    assert client.get(f"/runs/{store.run_id}/hypervolume").json()["data"] == [
        {"generation": 0, "hypervolume": 0.125}, {"generation": 1, "hypervolume": "nan"}]
    assert client.get("/runs/424242/front").status_code == 404


def test_evaluate_matches_a_direct_testbench_run(client: TestClient, fig7_table7_var: list[int]) -> None:
    var = fig7_table7_var
    answer = client.post("/evaluate", json={"topology": "fig7", "var": var})
    assert answer.status_code == 200, answer.text
    with OtaTestbench("fig7") as testbench:
        direct = testbench.evaluate(var)
    got = answer.json()
    assert got["converged"] is True and got["var"] == var
    for name in ("gain_db", "bandwidth_hz", "phase_margin_deg", "gm_s", "power_w", "rmse_a"):
        assert got[name] == pytest.approx(getattr(direct, name), rel=1e-9), name
    bad = client.post("/evaluate", json={"topology": "fig7", "var": [100, 200]})
    assert bad.status_code == 422 and "takes 5 integers" in bad.json()["detail"]
    both = client.post("/evaluate", json={"topology": "fig7", "var": var, "widths_um": [1.0] * 5})
    assert both.status_code == 422 and "exactly one of var" in both.json()["message"]


@pytest.mark.slow
def test_lut_build_and_lookup_match_the_library(client: TestClient) -> None:
    built = client.post("/luts", json={"technology": "generic180", "corner": "tt", "temp_c": 27})
    assert built.status_code == 201, built.text
    lut = built.json()
    assert lut["provenance"]["model_hash"] and lut["grid"]["length_m"]
    query = {"device": "nmos", "quantity": "ID_W", "gm_id": 12.0, "L": 1e-6, "VDS": 0.9}
    got = client.get(f"/luts/{lut['id']}/lookup", params=query)
    assert got.status_code == 200, got.text
    expected = direct_lookup("generic180", "nmos", "ID_W", gm_id=12.0, L=1e-6, VDS=0.9, corner="tt", temp_c=27.0)
    assert got.json()["value"] == pytest.approx(float(expected), rel=1e-12)
    both = client.get(f"/luts/{lut['id']}/lookup", params={**query, "vgs": 0.8})
    assert both.status_code == 422 and "exactly one of vgs" in both.json()["message"]
    outside = client.get(f"/luts/{lut['id']}/lookup", params={**query, "L": 5e-5})
    assert outside.status_code == 422 and "outside the table's grid" in outside.json()["detail"]
