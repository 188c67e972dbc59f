"""Circuit packages (circuits/): values and expressions against hand-computed numbers, the
allowlist parser, rendering on three technologies, the built-in baseline OTA written as a user
file against the built-in one in real ngspice, and injection attempts that must be refused,
by the parser and by ``gmopt circuit check``, and never run (a marker file stays absent)."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from gmopt import paper
from circuits import EXAMPLES_DIR, CircuitError, circuit_from_text, load_circuit, render_subckt
from circuits.benches import open_bench
from circuits.model import TESTBENCH_MEASURES
from circuits.render import device_vector
from circuits.parse import NetlistError, parse_netlist, parse_number, parse_value
from engine import open_engine
from engine.batch import ngspice_binary
from gmopt.cli import app
from lut.pdk import PDKS
from lut.technology import GENERIC180
from ota.testbench import OtaTestbench
from tests.injection import BASE_DATA, BASELINE, FIELD_IDS, NETLIST_IDS, field_attempts, inject, netlist_attempts, package, replace

MILLER = EXAMPLES_DIR / "miller.yaml"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.yaml"))  # the built-in OTAs and the Miller op-amp as packages
TECHNOLOGIES = [GENERIC180, PDKS["sky130"].technology, PDKS["gf180mcu"].technology]  # rendering needs only the devices


def check_cli(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["circuit", "check", str(path)])
    return result.exit_code, result.output


# --- numbers and expressions -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [("5p", 5e-12), ("60u", 60e-6), ("300m", 0.3), ("1meg", 1e6), ("1MEG", 1e6), ("2.5K", 2500.0), ("10uA", 10e-6),
     ("5pF", 5e-12), ("1e-3", 1e-3), ("-4.7n", -4.7e-9), (".5u", 0.5e-6), ("3mil", 76.2e-6), ("1F", 1e-15), ("2G", 2e9), ("1T", 1e12)],
)
def test_engineering_suffixes(text: str, expected: float) -> None:
    assert parse_number(text) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("{2*w1 + 5u}", 7e-6), ("'max(w1, 3u)/2'", 1.5e-6), ("{-w1**2}", -1e-12), ("{2^3}", 8.0), ("{sqrt(4meg)}", 2000.0),
     ("{int(7.9)}", 7.0), ("{(1+2)*3 - 1/4}", 8.75), ("{min(w1, 2u, 0.5u)}", 0.5e-6), ("{abs(-3)*W1}", 3e-6), ("{1K/W1}", 1e9)],
)
def test_expressions_evaluate_to_the_analytic_number(text: str, expected: float) -> None:
    value = parse_value(text, {"w1"})
    assert value.evaluate({"w1": 1e-6}) == pytest.approx(expected, rel=1e-12)
    assert parse_value(value.spice(), {"w1"}).evaluate({"w1": 1e-6}) == pytest.approx(expected, rel=1e-12)  # the rendered form reads back


def test_rendered_expressions_are_the_same_numbers_in_ngspice(tmp_path: Path) -> None:
    """Four resistors from the ports to ground: ngspice's currents at 1 V are 1/R of the hand-computed R."""
    netlist = """.subckt rnet inp inn out vdd vss
.param rp={r0*4}
R1 inp 0 {2*r0 + 1k}
R2 inn 0 'max(r0, 3k)/3'
R3 out 0 {r0^2/250}
R4 vdd 0 {rp + int(2.7)}
R5 vss 0
+ {sqrt(r0*2)*10}
.ends"""
    text = yaml.safe_dump({
        "name": "rnet", "variables": [{"name": "r0", "kind": "r", "min": 100, "max": "10k", "default": 500}], "netlist": netlist,
        "devices": {}, "pins": {"inp": "inp", "inn": "inn", "out": "out", "vdd": "vdd", "vss": "vss"}, "testbench": {"name": "ota_open_loop"},
    })
    subckt = render_subckt(circuit_from_text(text), GENERIC180)
    ports = ("inp", "inn", "out", "vdd", "vss")
    resistances = (2000.0, 1000.0, 1000.0, 2002.0, math.sqrt(1000.0) * 10)
    deck = "\n".join(["* expressions", subckt, *(f"v{p} {p} 0 1" for p in ports), f"x1 {' '.join(ports)} rnet", ".end"])
    engine = open_engine("batch")
    engine.load(deck)
    op = engine.run({"op": "op"})["op"]
    for port, ohms in zip(ports, resistances):
        assert -float(np.real(op[f"v{port}#branch"][0])) == pytest.approx(1 / ohms, rel=1e-9)


