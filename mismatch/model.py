"""Pelgrom mismatch coefficients of each technology: sigma(dVth) = AVT / sqrt(W L), sigma(dbeta/beta) = Abeta / sqrt(W L).

The coefficients are facts of a process; they are kept here, keyed by the technology's name,
until ``lut.technology.Technology`` carries them itself.

Why published coefficients everywhere, also for the open PDKs: sky130 and gf180mcu put their
mismatch into the model cards as ``AGAUSS`` expressions switched on by ``MC_MM_SWITCH``, which
ngspice draws once per parse. A sample would then need a re-parse (``reset``, 30 ms and more for
sky130, ../shared/FACTS.md) and its random numbers would come from ngspice, not from gmopt's seed;
gmopt's trimmed sky130 model set also leaves out the ``nfet_01v8``/``pfet_01v8`` mismatch files.
Per-instance ``delvto``/``mulu0`` shifts work the same way on every BSIM3/BSIM4 card instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lut.technology import Technology

# Pelgrom, Tuinhout and Vertregt, "Transistor matching in analog CMOS applications", IEDM 1998,
# pp. 915-918: AVT follows the gate oxide, about 1 mV*um per nm of TOX, and Abeta is about 1-2 %*um
# for the 0.35-0.18 um generations; Kinget, "Device mismatch and tradeoffs in the design of analog
# circuits", IEEE JSSC 40(6), 2005, pp. 1212-1224, Section II, surveys the same data.
PELGROM_1998 = "Pelgrom, Tuinhout, Vertregt, IEDM 1998 (AVT ~ 1 mV*um per nm of TOX); Kinget, IEEE JSSC 40(6) 2005"


@dataclass(frozen=True)
class PelgromCoefficients:
    """One polarity's coefficients: AVT in mV*um and Abeta in %*um."""

    avt_mv_um: float
    abeta_pct_um: float

    def sigma_vth_v(self, width_m: float, length_m: float) -> float:
        return self.avt_mv_um * 1e-3 / math.sqrt(width_m * 1e6 * length_m * 1e6)

    def sigma_beta(self, width_m: float, length_m: float) -> float:
        """sigma(dbeta/beta), a fraction."""
        return self.abeta_pct_um * 1e-2 / math.sqrt(width_m * 1e6 * length_m * 1e6)


@dataclass(frozen=True)
class MismatchModel:
    """A technology's mismatch: coefficients per polarity, and where they come from."""

    nmos: PelgromCoefficients
    pmos: PelgromCoefficients
    source: str

    def coefficients(self, polarity: str) -> PelgromCoefficients:
        if polarity not in ("n", "p"):
            raise ValueError(f"polarity {polarity!r}: choose 'n' or 'p'")
        return self.nmos if polarity == "n" else self.pmos

    def to_dict(self) -> dict:
        return {
            "nmos": {"avt_mv_um": self.nmos.avt_mv_um, "abeta_pct_um": self.nmos.abeta_pct_um},
            "pmos": {"avt_mv_um": self.pmos.avt_mv_um, "abeta_pct_um": self.pmos.abeta_pct_um},
            "source": self.source,
        }


MODELS = {
    # TOX = 4.1 nm (the T16X card): 5 mV*um NMOS, 6 mV*um PMOS (PMOS match worse at 0.18 um: its
    # buried channel and boron-doped gate), Abeta 1 %*um, as quoted for 0.18 um processes.
    "generic180": MismatchModel(
        nmos=PelgromCoefficients(5.0, 1.0), pmos=PelgromCoefficients(6.0, 1.0),
        source=f"published 0.18 um figures: {PELGROM_1998}",
    ),
    # sky130 1.8 V devices, TOX about 4.1 nm: the same oxide as generic180, so the same figures.
    "sky130": MismatchModel(
        nmos=PelgromCoefficients(5.0, 1.0), pmos=PelgromCoefficients(6.0, 1.0),
        source=f"estimate from TOX = 4.1 nm (sky130 1.8 V devices) by the rule of {PELGROM_1998}; not SkyWater data",
    ),
    # gf180mcu 3.3 V devices, TOX about 7 nm: 7 mV*um NMOS, 8 mV*um PMOS.
    "gf180mcu": MismatchModel(
        nmos=PelgromCoefficients(7.0, 1.0), pmos=PelgromCoefficients(8.0, 1.0),
        source=f"estimate from TOX = 7 nm (gf180mcu 3.3 V devices) by the rule of {PELGROM_1998}; not GlobalFoundries data",
    ),
}


def mismatch_model(technology: Technology) -> MismatchModel:
    """The mismatch coefficients of a technology; a technology without them is refused by name."""
    if technology.name not in MODELS:
        raise ValueError(
            f"no mismatch coefficients for technology {technology.name!r}; known: {', '.join(MODELS)}"
        )
    return MODELS[technology.name]
