"""The one encoding of non-finite numbers wherever gmopt writes JSON or CSV.

Inside Python an unmeasured or failed figure is always the float NaN (never ``None``), so a
value keeps its type whatever the number of corners it was taken over. JSON has no inf or NaN,
so every writer (run stores, the API, the page, ``--json`` output, CSV cells) spells them as the
strings ``"inf"``, ``"-inf"`` and ``"nan"`` (the names Python's ``float()`` reads back), and
every reader turns those strings back into floats. The SQL store's value-type column
(``app.models.FloatKind``) uses the same three names.
"""

from __future__ import annotations

import math
from typing import Any, Literal

NonFinite = Literal["inf", "-inf", "nan"]
NON_FINITE: tuple[NonFinite, ...] = ("inf", "-inf", "nan")


def encode_float(value: float) -> float | NonFinite:
    """A finite float as itself, inf/-inf/NaN as their string names."""
    value = float(value)
    return value if math.isfinite(value) else str(value)  # type: ignore[return-value]


def decode_float(value: float | str | None) -> float:
    """The inverse of ``encode_float``; ``None`` (an older run's unmeasured value) reads as NaN."""
    return math.nan if value is None else float(value)


def encode_floats(value: Any) -> Any:
    """``encode_float`` on every float inside dicts, lists and tuples (tuples become lists)."""
    if isinstance(value, float):
        return encode_float(value)
    if isinstance(value, dict):
        return {key: encode_floats(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        try:  # a curve of finite numbers, the usual case, is checked at C speed and copied as it is
            if all(map(math.isfinite, value)):
                return list(value)
        except TypeError:  # strings or nested lists inside: item by item
            pass
        return [encode_floats(item) for item in value]
    return value


def decode_float_list(values: list[float | str | None]) -> list[float]:
    """``decode_float`` over a list (a stored curve): ``float`` itself reads the three names."""
    try:
        return list(map(float, values))
    except TypeError:  # an older run's None
        return [decode_float(value) for value in values]


def decode_floats(value: Any) -> Any:
    """The inverse of ``encode_floats``: the three names become floats again, anything else stays."""
    if isinstance(value, str):
        return float(value) if value in NON_FINITE else value
    if isinstance(value, dict):
        return {key: decode_floats(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode_floats(item) for item in value]
    return value