def test_continuations_join_and_comments_drop() -> None:
    netlist = parse_netlist(
        ".SUBCKT t a b\n* a comment\nR1 a b\n+ 1K ; trailing\nC1 a\n+ b\n\n+ 5P $ trailing too\n.ends t\n", []
    )
    r1, c1 = netlist.elements
    assert (r1.name, r1.nodes, r1.value.number, r1.line) == ("r1", ("a", "b"), 1000.0, 3)
    assert (c1.nodes, c1.value.number, c1.line) == (("a", "b"), 5e-12, 5)
    with pytest.raises(NetlistError) as refused:
        parse_netlist(".subckt t a b\nR1 a\n+ b 1k\nshell rm x\n.ends", [])
    assert refused.value.line == 4


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_a_circuit_round_trips_through_json_and_pickle(path: Path) -> None:
    """Workers and the service get the circuit object (pickled) or its JSON; both render the same deck."""
    import pickle

    from circuits import Circuit

    circuit = load_circuit(path)
    again = Circuit.model_validate_json(circuit.model_dump_json())
    assert render_subckt(again, GENERIC180) == render_subckt(pickle.loads(pickle.dumps(circuit)), GENERIC180) == render_subckt(circuit, GENERIC180)


def test_names_are_case_insensitive_and_json_works_too(tmp_path: Path) -> None:
    netlist = BASE_DATA["netlist"].replace("MN2 d inp tail vss nch w={w1} l=1u", "mn2 D INP Tail VSS NCH W={W1} L=1U")
    data = BASE_DATA | {"netlist": netlist, "pins": BASE_DATA["pins"] | {"inp": "INP"}}
    path = tmp_path / "baseline.json"
    path.write_text(__import__("json").dumps(data))
    code, output = check_cli(path)
    assert code == 0 and output == render_subckt(load_circuit(BASELINE), GENERIC180)


@pytest.mark.parametrize(
    ("variable", "nominal"),
    [({"min": "1u", "max": "2u", "step": "0.3u"}, 1.6e-6),  # the middle, 1.5u, on the step from min: 1u + 2 x 0.3u
     ({"min": "1u", "max": "2u", "step": "lambda"}, 1.53e-6),  # multiples of generic180's lambda = 0.09 um: 17 x 0.09u nearest 1.5u
     ({"min": "1u", "max": "100u", "scale": "log"}, 10e-6),  # geometric middle
     ({"min": "1u", "max": "9u", "grid": ["1u", "2u", "6u", "9u"]}, 6e-6)],  # the grid value nearest 5u
)
def test_a_variable_without_default_starts_in_the_middle_of_its_range(variable: dict, nominal: float) -> None:
    from circuits.model import Variable

    assert Variable.model_validate({"name": "w", "kind": "w"} | variable).nominal(GENERIC180) == pytest.approx(nominal, rel=1e-12)


# --- examples and rendering --------------------------------------------------------------------
@pytest.mark.parametrize("tech", TECHNOLOGIES, ids=lambda t: t.name)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_render_on_every_technology(path: Path, tech) -> None:
    circuit = load_circuit(path)
    text = render_subckt(circuit, tech)
    assert text.splitlines()[1].startswith(f".subckt {circuit.parsed.name} ")
    body = [line for line in text.splitlines()[2:-1] if not line.startswith(".param")]
    assert len(body) == len(circuit.parsed.elements)
    for element in circuit.parsed.mosfets:
        device = tech.device(circuit.devices[element.name].type)
        assert any(line.startswith(f"{device.prefix}{element.name[1:]} ") and f" {device.model} " in line for line in body)
    if tech.name == "sky130":
        assert "/1e-06}" in text  # sizes written in the PDK's micrometres


