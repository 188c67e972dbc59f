"""The ngspice engine on real ngspice: both back-ends, parameter changes, failures and time-outs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import SimulationError, SimulationTimeout, open_engine
from engine.base import check_analysis, check_name
from lut.technology import GENERIC180

DIVIDER = """divider and one MOSFET
.param rtop=1k
{include}
V1 in 0 dc 1.8 ac 1
R1 in out {{rtop}}
R2 out 0 1k
C1 out 0 1n
M1 d out 0 0 nch w=10u l=1u
VD vdd 0 1.8
RD vdd d 10k
.save all @m1[gm] @m1[id]
"""

SOURCE_LOOP = "two sources in parallel cannot converge\nV1 a 0 1\nV2 a 0 2\nR1 a 0 1k\n"


def divider() -> str:
    return DIVIDER.format(include=GENERIC180.include("tt"))


@pytest.fixture(params=["shared", "batch"])
def engine(request: pytest.FixtureRequest):
    with open_engine(request.param) as eng:
        yield eng


def test_divider_matches_ohms_law_and_rc_pole(engine) -> None:
    engine.load(divider())
    engine.set_params({"rtop": 3000.0})
    results = engine.run({"op": "op", "ac": "ac dec 10 1 1e9"})
    assert results["op"]["out"][0] == pytest.approx(1.8 * 1000 / 4000, rel=1e-9)
    # AC: Thevenin 750 ohm with 1 nF gives a pole at 1/(2 pi 750 ohm 1 nF) = 212 kHz.
    freq = np.real(results["ac"]["frequency"])
    gain = np.abs(results["ac"]["out"])
    f3db = np.interp(-gain[0] / np.sqrt(2), -gain, freq)
    assert f3db == pytest.approx(1 / (2 * np.pi * 750 * 1e-9), rel=0.03)


def test_alter_gives_what_a_fresh_netlist_with_the_new_width_gives(engine) -> None:
    engine.load(divider())
    before = engine.run({"op": "op"})["op"]["@m1[id]"][0]
    engine.alter("m1", w=40e-6)
    altered = engine.run({"op": "op"})["op"]["@m1[id]"][0]
    with open_engine("batch") as fresh:
        fresh.load(divider().replace("w=10u", "w=40u"))
        expected = fresh.run({"op": "op"})["op"]["@m1[id]"][0]
    assert altered == pytest.approx(expected, rel=1e-9)
    assert altered != pytest.approx(before, rel=1e-3)


def test_both_backends_give_the_same_numbers() -> None:
    analyses = {"op": "op", "dc": "dc v1 0 1.8 0.1", "ac": "ac dec 5 1 1e8"}
    runs = []
    for backend in ("shared", "batch"):
        with open_engine(backend) as eng:
            eng.load(divider())
            eng.set_params({"rtop": 2200.0})
            runs.append(eng.run(analyses))
    shared, batch = runs
    for analysis in analyses:
        for name in ("out", "d", "@m1[gm]", "@m1[id]"):
            np.testing.assert_allclose(batch[analysis][name], shared[analysis][name], rtol=1e-9, atol=1e-15)


def test_run_reads_only_the_named_vectors_and_the_same_numbers(engine) -> None:
    """``vectors`` limits an analysis's result to the named vectors (the shared session then
    reads no others; the batch back-end may return more), with the bits a full read gives; an
    analysis not named keeps every vector, a name the plot lacks is just absent."""
    engine.load(divider())
    analyses = {"op": "op", "ac": "ac dec 5 1 1e8"}
    full = engine.run(analyses)
    some = engine.run(analyses, vectors={"ac": {"out", "frequency", "no-such-vector"}})
    assert set(some["op"]) == set(full["op"]) and len(full["ac"]) > 3
    if engine.can_inspect:
        assert set(some["ac"]) == {"out", "frequency"}
    for analysis, vectors in some.items():
        for name, values in vectors.items():
            assert values.tobytes() == full[analysis][name].tobytes(), name


def test_failure_then_good_circuit_in_the_same_session(engine) -> None:
    engine.load(SOURCE_LOOP)
    with pytest.raises(SimulationError) as failure:
        engine.run({"op": "op"})
    assert "timestep too small" in str(failure.value).lower()
    engine.load(divider())
    assert engine.run({"op": "op"})["op"]["out"][0] == pytest.approx(0.9, rel=1e-9)


def test_missing_model_is_a_clear_error(engine) -> None:
    netlist = "missing model\nV1 a 0 1\nM1 a a 0 0 nosuchmodel w=1u l=1u\n"
    with pytest.raises(SimulationError, match="(?i)model"):
        engine.load(netlist)
        engine.run({"op": "op"})


def test_timeout_halts_and_the_session_stays_usable(engine) -> None:
    engine.load("slow transient\nV1 in 0 sin(0 1 1e6)\nR1 in out 1k\nC1 out 0 1n\n")
    with pytest.raises(SimulationTimeout):
        engine.run({"tran": "tran 1n 50m"}, timeout_s=0.3)
    out = engine.run({"tran": "tran 1n 1u"})["tran"]["out"]
    assert out.size > 10


def test_every_alter_of_a_long_resize_reaches_ngspice() -> None:
    """``resize`` sends its alters ";"-joined in lines of at most 500 characters: ngspice 39 dropped
    the last commands of a longer line (37 of 40 applied at about 1,000 characters)."""
    resistors = "\n".join(f"R{i} in out{i} 1k\nRb{i} out{i} 0 1k" for i in range(60))
    with open_engine("shared") as engine:
        engine.load(f"many resistors\nV1 in 0 1.8\n{resistors}\n")
        sent: list[str] = []
        send = engine._command
        engine._command = lambda command: (sent.append(command), send(command))[1]
        engine.resize({}, {f"r{i}": {"resistance": 1000.0 + 7 * i} for i in range(60)})
        assert len(sent) > 1 and max(map(len, sent)) <= 500
        assert [engine.instance_value(f"r{i}", "resistance") for i in range(60)] == [1000.0 + 7 * i for i in range(60)]
        out = engine.run({"op": "op"})["op"]
    assert out["out59"][0] == pytest.approx(1.8 * 1000 / (1000 + 1000 + 7 * 59), rel=1e-9)


def test_two_shared_sessions_in_one_process_are_independent() -> None:
    with open_engine("shared") as first, open_engine("shared") as second:
        first.load(divider())
        second.load(divider())
        second.set_params({"rtop": 1e6})
        assert first.run({"op": "op"})["op"]["out"][0] == pytest.approx(0.9, rel=1e-9)
        assert second.run({"op": "op"})["op"]["out"][0] == pytest.approx(1.8 * 1e3 / (1e6 + 1e3), rel=1e-9)


@pytest.mark.parametrize("bad", ["r1; shell rm", "x y", "", "1abc"])
def test_names_that_could_smuggle_commands_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        check_name(bad)


@pytest.mark.parametrize("bad", ["shell ls", ".control", "op; quit", "source x.cir"])
def test_only_analysis_lines_run(bad: str) -> None:
    with pytest.raises(ValueError):
        check_analysis(bad)


def test_non_finite_numbers_are_refused() -> None:
    with open_engine("shared") as eng:
        eng.load(divider())
        with pytest.raises(ValueError):
            eng.set_params({"rtop": float("nan")})


@pytest.mark.parametrize("alters", [{"m1; shell ls": {"w": 1e-6}}, {"m1": {"w; quit": 1e-6}}, {"m1": {"model.u0 x": 1.0}}, {"m1": {"w": math.inf}}])
def test_resize_refuses_what_could_smuggle_commands_and_sends_nothing(alters: dict) -> None:
    with open_engine("shared") as eng:
        eng.load(divider())
        eng.resize({}, {"m1": {"w": 20e-6}})
        sent: list[str] = []
        eng._command = sent.append
        with pytest.raises(ValueError):
            eng.resize({}, alters)
        assert sent == []


def test_resize_sends_only_changed_values_and_a_reset_forgets_what_was_sent() -> None:
    """``resize`` sends no ``alterparam`` (the next reset sends every recorded parameter); of a
    device with a new value it skips the values the instance already holds, and a device with
    none gets them all again (see ``resize``); a reset drops every alter, so after one the same
    numbers are sent again, and the circuit is the one a fresh parse with them gives."""
    with open_engine("shared") as engine:
        engine.load(divider())
        sent: list[str] = []
        send = engine._command
        engine._command = lambda command: (sent.extend(command.split(" ; ")), send(command))[1]
        engine.resize({"rtop": 3000.0}, {"m1": {"w": 40e-6, "pd": 81e-6}})
        assert sent == ["alter m1 w=4e-05", "alter m1 pd=8.1e-05"]
        sent.clear()
        engine.resize({"rtop": 3000.0}, {"m1": {"w": 40e-6, "pd": 90e-6}})
        assert sent == ["alter m1 pd=9e-05"]
        sent.clear()
        engine.resize({"rtop": 3000.0}, {"m1": {"w": 40e-6, "pd": 90e-6}})
        assert sent == ["alter m1 w=4e-05", "alter m1 pd=9e-05"]
        assert engine.run({"op": "op"})["op"]["out"][0] == pytest.approx(0.9, rel=1e-9)  # rtop not re-parsed yet

        engine.set_params({})  # a reset: the recorded rtop reaches the re-parse, the alters are gone
        assert engine.instance_value("m1", "w") == pytest.approx(10e-6, rel=1e-12)
        sent.clear()
        engine.resize({"rtop": 3000.0}, {"m1": {"w": 40e-6, "pd": 90e-6}})
        assert sent == ["alter m1 w=4e-05", "alter m1 pd=9e-05"]
        assert (engine.instance_value("m1", "w"), engine.instance_value("m1", "pd")) == (40e-6, 90e-6)
        resized = engine.run({"op": "op"})["op"]
    with open_engine("shared") as fresh:
        fresh.load(divider().replace("w=10u", "w=40u pd=90u").replace("rtop=1k", "rtop=3k"))
        expected = fresh.run({"op": "op"})["op"]
    assert resized["out"][0] == pytest.approx(1.8 * 1000 / 4000, rel=1e-9)
    for name in ("out", "d", "@m1[id]", "@m1[gm]"):
        assert resized[name][0] == pytest.approx(expected[name][0], rel=1e-12), name
