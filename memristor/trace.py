"""One simulated or measured run of a memristor: time, voltage, current, state; CSV in and out.

The CSV columns are ``t, v, i`` (seconds, volts, amperes), the format the fit reads; a simulated
run adds ``x`` (state) and ``m`` (zero-bias memristance, ohm).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REQUIRED_COLUMNS = ("t", "v", "i")


@dataclass(frozen=True)
class Trace:
    time_s: np.ndarray
    voltage_v: np.ndarray
    current_a: np.ndarray
    state: np.ndarray | None = None
    memristance_ohm: np.ndarray | None = None

    def to_frame(self) -> pd.DataFrame:
        columns = {"t": self.time_s, "v": self.voltage_v, "i": self.current_a}
        if self.state is not None:
            columns["x"] = self.state
        if self.memristance_ohm is not None:
            columns["m"] = self.memristance_ohm
        return pd.DataFrame(columns)

    def to_csv(self, path: Path) -> None:
        self.to_frame().to_csv(path, index=False, float_format="%.9g")


def read_loop_csv(path: Path) -> Trace:
    """A measured i-v loop; says which columns are missing or bad instead of failing later."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such CSV file: {path}")
    try:
        frame = pd.read_csv(path, comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not a readable CSV file: {exc}") from exc
    frame.columns = [str(name).strip().lower() for name in frame.columns]
    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        raise ValueError(f"{path} needs columns t, v, i (seconds, volts, amperes); missing {', '.join(missing)}")
    data = frame[list(REQUIRED_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    if data.isna().any().any() or len(data) < 10:
        raise ValueError(f"{path}: columns t, v, i must hold at least 10 rows of numbers")
    if np.any(np.diff(data["t"].to_numpy()) <= 0):
        raise ValueError(f"{path}: the t column must increase strictly")
    return Trace(data["t"].to_numpy(float), data["v"].to_numpy(float), data["i"].to_numpy(float))