def test_an_x_instance_of_a_pdk_device_pastes_in_and_binds_to_each_technology() -> None:
    """xschem's sky130 line, with its geometry expressions; the model name is declared as the circuit's nmos."""
    line = ("XM2 d inp tail vss sky130_fd_pr__nfet_01v8 L=1u W={w1} nf=1 ad='int((nf+1)/2) * W/nf * 0.29' "
            "as='int((nf+2)/2) * W/nf * 0.29' pd='2*int((nf+1)/2) * (W/nf + 0.29)' ps='2*int((nf+2)/2) * (W/nf + 0.29)' "
            "nrd='0.29 / W' nrs='0.29 / W' sa=0 sb=0 sd=0 mult=1 m=1")
    devices = dict(BASE_DATA["devices"])
    devices["XM2"] = devices.pop("MN2")
    variables = [dict(v) for v in BASE_DATA["variables"]]
    variables[0]["devices"] = ["XM2", "MN3"]
    text, _ = package(replace(4, line), devices=devices, variables=variables, models={"nmos": "sky130_fd_pr__nfet_01v8", "pmos": "pch"})
    circuit = circuit_from_text(text)
    assert "mm2 d inp tail vss nch w={(w1)} l={(1e-06)}" in render_subckt(circuit, GENERIC180)
    with pytest.raises(NetlistError, match="mn1: model nch is neither"):
        render_subckt(circuit, PDKS["sky130"].technology)  # MN1 still says nch, which sky130 does not know


def test_sizes_pasted_in_micrometres_are_refused() -> None:
    text, _ = package(replace(3, "MN1 tail vb vss vss nch w=16.6 l=1"))
    with pytest.raises(NetlistError, match=r"netlist line 3: mn1: W = 16.6 m .* \(sizes are in metres"):
        render_subckt(circuit_from_text(text), GENERIC180)


def test_check_prints_the_subcircuit_and_refuses_an_unknown_technology() -> None:
    code, output = check_cli(MILLER)
    assert code == 0 and ".subckt miller inp inn out vdd vss ib params:" in output and "mn8 out ib vss vss nch" in output
    result = CliRunner().invoke(app, ["circuit", "check", str(MILLER), "--tech", "nosuch"])
    assert result.exit_code == 1 and "unknown technology 'nosuch'" in result.output


@pytest.mark.parametrize("name", ["sky130", "gf180mcu"])
def test_check_renders_for_an_installed_pdk(name: str, installed_pdk) -> None:
    tech = installed_pdk(name)
    result = CliRunner().invoke(app, ["circuit", "check", str(MILLER), "--tech", name])
    assert result.exit_code == 0 and result.output == render_subckt(load_circuit(MILLER), tech)
    assert f"* circuit miller ({name})" in result.output and f" {tech.nmos.model} " in result.output


def _user_deck(circuit, var: list[int]) -> str:
    """The open-loop testbench of ota.netlist (sources, load, hold inductor), written here around the user's subcircuit."""
    lam = GENERIC180.lambda_m
    env = {"w1": var[0] * lam, "w2": var[1] * lam}
    bias = "\n".join(f"v{pin} {pin} 0 {pin_.value.evaluate(env)}" for pin, pin_ in circuit.pins.bias.items())
    saves = " ".join(device_vector(circuit, GENERIC180, e.name, q, within="xota") for e in circuit.parsed.mosfets for q in ("vds", "vdsat"))
    return f"""* the user baseline in the open-loop testbench
{GENERIC180.include("tt")}
.temp 27
{render_subckt(circuit, GENERIC180)}
.param w1={env["w1"]!r} w2={env["w2"]!r}
vdd vdd 0 0.9
vss vss 0 -0.9
{bias}
vid vid 0 dc 0 ac 1
ep inp 0 vid 0 0.5
en inn 0 vid 0 -0.5
xota inp inn out vdd vss vb baseline w1={{w1}} w2={{w2}}
cl out 0 1e-12
lhold out hold 1e12
vhold hold 0 0
.save v(out) i(vhold) i(vdd) i(vss) {saves}
.end
"""


