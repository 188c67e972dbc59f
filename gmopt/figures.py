"""matplotlib set-up shared by every plot: the Agg back-end (no display on servers and CI) and
one way to write a figure, so every PNG gets the same resolution and frees its memory."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the back-end must be chosen first)
from matplotlib.figure import Figure  # noqa: E402

DPI = 120

__all__ = ["plt", "save_figure"]


def save_figure(figure: Figure, path: str | Path) -> Path:
    """Lay out, write as PNG (creating the folder) and close the figure; returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(target, dpi=DPI)
    plt.close(figure)
    return target
