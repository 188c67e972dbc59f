"""SPICE netlist templates (Jinja2) and model files shipped with gmopt.

Templates are filled only with numbers and names that gmopt validated; Python never
concatenates SPICE from user strings.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import jinja2

TEMPLATES_DIR = Path(__file__).resolve().parent


def spice_number(value: float) -> str:
    """A finite number in a form ngspice parses exactly (12 significant digits): the one way gmopt
    writes a number into a deck, a template (``|num``) or an ``alterparam``/``alter`` command."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return f"{number:.12g}"


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["num"] = spice_number
    return env


def render(name: str, **values: object) -> str:
    """Fill the template ``name`` (a path below spice_templates/); use ``|num`` for every number."""
    return _environment().get_template(name).render(**values)


def model_path(name: str) -> Path:
    """A model file shipped in spice_templates/models/."""
    return TEMPLATES_DIR / "models" / name