@pytest.mark.parametrize(
    ("topology", "var"),
    [("baseline", [1396, 3633]), ("baseline", [1000, 2000]),
     *[(name, [round(w / (paper.LAMBDA_M * 1e6)) for w in paper.TABLE5_WIDTHS_UM[name]]) for name in ("fig7", "fig8", "fig9")],
     *[(name, [round(w / (paper.LAMBDA_M * 1e6)) for w in paper.TABLE7_WIDTHS_UM[name]]) for name in ("fig7", "fig8", "fig9")]],
)
def test_a_builtin_ota_as_a_user_file_measures_as_the_builtin(topology: str, var: list[int]) -> None:
    """Each built-in OTA written as a package (circuits/examples), through the catalog's ota_open_loop
    bench (circuits.benches): the same devices and the same numbers as the built-in testbench, at the
    paper's Table 5 and Table 7 widths."""
    builtin = OtaTestbench(topology, backend="batch").evaluate(var)
    circuit = load_circuit(EXAMPLES_DIR / f"{topology}.yaml")
    with open_bench(circuit, GENERIC180.at(), backend="batch") as bench:
        user = bench.evaluate({f"w{k + 1}": v * GENERIC180.lambda_m for k, v in enumerate(var)})
    assert builtin.converged and builtin.gain_db > 20 and user.converged
    assert user.margins_v.keys() == {device.lower() for device in builtin.margins_v}  # the same devices
    assert set(user.metrics) == set(TESTBENCH_MEASURES["ota_open_loop"])
    for key in user.metrics:
        assert user.metrics[key] == pytest.approx(getattr(builtin, key), rel=1e-6), key
    for device, margin in builtin.margins_v.items():
        assert user.margins_v[device.lower()] == pytest.approx(margin, rel=1e-6, abs=1e-9), device
    assert user.curves["iout_a"] == pytest.approx(builtin.iout_a, rel=1e-6, abs=1e-12)


# --- injection attempts ------------------------------------------------------------------------
@pytest.mark.parametrize("attempt", NETLIST_IDS)
def test_netlist_injection_is_refused_naming_the_line(attempt: str, marker: Path, tmp_path: Path) -> None:
    _, netlist, line, reason = next(a for a in netlist_attempts(marker) if a[0] == attempt)
    with pytest.raises(NetlistError) as parsed:
        parse_netlist(netlist, ["w1", "w2"])
    assert parsed.value.line == line and reason in parsed.value.reason
    text, offset = package(netlist)
    # a control character in a YAML file is refused by the YAML reader first, at the same line
    where = f"line {offset + line}" + ("" if attempt == "control-character" else f" (netlist line {line})")
    with pytest.raises(CircuitError) as loaded:
        circuit_from_text(text, "attempt.yaml")
    assert where in str(loaded.value) and reason in str(loaded.value)
    path = tmp_path / "attempt.yaml"
    path.write_text(text)
    code, output = check_cli(path)
    assert code == 1 and where in output and reason in output and output.count("\n") == 1


@pytest.mark.parametrize("attempt", FIELD_IDS)
def test_field_injection_is_refused_naming_the_field(attempt: str, marker: Path, tmp_path: Path) -> None:
    _, fields, where, reason = next(a for a in field_attempts(marker) if a[0] == attempt)
    text, _ = package(**fields)
    with pytest.raises(CircuitError) as loaded:
        circuit_from_text(text, "attempt.yaml")
    assert where in str(loaded.value) and reason in str(loaded.value) and "attempt.yaml line " in str(loaded.value)
    path = tmp_path / "attempt.yaml"
    path.write_text(text)
    code, output = check_cli(path)
    assert code == 1 and where in output and reason in output


