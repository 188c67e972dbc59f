"""The commands' JSON shapes and error handling."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from gmopt.cli import app

runner = CliRunner()


def test_network_json_has_both_sides() -> None:
    result = runner.invoke(app, ["network", "--k", "5", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    for side in ("spice", "numpy"):
        assert len(data[side]["S_mv"]) == 4 and len(data[side]["tf_mv"]) == 4 and len(data[side]["Y_mv"]) == 2
    assert abs(data["numpy"]["S_mv"][0] - 293.0) < 1e-9 and abs(data["spice"]["S_mv"][0] - 293.0) < 0.1


def test_program_and_iv_json(tmp_path: Path) -> None:
    result = runner.invoke(app, ["memristor", "program", "--model", "a14mod", "--from", "10000", "--to", "9000",
                                 "--amplitude", "1.1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["pulses"] == 15 and abs(data["effective_time_s"] / data["analytic_time_s"] - 1) < 0.005
    png = tmp_path / "loop.png"
    result = runner.invoke(app, ["memristor", "iv", "--model", "a14mod", "--freq", "1e6", "--plot", str(png), "--json"])
    assert result.exit_code == 0, result.output
    loop = json.loads(result.output)["loops"][0]
    assert loop["frequency_hz"] == 1e6 and png.stat().st_size > 1000
    assert loop["memristance_max_ohm"] > 4999


def test_bad_input_gives_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("t,v\n0,0\n")
    result = runner.invoke(app, ["memristor", "fit", "--data", str(bad), "--model", "biolek"])
    assert result.exit_code == 2 and "missing i" in result.output
    result = runner.invoke(app, ["memristor", "program", "--model", "nope", "--from", "1", "--to", "2", "--amplitude", "1"])
    assert result.exit_code == 2 and "choose one of" in result.output
