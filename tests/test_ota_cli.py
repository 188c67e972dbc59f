"""``gmopt evaluate`` and ``gmopt size-ota`` through the real command line app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gmopt.cli import app
from ota.testbench import OtaTestbench

runner = CliRunner()
KEYS = ("gain_db", "bandwidth_hz", "ugf_hz", "phase_margin_deg", "gm_s", "rmse_a", "offset_v", "power_w",
        "saturation_margin_v", "all_saturated", "converged")


def test_evaluate_json_and_plot(tmp_path: Path, fig7_var: list[int]) -> None:
    plot = tmp_path / "fig7.png"
    done = runner.invoke(app, ["evaluate", "--topology", "fig7", "--tech", "generic180", "--widths",
                               ",".join(map(str, fig7_var)), "--json", "--plot", str(plot)])
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert set(KEYS) <= set(data) and data["converged"]
    with OtaTestbench("fig7") as bench:
        direct = bench.evaluate(fig7_var)
    assert data["gain_db"] == pytest.approx(direct.gain_db) and data["gm_s"] == pytest.approx(direct.gm_s)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_widths_in_um_are_the_paper_tables(fig7_var: list[int]) -> None:
    done = runner.invoke(app, ["evaluate", "--topology", "fig7", "--widths-um", "125.64,55.35,58.41,326.97,531.99", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["var"] == fig7_var


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--topology", "fig7", "--widths", "1396,615"], "takes 5 integers (W1, W2, W3, W4, W5) in [40, 8000]; got 2"),
        (["--topology", "fig9", "--widths-um", "1,2,3,4,5,6,7,8"], "W1 = 11 is out of range"),
        (["--topology", "fig8", "--widths", "a,b"], "--widths takes comma-separated numbers"),
        (["--topology", "fig5"], "valid topologies: baseline, fig7, fig8, fig9"),
        (["--topology", "fig7", "--tech", "nosuch"], "unknown technology 'nosuch'"),
        (["--topology", "fig7", "--corner", "xx"], "no corner 'xx'"),
    ],
)
def test_bad_input_gives_a_clear_error(arguments: list[str], message: str) -> None:
    done = runner.invoke(app, ["evaluate", *arguments])
    assert done.exit_code == 2
    assert message in done.output.replace("\n", " ")


@pytest.mark.slow
def test_size_ota_prints_the_first_sizing_and_its_metrics() -> None:
    done = runner.invoke(app, ["size-ota", "--topology", "baseline", "--tech", "generic180", "--json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert data["converged"] and len(data["var"]) == 2 and set(KEYS) <= set(data)
