"""Injection attempts shared by the parser's, the CLI's and the API's tests: every construct the
circuit parser must refuse, in the netlist, in names, in expressions and in pin names, each aimed
at a marker file whose absence shows that none of them ran (one list, used by tests/test_circuits.py
and tests/test_app_circuits.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

from circuits import EXAMPLES_DIR

BASELINE = EXAMPLES_DIR / "baseline.yaml"
BASE_DATA = yaml.safe_load(BASELINE.read_text())
BASE_LINES = BASE_DATA["netlist"].splitlines()


def package(netlist: str | None = None, **fields: object) -> tuple[str, int]:
    """The baseline example as YAML text with its netlist and top-level fields replaced, and the
    file line that the netlist's line 0 sits on (the netlist is the last key, a block scalar)."""
    data = {k: v for k, v in BASE_DATA.items() if k != "netlist"} | fields
    head = yaml.safe_dump(data, sort_keys=False)
    body = "".join(f"  {line}\n" for line in (netlist if netlist is not None else BASE_DATA["netlist"]).splitlines())
    return f"{head}netlist: |\n{body}", head.count("\n") + 1


def inject(line: int, text: str) -> str:
    """The baseline netlist with ``text`` inserted so that it starts at netlist line ``line``."""
    lines = list(BASE_LINES)
    lines[line - 1:line - 1] = text.splitlines()
    return "\n".join(lines)


def replace(line: int, text: str) -> str:
    lines = list(BASE_LINES)
    lines[line - 1] = text
    return "\n".join(lines)


def netlist_attempts(marker: Path) -> list[tuple[str, str, int, str]]:
    """(id, netlist, line, reason): every construct the parser refuses, each with the marker's path."""
    m = str(marker)
    return [
        ("include", inject(3, f".include {m}"), 3, ".include loads a file"),
        ("inc", inject(3, f".inc {m}"), 3, ".inc loads a file"),
        ("lib", inject(3, f".lib {m} tt"), 3, ".lib loads a file"),
        ("control", inject(3, f".control\nshell touch {m}\n.endc"), 3, "control blocks"),
        ("endc", inject(5, ".endc"), 5, "control blocks"),
        ("option", inject(3, ".options noinit"), 3, "dot-command .options"),
        ("model", inject(3, ".model nch nmos level=1"), 3, "dot-command .model"),
        ("end", inject(8, ".end"), 8, "dot-command .end"),
        ("star-hash", inject(3, f"*#shell touch {m}"), 3, "*# line"),
        ("ng-script", "*ng_script\n" + BASE_DATA["netlist"], 1, "*ng_script"),
        ("backtick-value", replace(4, f"MN2 d inp tail vss nch w=`touch {m}` l=1u"), 4, "backticks"),
        ("backtick-comment", inject(3, f"* `touch {m}`"), 3, "backticks"),
        ("backtick-expression", replace(4, f"MN2 d inp tail vss nch w={{w1+`touch {m}`}} l=1u"), 4, "backticks"),
        ("shell", inject(3, f"shell touch {m}"), 3, "shell runs a command"),
        ("source", inject(3, f"source {m}"), 3, "source runs a command"),
        ("exec", inject(3, f"exec touch {m}"), 3, "exec runs a command"),
        ("pre-osdi", inject(3, f"pre_osdi {m}"), 3, "pre_osdi runs a command"),
        ("pre-codemodel", inject(3, f"pre_codemodel {m}"), 3, "pre_codemodel runs"),
        ("xspice", inject(3, "A1 %v(in) %v(out) filesrc"), 3, "XSPICE A devices"),
        ("path-value", inject(3, f"R1 d out {m}"), 3, "looks like a file path"),
        ("quoted-value", inject(3, f'R1 d out "{m}"'), 3, "double-quoted string"),
        ("quoted-path-expression", inject(3, f"R1 d out '{m}'"), 3, "expression"),
        ("path-model", replace(4, f"MN2 d inp tail vss {m} w={{w1}} l=1u"), 4, "model name"),
        ("path-node", replace(4, f"MN2 {m} inp tail vss nch w={{w1}} l=1u"), 4, "node"),
        ("path-instance", inject(3, f"R{m} d out 1k"), 3, "instance name"),
        ("path-subckt-name", replace(1, f".subckt {m} inp inn out vdd vss vb"), 1, "subcircuit name"),
        ("python-call", replace(4, f"MN2 d inp tail vss nch w={{__import__('os').system('touch {m}')}} l=1u"), 4, "not allowed in an expression"),
        ("attribute", replace(4, "MN2 d inp tail vss nch w={w1.real} l=1u"), 4, "Attribute is not allowed"),
        ("unknown-name", replace(4, "MN2 d inp tail vss nch w={open} l=1u"), 4, "reads open"),
        ("unknown-function", replace(4, "MN2 d inp tail vss nch w={exp(w1)} l=1u"), 4, "function exp is not allowed"),
        ("param-path", inject(3, f".param p={m}"), 3, "looks like a file path"),
        ("param-name", inject(3, ".param p={shell}"), 3, "reads shell"),
        ("x-subcircuit", inject(3, "X1 d out mysub"), 3, "one of the technology's MOS devices"),
        ("b-source", inject(3, "B1 d out v={w1}"), 3, "not an element this parser knows"),
        ("poly", inject(3, "E1 d out poly(1) inp 0 0 1"), 3, "poly, table and value= forms"),
        ("pwl-file", inject(3, f"V1 d 0 pwl file={m}"), 3, "looks like a file path"),
        ("pwl", inject(3, "V1 d 0 dc 0 pwl 0 0 1n 1"), 3, "transient functions and files"),
        ("second-subckt", inject(3, ".subckt evil a b"), 3, "a second .subckt"),
        ("after-ends", BASE_DATA["netlist"] + f"shell touch {m}\n", 9, "nothing may follow .ends"),
        ("control-character", inject(3, "R1 d out 1k\x07"), 3, "U+0007"),
        ("continued-include", replace(4, f"MN2 d inp tail vss nch w={{w1}}\n+ l=1u .include {m}"), 4, "after name=value"),
    ]


