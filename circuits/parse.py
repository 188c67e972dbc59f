"""The netlist and value parser of a circuit package: an allowlist, not a filter of bad words.

ngspice runs more than element lines: ``*#`` lines, a ``*ng_script`` title, ``pre_*`` commands,
``.include``/``.lib`` anywhere, ``shell``, ``source`` and XSPICE models that read files
(shared/FACTS.md). A filter that forbids a list of words misses some of these, so this parser
accepts only what it knows: one ``.subckt ... .ends``, ``.param`` lines over the circuit's
variables, and element lines of the letters in ``ELEMENTS``, whose names are plain identifiers
and whose values are numbers or arithmetic expressions. Everything else is refused with its line
and the reason. It returns a structure; the deck ngspice runs is rendered from that structure
(``circuits.render``), never from the user's text.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from spice_templates import spice_number

ELEMENTS = {
    "m": "MOSFET", "x": "MOS device subcircuit of the technology", "r": "resistor", "c": "capacitor", "l": "inductor",
    "v": "voltage source", "i": "current source", "e": "voltage-controlled voltage source", "g": "voltage-controlled current source",
}
MOS_LETTERS = ("m", "x")
IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*\Z")
NODE = re.compile(r"(?:[a-z_][a-z0-9_]*|[0-9]+)\Z")
# SPICE scale factors (ngspice manual, "Scale factors"); letters after them are units and ignored
# as SPICE does (5pF = 5p, 10uA = 10u; beware 1F = 1 femto).
SCALE = {"t": 1e12, "g": 1e9, "meg": 1e6, "k": 1e3, "mil": 25.4e-6, "m": 1e-3, "u": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15}
_NUMBER = r"((?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)(meg|mil|[tgkmunpf])?([a-z]*)"
NUMBER = re.compile(rf"([+-]?){_NUMBER}\Z")
_NUMBER_IN_EXPRESSION = re.compile(rf"(?<![a-z0-9_.]){_NUMBER}")
FUNCTIONS = {"min": min, "max": max, "sqrt": math.sqrt, "abs": abs, "int": math.trunc}
# Names ngspice's expressions already mean something by: a variable or .param may not take them.
RESERVED = frozenset(FUNCTIONS) | {
    "temper", "hertz", "time", "pi", "e", "exp", "ln", "log", "log10", "pow", "pwr", "sin", "cos", "tan", "atan",
    "sinh", "cosh", "tanh", "asin", "acos", "sgn", "floor", "ceil", "nint", "if", "gauss", "agauss", "unif", "aunif",
    "limit", "ternary_fcn", "and", "or", "not", "div", "mod", "defined", "params",
}
_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.BitXor: "**"}
MOS_PARAMETERS = ("w", "l", "m")
# Geometry a schematic editor writes (xschem's sky130 symbols: ad, as, pd, ps, nrd, nrs, sa, sb,
# sd): read, checked as values, and dropped, because the technology writes each device's geometry
# (lut.technology.Device.instance). nf and mult are accepted only as 1 (one finger, no multiplier
# other than m): the technology splits wide devices into fingers itself.
DROPPED_MOS_PARAMETERS = ("ad", "as", "pd", "ps", "nrd", "nrs", "sa", "sb", "sd")
UNIT_MOS_PARAMETERS = ("nf", "mult")
MAX_LINES = 2000
MAX_EXPRESSION_CHARS = 400
_TOKEN = re.compile(r"\s*(?:(\{[^{}]*\})|('[^']*')|(=)|([^\s={}'\"]+)|(\S))")


class NetlistError(ValueError):
    """A refused netlist: ``line`` is the netlist's own line number (from 1), ``reason`` what to fix."""

    def __init__(self, line: int | None, reason: str) -> None:
        self.line, self.reason = line, reason
        super().__init__(f"netlist line {line}: {reason}" if line else reason)


