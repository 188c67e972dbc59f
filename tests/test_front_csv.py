"""One front format: ``gmopt front --csv``, ``gmopt export-front`` and the API's CSV are the same bytes,
in engineering units named in the columns (checked against hand-converted values)."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from typer.testing import CliRunner

from gmopt.cli import app
from optimizer.file_store import FileRunStore

# (rmse_a, bandwidth_hz, phase_margin_deg) of three front points; the CSV lists the lowest RMSE first.
POINTS = [(3e-5, 2.0e6, 45.0), (1e-5, 1.5e6, math.nan), (2e-5, 0.5e6, 60.0)]


def front_records(make_record) -> list:
    return [
        make_record(i, rmse_a=rmse_a, bandwidth_hz=bandwidth_hz, phase_margin_deg=pm, gm_s=3.2e-3, offset_v=-0.02,
                    power_w=1.25e-3, saturation_margin_v=0.015)
        for i, (rmse_a, bandwidth_hz, pm) in enumerate(POINTS)
    ]


def test_cli_export_and_api_write_the_same_csv(tmp_path: Path, make_record, client, stored_run) -> None:
    records = front_records(make_record)
    folder = tmp_path / "run"
    store = FileRunStore(folder)
    store.write_header({"topology": "fig7"}, {"seed": 1})
    store.add_evaluations(records)
    store.complete_generation(0, b"state", 0.5, [0, 1, 2])

    printed = CliRunner().invoke(app, ["front", str(folder), "--csv"])
    assert printed.exit_code == 0, printed.output
    exported = CliRunner().invoke(app, ["export-front", str(folder), "--out", str(tmp_path / "front.csv")])
    assert exported.exit_code == 0, exported.output
    run = stored_run(client, records, fronts={0: [0, 1, 2]}, hypervolumes={0: 0.5})
    served = client.get(f"/runs/{run.run_id}/front", params={"format": "csv"})
    assert served.status_code == 200 and served.headers["content-type"].startswith("text/csv")

    assert printed.stdout == (tmp_path / "front.csv").read_text() == served.text

    rows = list(csv.DictReader(io.StringIO(served.text)))
    assert [int(row["index"]) for row in rows] == [1, 2, 0]  # best linearity first
    best = rows[0]
    assert float(best["rmse_ua"]) == 10.0 and float(best["bandwidth_mhz"]) == 1.5  # 1e-5 A, 1.5e6 Hz
    assert best["phase_margin_deg"] == "nan"  # unmeasured
    assert float(best["gm_ms"]) == 3.2 and float(best["offset_mv"]) == -20.0 and float(best["power_mw"]) == 1.25
    assert float(best["saturation_margin_mv"]) == 15.0 and float(best["gain_db"]) == 45.5
    assert [int(best[f"var{k}"]) for k in range(1, 6)] == [101, 200, 300, 400, 500]
    assert [float(best[f"w{k}_um"]) for k in range(1, 6)] == [10.0, 18.0, 27.0, 36.0, 45.0]
    assert best["feasible"] == "True" and best["generation"] == "0"
