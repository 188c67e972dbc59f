"""The classic gm/ID design charts: ID/W, fT and gm*ro against gm/ID, one curve per length."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gmopt.figures import plt, save_figure
from lut.lookup import Lut

CHARTS = (("ID_W", "ID/W (A/m)", "log"), ("FT", "fT (Hz)", "log"), ("GM_GDS", "gm*ro (V/V)", "log"))


def plot_design_charts(lut: Lut, path: Path, vds_v: float | None = None, vsb_v: float = 0.0) -> Path:
    """Three panels at one VDS (default: half the VDS grid) and VSB; writes a PNG."""
    vds_v = float(np.median(lut.grid.vds)) if vds_v is None else vds_v
    figure, axes = plt.subplots(1, len(CHARTS), figsize=(5 * len(CHARTS), 4), constrained_layout=True)
    for length in lut.grid.length_m:
        gm_id = np.linspace(*lut.gm_id_range(L=length, VDS=vds_v, VSB=vsb_v), 200)
        for axis, (quantity, label, scale) in zip(axes, CHARTS):
            axis.plot(gm_id, lut.lookup(quantity, gm_id=gm_id, L=length, VDS=vds_v, VSB=vsb_v), label=f"L={length * 1e6:g} um")
            axis.set(xlabel="gm/ID (S/A)", ylabel=label, yscale=scale)
            axis.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    figure.suptitle(f"{lut.table.describe()}, VDS={vds_v:g} V, VSB={vsb_v:g} V")
    return save_figure(figure, path)