@dataclass(frozen=True, eq=False)
class Value:
    """A number or an arithmetic expression: ``tree`` holds only allowlisted nodes, ``names`` the
    names it reads; ``spice()`` writes it back from the tree, never from the user's text."""

    tree: ast.expr
    names: frozenset[str]
    text: str

    @property
    def number(self) -> float | None:
        return self.tree.value if isinstance(self.tree, ast.Constant) else None

    def evaluate(self, env: Mapping[str, float]) -> float:
        try:
            result = _evaluate(self.tree, env)
        except (OverflowError, ZeroDivisionError, ValueError) as exc:
            raise ValueError(f"{self.text} cannot be evaluated ({exc})") from exc
        if not math.isfinite(result):
            raise ValueError(f"{self.text} evaluates to {result}")
        return result

    def spice(self) -> str:
        """``1e-06`` for a number, ``{(2*w1)}`` for an expression."""
        number = self.number
        return spice_number(number) if number is not None else "{" + _unparse(self.tree) + "}"


@dataclass(frozen=True)
class Element:
    """One element line: ``name`` as written (lower case), its letter, nodes, the MOS model name,
    the main value (R, C, L, E, G gain, V/I dc) and named values (w, l, m; a source's ac, acphase)."""

    line: int
    name: str
    nodes: tuple[str, ...]
    model: str | None = None
    value: Value | None = None
    params: dict[str, Value] = field(default_factory=dict)

    @property
    def letter(self) -> str:
        return self.name[0]

    @property
    def is_mos(self) -> bool:
        return self.letter in MOS_LETTERS

    def values(self) -> Iterable[Value]:
        return ([self.value] if self.value is not None else []) + list(self.params.values())


@dataclass(frozen=True)
class Netlist:
    """A parsed subcircuit: name, ports, ``.param`` definitions (in order) and elements."""

    name: str
    ports: tuple[str, ...]
    params: tuple[tuple[str, Value, int], ...]
    elements: tuple[Element, ...]

    @property
    def mosfets(self) -> tuple[Element, ...]:
        return tuple(e for e in self.elements if e.is_mos)

    def element(self, name: str) -> Element | None:
        return next((e for e in self.elements if e.name == name), None)


