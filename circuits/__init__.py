"""Circuit packages: designers' own circuits (and the built-ins) as one YAML or JSON format.

``circuits.parse`` reads a netlist by allowlist, ``circuits.model`` validates the package,
``circuits.render`` writes the subcircuit for a technology. See docs/circuits.md.
"""

from circuits.model import Circuit, CircuitError, circuit_from_text, load_circuit
from circuits.parse import NetlistError
from circuits.render import render_subckt

EXAMPLES_DIR = __import__("pathlib").Path(__file__).resolve().parent / "examples"

__all__ = ["EXAMPLES_DIR", "Circuit", "CircuitError", "NetlistError", "circuit_from_text", "load_circuit", "render_subckt"]
