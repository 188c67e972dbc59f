"""One encoding of non-finite numbers: an unmeasured figure is NaN in Python, ``"nan"`` in JSON and CSV,
whatever the number of corners it was taken over, through every path (file store, SQL store, API, CSV)."""

from __future__ import annotations

import csv
import io
import math

import pytest

from gmopt.floats import decode_floats, encode_floats
from optimizer.problem import candidate_metrics
from optimizer.store import EvaluationRecord, RunStore
from ota.testbench import OtaResult


def measured(corner: str) -> dict:
    """One condition's result, as a worker ships it: a converged OTA whose phase margin was not found
    (its gain never crossed 0 dB in the ac sweep)."""
    result = OtaResult(
        converged=True, error=None, var=[839, 441, 121, 1963, 5906], widths_um=[75.51, 39.69, 10.89, 176.67, 531.54],
        gain_db=41.0 if corner == "tt" else 39.5, bandwidth_hz=2.0e6, ugf_hz=math.nan, phase_margin_deg=math.nan,
        gm_s=3.1e-3, rmse_a=2e-5, offset_v=0.02, power_w=1.5e-3, saturation_margin_v=0.05, all_saturated=True,
        margins_v={"M1": 0.05}, corner=corner, temp_c=27.0,
    )
    return result.to_dict(curves=("vin_v", "iout_a"))


CONDITIONS = {"one-corner": (("tt",), 41.0), "two-corners": (("tt", "ff"), 39.5)}  # worst gain: min(41, 39.5) dB


@pytest.fixture(params=sorted(CONDITIONS))
def merged(request: pytest.FixtureRequest) -> tuple[EvaluationRecord, float]:
    """A record whose phase margin is unmeasured, merged over one or over two corners, and its worst gain."""
    corners, worst_gain_db = CONDITIONS[request.param]
    metrics = candidate_metrics([measured(corner) for corner in corners])
    record = EvaluationRecord(
        index=0, generation=0, var=[839, 441, 121, 1963, 5906], widths_um=[75.51, 39.69, 10.89, 176.67, 531.54],
        metrics=metrics, objectives=[2e-5, -39.5, 1.5e-3], constraints=[-0.1, -0.2], feasible=True, converged=True,
    )
    return record, worst_gain_db


@pytest.fixture
def unmeasured(merged: tuple[EvaluationRecord, float]) -> EvaluationRecord:
    return merged[0]


def test_the_python_value_is_nan_at_any_number_of_corners(merged: tuple[EvaluationRecord, float]) -> None:
    record, worst_gain_db = merged
    value = record.metrics["phase_margin_deg"]
    assert isinstance(value, float) and math.isnan(value)
    assert record.to_json()["metrics"]["phase_margin_deg"] == "nan"
    assert record.metrics["gain_db"] == worst_gain_db


def test_the_codec_inverts_itself() -> None:
    data = {"a": [1.5, math.inf, -math.inf], "b": {"c": math.nan}, "d": "text", "e": None, "f": True}
    encoded = encode_floats(data)
    assert encoded == {"a": [1.5, "inf", "-inf"], "b": {"c": "nan"}, "d": "text", "e": None, "f": True}
    decoded = decode_floats(encoded)
    assert decoded["a"] == [1.5, math.inf, -math.inf] and math.isnan(decoded["b"]["c"])
    assert {key: decoded[key] for key in "def"} == {"d": "text", "e": None, "f": True}


def test_every_store_gives_back_nan(run_store: RunStore, unmeasured: EvaluationRecord) -> None:
    run_store.add_evaluations([unmeasured])
    run_store.complete_generation(0, b"state", 0.5, [0])
    (back,) = run_store.front()
    assert isinstance(back.metrics["phase_margin_deg"], float) and math.isnan(back.metrics["phase_margin_deg"])
    assert back.to_json() == unmeasured.to_json()


def test_the_api_answers_the_string_nan(client, stored_run, unmeasured: EvaluationRecord) -> None:
    store = stored_run(client, [unmeasured], fronts={0: [0]}, hypervolumes={0: 0.5})
    evaluation = client.get(f"/runs/{store.run_id}/evaluations/0").json()
    front = client.get(f"/runs/{store.run_id}/front").json()
    assert evaluation["metrics"]["phase_margin_deg"] == "nan" == front["data"][0]["metrics"]["phase_margin_deg"]
    assert evaluation["metrics"]["margin_v.M1"] == 0.05


def test_the_csv_cell_reads_back_as_nan(client, stored_run, unmeasured: EvaluationRecord) -> None:
    store = stored_run(client, [unmeasured], fronts={0: [0]}, hypervolumes={0: 0.5})
    (row,) = csv.DictReader(io.StringIO(client.get(f"/runs/{store.run_id}/front", params={"format": "csv"}).text))
    assert row["phase_margin_deg"] == "nan" and math.isnan(float(row["phase_margin_deg"]))


def test_an_emulator_follow_up_that_did_not_converge_is_nan_not_none() -> None:
    """A failed loop at one frequency: its pinch ratio and the worst over frequencies are NaN (floats),
    and the constraint is the not-computed violation, as for any unmeasured nominal metric."""
    from optimizer.followup import NOT_COMPUTED_VIOLATION, FollowUps, constraints
    from optimizer.spec import RunSpec

    spec = RunSpec.parse({"topology": "fig7", "emulator": {"frequencies_hz": [1e5, 1e6], "max_pinch_ratio": 0.05}})
    answers = [{"converged": False, "freq_hz": 1e5}, {"converged": True, "freq_hz": 1e6, "pinch_ratio": 0.01, "loop_asymmetry": 0.2}]
    follow_ups = FollowUps(spec, space=None, parallel=lambda job, work: answers)  # type: ignore[arg-type]
    (metrics,) = follow_ups.evaluate([([839, 441, 121, 1963, 5906], {}, True)])
    assert math.isnan(metrics["pinch_ratio_100khz"]) and math.isnan(metrics["pinch_ratio_max"])
    assert metrics["pinch_ratio_1mhz"] == 0.01 and metrics["loop_asymmetry_1mhz"] == 0.2
    assert constraints(metrics, spec) == {"pinch_100khz": NOT_COMPUTED_VIOLATION, "pinch_1mhz": pytest.approx(-0.8)}  # 1 % of 5 %
    record = EvaluationRecord(index=0, generation=0, var=[1], widths_um=[0.09], metrics=metrics)
    assert record.to_json()["metrics"]["pinch_ratio_max"] == "nan"