def parse_number(text: str) -> float:
    """``5p`` -> 5e-12, ``1MEG`` -> 1e6, ``300m`` -> 0.3, ``10uA`` -> 1e-5; ValueError otherwise."""
    match = NUMBER.match(str(text).strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not a number (write e.g. 5p, 60u, 300m, 1meg, 1.5e-6)")
    sign, mantissa, scale, _unit = match.groups()
    value = float(mantissa) * SCALE.get(scale or "", 1.0)
    return -value if sign == "-" else value


def parse_value(text: str, names: Iterable[str] | None = None) -> Value:
    """A number, or an expression braced ``{...}`` or single-quoted ``'...'``; ``names``: the
    names an expression may read (None: any identifier; the caller checks them later)."""
    raw = str(text).strip()
    lowered = raw.lower()
    if len(raw) >= 2 and (raw[0], raw[-1]) in (("{", "}"), ("'", "'")):
        return parse_expression(raw[1:-1], names)
    if '"' in raw or "'" in raw:
        raise ValueError(f"{raw!r}: a quoted string is not a value; write a number or an expression {{...}}")
    if "/" in raw or "\\" in raw or lowered.startswith(("~", ".")) and not NUMBER.match(lowered):
        raise ValueError(f"{raw!r} looks like a file path; a value is a number or an expression {{...}}")
    if IDENTIFIER.match(lowered):
        raise ValueError(f"{raw!r} is a bare name; write an expression in braces, e.g. {{{lowered}}}")
    number = parse_number(raw)
    return Value(ast.Constant(number), frozenset(), spice_number(number))


def parse_expression(text: str, names: Iterable[str] | None = None) -> Value:
    """An arithmetic expression: numbers (with scale factors), names, + - * / ** ^, unary minus,
    parentheses and ``FUNCTIONS``; parsed with ``ast`` into allowlisted nodes, never evaluated by Python."""
    source = text.strip().lower()
    if not source:
        raise ValueError("an empty expression")
    if len(source) > MAX_EXPRESSION_CHARS:
        raise ValueError(f"an expression longer than {MAX_EXPRESSION_CHARS} characters")
    bad = sorted(set(source) - set("abcdefghijklmnopqrstuvwxyz0123456789_.+-*/^(), \t"))
    if bad:
        raise ValueError(f"{text!r}: {' '.join(repr(c) for c in bad)} not allowed in an expression (numbers, names, + - * / ** ( ) and {', '.join(FUNCTIONS)})")
    python = _NUMBER_IN_EXPRESSION.sub(lambda m: repr(float(m[1]) * SCALE.get(m[2] or "", 1.0)), source).replace("^", "**")
    try:
        tree = ast.parse(python, mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"{text!r} is not a valid expression") from exc
    used = _check(tree, text)
    if names is not None:
        unknown = sorted(used - set(names))
        if unknown:
            raise ValueError(f"{text!r} reads {', '.join(unknown)}, which is not a declared variable or .param")
    return Value(tree, frozenset(used), "{" + _unparse(tree) + "}")


def _check(node: ast.AST, text: str) -> set[str]:
    """The names an expression reads; ValueError for any node outside the allowlist."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        node.value = float(node.value)
        return set()
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS or node.id in RESERVED:
            raise ValueError(f"{text!r}: {node.id} is a function or reserved name, not a value")
        return {node.id}
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _check(node.left, text) | _check(node.right, text)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _check(node.operand, text)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS and not node.keywords and node.args:
        if node.func.id not in ("min", "max") and len(node.args) != 1:
            raise ValueError(f"{text!r}: {node.func.id}() takes one argument")
        return set().union(*(_check(arg, text) for arg in node.args))
    what = f"function {node.func.id}" if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else type(node).__name__
    raise ValueError(f"{text!r}: {what} is not allowed in an expression (numbers, names, + - * / ** ( ) and {', '.join(FUNCTIONS)})")


def _evaluate(node: ast.expr, env: Mapping[str, float]) -> float:
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id not in env:
            raise ValueError(f"{node.id} has no value")
        return float(env[node.id])
    if isinstance(node, ast.UnaryOp):
        value = _evaluate(node.operand, env)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Call):
        return float(FUNCTIONS[node.func.id](*(_evaluate(arg, env) for arg in node.args)))
    left, right = _evaluate(node.left, env), _evaluate(node.right, env)
    operator = _OPERATORS[type(node.op)]
    if operator == "**":
        result = left ** right
        if isinstance(result, complex):
            raise ValueError("a negative number to a fractional power")
        return float(result)
    return {"+": left + right, "-": left - right, "*": left * right, "/": left / right}[operator]


def _unparse(node: ast.expr) -> str:
    """The canonical SPICE text of a checked tree: every operation parenthesised, numbers by ``spice_number``."""
    if isinstance(node, ast.Constant):
        return spice_number(node.value)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.UnaryOp):
        return f"({'-' if isinstance(node.op, ast.USub) else '+'}{_unparse(node.operand)})"
    if isinstance(node, ast.Call):
        return f"{node.func.id}({', '.join(_unparse(arg) for arg in node.args)})"
    return f"({_unparse(node.left)}{_OPERATORS[type(node.op)]}{_unparse(node.right)})"


def check_identifier(text: str, what: str) -> str:
    """A plain identifier in lower case (SPICE names are case-insensitive); ValueError otherwise."""
    name = str(text).strip().lower()
    if not IDENTIFIER.match(name):
        raise ValueError(f"{what} {text!r} is not a plain identifier (letters, digits, _; starting with a letter or _)")
    return name


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with comments dropped and ``+`` continuations joined, each with the number of its first line."""
    lines: list[tuple[int, str]] = []
    physical = text.splitlines()
    if len(physical) > MAX_LINES:
        raise NetlistError(None, f"a netlist of more than {MAX_LINES} lines")
    for number, raw in enumerate(physical, start=1):
        bad = sorted({c for c in raw if not (" " <= c <= "~" or c == "\t")})
        if bad:
            raise NetlistError(number, f"character {', '.join(f'U+{ord(c):04X}' for c in bad)} is not allowed (plain ASCII only)")
        stripped = raw.strip()
        if "`" in raw:
            raise NetlistError(number, "backticks run shell commands in ngspice and are not allowed")
        if stripped.lower().startswith("*ng_script"):
            raise NetlistError(number, "a *ng_script line makes ngspice run the file as a script and is not allowed")
        if stripped.startswith("*#"):
            raise NetlistError(number, "a *# line is run by ngspice as a command and is not allowed")
        if not stripped or stripped.startswith("*"):
            continue
        content = re.split(r";|(?:^|\s)\$(?:\s|$)", stripped, maxsplit=1)[0].strip()
        if not content:
            continue
        if content.startswith("+"):
            if not lines:
                raise NetlistError(number, "a + continuation line with no line before it")
            lines[-1] = (lines[-1][0], f"{lines[-1][1]} {content[1:]}")
        else:
            lines.append((number, content))
    return lines


def _tokens(number: int, line: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Positional words and ``key=value`` pairs of one logical line (lower case)."""
    words: list[str] = []
    position = 0
    while position < len(line):
        match = _TOKEN.match(line, position)
        if match is None:
            break
        position = match.end()
        brace, quote, equals, word, other = match.groups()
        if other == '"':
            raise NetlistError(number, 'a double-quoted string is not allowed: a value is a number or an expression {...}')
        if other is not None:
            raise NetlistError(number, f"unexpected {other!r} (braces must pair and cannot nest)")
        words.append(brace or quote or equals or word)
    positional: list[str] = []
    pairs: list[tuple[str, str]] = []
    index = 0
    while index < len(words):
        if index + 1 < len(words) and words[index + 1] == "=":
            if index + 2 >= len(words):
                raise NetlistError(number, f"{words[index]}= has no value")
            pairs.append((words[index].lower(), words[index + 2]))
            index += 3
            continue
        if words[index] == "=":
            raise NetlistError(number, "an '=' without a name before it")
        if pairs:
            raise NetlistError(number, f"{words[index]!r} after name=value parameters: positional fields come first")
        positional.append(words[index] if words[index][0] in "{'" else words[index].lower())
        index += 1
    return positional, pairs


def _refuse_command(number: int, first: str) -> None:
    """Lines ngspice would run as a command or that load files or code: refused by name, for a clear reason."""
    if first.startswith("."):
        command = first[1:]
        if command in ("include", "inc", "lib"):
            raise NetlistError(number, f"{first} loads a file and is not allowed: the technology brings the models")
        if command in ("control", "endc"):
            raise NetlistError(number, f"{first}: control blocks run commands and are not allowed")
        raise NetlistError(number, f"dot-command {first} is not allowed: a circuit holds element lines, .param, .subckt and .ends (the testbench adds analyses and options)")
    if first in ("shell", "source", "exec") or first.startswith("pre_"):
        raise NetlistError(number, f"{first} runs a command or loads code and is not allowed")
    if first[0] == "a":
        raise NetlistError(number, "XSPICE A devices are not allowed (their code models can read files)")
    if first[0] not in ELEMENTS:
        raise NetlistError(number, f"{first!r} is not an element this parser knows: element letters are {' '.join(l.upper() for l in ELEMENTS)}")


def _value(number: int, what: str, text: str) -> Value:
    try:
        return parse_value(text)
    except ValueError as exc:
        raise NetlistError(number, f"{what}: {exc}") from exc


def _name(number: int, text: str, what: str, pattern: re.Pattern = IDENTIFIER) -> str:
    if text[0] in "{'" or not pattern.match(text):
        raise NetlistError(number, f"{what} {text!r} is not a plain identifier (letters, digits, _)")
    return text


def _element(number: int, positional: list[str], pairs: list[tuple[str, str]]) -> Element:
    name = _name(number, positional[0], "instance name")
    letter, fields_ = name[0], positional[1:]
    kind = ELEMENTS[letter]
    params = {}
    for key, text in pairs:
        if not IDENTIFIER.match(key):
            raise NetlistError(number, f"parameter name {key!r} is not a plain identifier")
        if key in params:
            raise NetlistError(number, f"{name}: parameter {key} given twice")
        params[key] = _value(number, f"{name} {key}", text)
    if letter in MOS_LETTERS:
        if len(fields_) != 5:
            hint = " (an X instance must be one of the technology's MOS devices)" if letter == "x" else ""
            raise NetlistError(number, f"{name}: a MOS device takes drain gate source bulk model, then w= l= [m=]{hint}")
        nodes = tuple(_name(number, n, f"{name} node", NODE) for n in fields_[:4])
        model = _name(number, fields_[4], f"{name} model name")
        allowed = (*MOS_PARAMETERS, *DROPPED_MOS_PARAMETERS, *UNIT_MOS_PARAMETERS)
        for key, value in params.items():
            if key not in allowed:
                raise NetlistError(number, f"{name}: parameter {key} is not accepted on a MOS device (w, l, m; geometry {', '.join(DROPPED_MOS_PARAMETERS)} is written by the technology)")
            if key in UNIT_MOS_PARAMETERS and value.number != 1:
                raise NetlistError(number, f"{name}: {key} must be 1 (give the total width as w; the technology splits wide devices into fingers)")
        missing = [key for key in ("w", "l") if key not in params]
        if missing:
            raise NetlistError(number, f"{name}: give {' and '.join(missing)} (in metres: w=10u l=1u)")
        kept = {key: params[key] for key in MOS_PARAMETERS if key in params}
        return Element(number, name, nodes, model=model, params=kept)
    if letter in "rcl":
        if len(fields_) != 3 or set(params) - {"m"}:
            raise NetlistError(number, f"{name}: a {kind} takes two nodes and one value (and optionally m=)")
        nodes = tuple(_name(number, n, f"{name} node", NODE) for n in fields_[:2])
        return Element(number, name, nodes, value=_value(number, name, fields_[2]), params=params)
    if letter in "eg":
        if len(fields_) != 5 or params:
            raise NetlistError(number, f"{name}: a linear {kind} takes out+ out- in+ in- gain (poly, table and value= forms are not accepted)")
        nodes = tuple(_name(number, n, f"{name} node", NODE) for n in fields_[:4])
        return Element(number, name, nodes, value=_value(number, name, fields_[4]))
    return _source(number, name, fields_, params)


def _source(number: int, name: str, fields_: list[str], params: dict[str, Value]) -> Element:
    """``V/I name n+ n- [dc] VALUE [ac MAG [PHASE]]``: DC and AC values only (no transient functions, no files)."""
    usage = f"{name}: a source takes n+ n- [dc] VALUE [ac MAG [PHASE]] (transient functions and files are not accepted)"
    if len(fields_) < 2 or params:
        raise NetlistError(number, usage)
    nodes = tuple(_name(number, n, f"{name} node", NODE) for n in fields_[:2])
    rest = fields_[2:]
    if rest[:1] == ["dc"]:
        rest = rest[1:]
    dc = None
    if rest and rest[0] != "ac":
        dc, rest = _value(number, f"{name} dc", rest[0]), rest[1:]
    ac = {}
    if rest:
        if rest[0] != "ac" or not 2 <= len(rest) <= 3:
            raise NetlistError(number, usage)
        ac = {key: _value(number, f"{name} {key}", text) for key, text in zip(("ac", "acphase"), rest[1:])}
    if dc is None and not ac:
        raise NetlistError(number, usage)
    return Element(number, name, nodes, value=dc or parse_value("0"), params=ac)


def parse_netlist(text: str, variables: Iterable[str] = ()) -> Netlist:
    """Parse one ``.subckt`` over the named variables; NetlistError with the line and the reason."""
    if not isinstance(text, str):
        raise NetlistError(None, "the netlist must be text")
    variables = set(variables)
    lines = _logical_lines(text)
    if not lines:
        raise NetlistError(None, "the netlist is empty: give one .subckt NAME PORTS ... .ends")
    header: tuple[str, tuple[str, ...]] | None = None
    params: list[tuple[str, Value, int]] = []
    elements: list[Element] = []
    ended = False
    for number, line in lines:
        positional, pairs = _tokens(number, line)
        if not positional:
            raise NetlistError(number, "a line of name=value pairs only")
        first = positional[0]
        if ended:
            raise NetlistError(number, "nothing may follow .ends: a circuit is one subcircuit")
        if first == ".subckt":
            if header is not None:
                raise NetlistError(number, "a second .subckt: a circuit is one subcircuit (no nesting)")
            if len(positional) < 3:
                raise NetlistError(number, ".subckt needs a name and at least one port")
            words = positional[1:]
            if words[-1] == "params:":
                words = words[:-1]
            name = _name(number, words[0], "subcircuit name")
            ports = tuple(_name(number, port, "port", NODE) for port in words[1:])
            if len(set(ports)) != len(ports) or "0" in ports:
                raise NetlistError(number, "ports must be distinct nodes other than ground 0")
            header = (name, ports)
            params += _params(number, pairs, variables, params)
            continue
        if header is None:
            raise NetlistError(number, "the netlist must start with .subckt NAME PORTS")
        if first == ".ends":
            if len(positional) > 2 or pairs or (len(positional) == 2 and positional[1] != header[0]):
                raise NetlistError(number, f".ends takes at most the subcircuit's name {header[0]}")
            ended = True
            continue
        if first == ".param":
            if len(positional) > 1 or not pairs:
                raise NetlistError(number, ".param takes name=value pairs")
            params += _params(number, pairs, variables, params)
            continue
        _refuse_command(number, first)
        element = _element(number, positional, pairs)
        if any(e.name == element.name for e in elements):
            raise NetlistError(number, f"instance {element.name} is defined twice")
        elements.append(element)
    if not ended:
        raise NetlistError(lines[-1][0], "the subcircuit has no .ends")
    known = variables | {name for name, _, _ in params}
    for element in elements:
        unknown = sorted(set().union(*(v.names for v in element.values())) - known)
        if unknown:
            raise NetlistError(element.line, f"{element.name} reads {', '.join(unknown)}, which is not a declared variable or .param")
    if not elements:
        raise NetlistError(None, "the subcircuit has no elements")
    return Netlist(header[0], header[1], tuple(params), tuple(elements))


def _params(number: int, pairs: list[tuple[str, str]], variables: set[str], earlier: list[tuple[str, Value, int]]) -> list[tuple[str, Value, int]]:
    """``.param`` (or ``.subckt ... params:``) definitions: new names over variables and earlier params."""
    defined = [name for name, _, _ in earlier]
    found = []
    for key, text in pairs:
        name = _name(number, key, ".param name")
        if name in RESERVED or name in variables or name in defined:
            raise NetlistError(number, f".param {name}: the name is reserved, a variable, or already defined")
        try:
            value = parse_value(text, variables | set(defined))
        except ValueError as exc:
            raise NetlistError(number, f".param {name}: {exc}") from exc
        defined.append(name)
        found.append((name, value, number))
    return found
