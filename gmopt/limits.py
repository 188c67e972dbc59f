"""Range limits that name both ends: one check for plain Python and the same as pydantic annotations.

pydantic's own ``ge``/``le`` message names only the end that was crossed ("less than or equal to
175"); these say the whole range, so a user sees at once what is allowed. Each limit itself is
defined next to what it limits (the temperature range in ``lut.technology``, population sizes
in ``optimizer.spec``...).
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import AfterValidator, Field


def check_within(value: float, low: float, high: float, what: str = "", unit: str = "") -> float:
    """``value`` when it is a finite number in [low, high]; else a ValueError naming the range."""
    number = float(value)
    if not (math.isfinite(number) and low <= number <= high):
        name = f"{what} " if what else ""
        raise ValueError(f"{name}{value!r}{unit} is outside {low:g} to {high:g}{unit}")
    return value if isinstance(value, int) and not isinstance(value, bool) else number


def within(low: float, high: float, what: str = "", unit: str = "") -> tuple[Any, ...]:
    """``Annotated[...]`` metadata for a number in [low, high] (``Annotated[int, *within(4, 1000)]``):
    the check above, and the range in the JSON schema (``minimum``/``maximum``)."""
    return (
        AfterValidator(lambda value: check_within(value, low, high, what, unit)),
        Field(json_schema_extra={"minimum": low, "maximum": high}),
    )