def field_attempts(marker: Path) -> list[tuple[str, dict, str, str]]:
    """(id, fields, field named in the refusal, reason): the same constructs in pins, names, variables and settings."""
    m = str(marker)
    pins = BASE_DATA["pins"]
    variable = dict(BASE_DATA["variables"][0])
    return [
        ("pin-shell", {"pins": pins | {"inp": f"inp; shell touch {m}"}}, "pins.inp", "not a plain identifier"),
        ("pin-path", {"pins": pins | {"out": m}}, "pins.out", "not a plain identifier"),
        ("bias-pin-backtick", {"pins": pins | {"bias": {f"`touch {m}`": {"voltage": 0.5}}}}, "pins.bias", "not a plain identifier"),
        ("bias-expression", {"pins": pins | {"bias": {"vb": {"voltage": f"{{__import__('os').system('touch {m}')}}"}}}}, "pins.bias.vb.voltage", "not allowed in an expression"),
        ("bias-path", {"pins": pins | {"bias": {"vb": {"voltage": m}}}}, "pins.bias.vb.voltage", "file path"),
        ("variable-backtick", {"variables": [variable | {"name": f"w1`touch {m}`"}, BASE_DATA["variables"][1]]}, "variables.0.name", "not a plain identifier"),
        ("variable-include", {"variables": [variable | {"name": ".include"}, BASE_DATA["variables"][1]]}, "variables.0.name", "not a plain identifier"),
        ("variable-path-bound", {"variables": [variable | {"max": m}, BASE_DATA["variables"][1]]}, "variables.0.max", "is not a number"),
        ("device-path", {"devices": BASE_DATA["devices"] | {m: "nmos"}}, "devices", "not a plain identifier"),
        ("model-path", {"models": {"nmos": "../models/evil.lib", "pmos": "pch"}}, "models.nmos", "not a plain identifier"),
        ("testbench-shell", {"testbench": {"name": f"ota_open_loop; shell touch {m}"}}, "testbench.name", "ota_open_loop"),
        ("measure-backtick", {"constraints": [{"measure": f"gain_db`touch {m}`", "op": ">=", "value": 40}]}, "constraints.0.measure", "is not a measure"),
        ("unknown-key", {"control": f"shell touch {m}"}, "control", "Extra inputs are not permitted"),
    ]


NETLIST_IDS = [attempt[0] for attempt in netlist_attempts(Path("m"))]
FIELD_IDS = [attempt[0] for attempt in field_attempts(Path("m"))]