def _run_raw(deck: str, folder: Path) -> None:
    (folder / "deck.cir").write_text(deck)
    subprocess.run([ngspice_binary(), "-b", "-n", "deck.cir"], cwd=folder, capture_output=True, timeout=60)


def test_the_marker_check_sees_a_command_that_runs(tmp_path: Path) -> None:
    """The control: these lines, given to ngspice as text, do create the marker."""
    for index, lines in enumerate((f"*#shell touch {tmp_path}/m0", f".control\nshell touch {tmp_path}/m1\n.endc")):
        _run_raw(f"* raw\n{lines}\nr1 a 0 1k\nv1 a 0 1\n.end\n", tmp_path)
        assert (tmp_path / f"m{index}").exists()


def test_attempts_hidden_in_comments_are_dropped_and_never_run(marker: Path, tmp_path: Path) -> None:
    """Accepted text (the attempts sit in comments) is rendered, run in ngspice, and the marker stays absent."""
    netlist = inject(3, f"* .include {marker}\n* shell touch {marker}")
    netlist = netlist.replace("l=1u\n", f"l=1u ; shell touch {marker}\n", 1).replace("MP1 d d vdd vdd pch w={w2} l=1u", "MP1 d d vdd vdd pch w={w2} l=1u $ .control")
    text, _ = package(netlist, description=f"free text\n.control\nshell touch {marker}\n.endc")  # never written into a deck
    circuit = circuit_from_text(text)
    deck = _user_deck(circuit, [1396, 3633])
    assert str(marker) not in deck and "shell" not in deck and ".control" not in deck
    engine = open_engine("batch")
    engine.load(deck)
    engine.run({"op": "op"})
    _run_raw(deck.replace(".end\n", ".control\nop\n.endc\n.end\n"), tmp_path)


def test_the_rendered_miller_opamp_is_the_two_stage_amplifier_it_describes() -> None:
    """In unity-gain DC feedback (an inductor out -> inn, open for AC), the rendered op-amp's
    low-frequency gain is the product of its two stages' gm / (gds + gds), computed by hand from
    the same operating point: the devices are connected as the netlist says, m and .param included."""
    circuit = load_circuit(MILLER)
    vec = {d: {q: device_vector(circuit, GENERIC180, d, q, within="x1") for q in ("gm", "gds")} for d in ("mn2", "mp4", "mp7", "mn8")}
    deck = f"""* miller in unity-gain DC feedback
{GENERIC180.include("tt")}
{render_subckt(circuit, GENERIC180)}
vdd vdd 0 0.9
vss vss 0 -0.9
iib vdd ib {circuit.pins.bias["ib"].value.evaluate(circuit.nominal_values(GENERIC180))!r}
vin inp 0 dc 0 ac 1
lfb out inn 1e9
cfb inn 0 1
x1 inp inn out vdd vss ib miller
cl out 0 2p
.save v(out) {" ".join(v for d in vec.values() for v in d.values())}
.end
"""
    engine = open_engine("batch")
    engine.load(deck)
    results = engine.run({"op": "op", "ac": "ac lin 1 1 1"})
    op = {name: float(np.real(values[0])) for name, values in results["op"].items()}
    first = op[vec["mn2"]["gm"]] / (op[vec["mn2"]["gds"]] + op[vec["mp4"]["gds"]])
    second = op[vec["mp7"]["gm"]] / (op[vec["mp7"]["gds"]] + op[vec["mn8"]["gds"]])
    gain = abs(complex(results["ac"]["out"][0]))
    assert 20 * math.log10(gain) > 60  # the nominal sizes are an op-amp, not a broken deck
    assert gain == pytest.approx(first * second, rel=0.01)  # measured: 83.85 dB against 83.87 dB by hand
