"""Pelgrom mismatch coefficients of each technology, and the per-device sigmas they give.

Pelgrom's law, as Pelgrom (IEEE JSSC 24(5), 1989) defines it and as every figure below is quoted:
the *difference* of a parameter between two identical devices has sigma(dVth) = AVT / sqrt(W L)
and sigma(dbeta/beta) = Abeta / sqrt(W L). One device then varies by AVT / sqrt(2 W L), so that a
pair's difference comes back to AVT / sqrt(W L). The PDKs write their per-device sigma the same
way: gf180mcu's ``var_vth = 0.7071 * par_vth / sqrt(Leff Weff)`` (0.7071 = 1/sqrt(2)).

The coefficients are facts of a process; they are kept here, keyed by the technology's name,
until ``lut.technology.Technology`` carries them itself.

The open PDKs' own mismatch data are used, applied the way the PDKs apply them (a per-instance
``delvto``), but drawn by gmopt rather than by the model cards' ``AGAUSS``: ngspice draws those
once per parse, so each sample would need a re-parse (``reset``, 30 ms and more for sky130,
../shared/FACTS.md) and its numbers would follow ngspice's random state instead of gmopt's seed;
and gf180mcu puts its mismatch only into the ``*_sab`` subcircuits, not into the ``nmos_3p3`` /
``pmos_3p3`` cards gmopt instantiates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lut.technology import Technology

SQRT2 = math.sqrt(2.0)


@dataclass(frozen=True)
class PelgromCoefficients:
    """One polarity's coefficients of a pair's difference: AVT in mV*um and Abeta in %*um."""

    avt_mv_um: float
    abeta_pct_um: float

    def device_sigma_vth_v(self, width_m: float, length_m: float) -> float:
        """sigma of one device's threshold shift: AVT / sqrt(2 W L)."""
        return self.avt_mv_um * 1e-3 / math.sqrt(2.0 * width_m * 1e6 * length_m * 1e6)

    def device_sigma_beta(self, width_m: float, length_m: float) -> float:
        """sigma of one device's dbeta/beta (a fraction): Abeta / sqrt(2 W L)."""
        return self.abeta_pct_um * 1e-2 / math.sqrt(2.0 * width_m * 1e6 * length_m * 1e6)


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
            "convention": "pair difference: sigma = A / sqrt(W L); one device: A / sqrt(2 W L)",
            "source": self.source,
        }


MODELS = {
    # Published 0.18 um figures. Pelgrom, Tuinhout and Vertregt, "Transistor matching in analog CMOS
    # applications", IEDM 1998, pp. 915-918: AVT follows the gate oxide at about 1 mV*um per nm
    # (TOX = 4.1 nm in the T16X card), PMOS matching worse than NMOS in these generations, Abeta
    # about 1 %*um; Kinget, "Device mismatch and tradeoffs in the design of analog circuits", IEEE
    # JSSC 40(6), 2005, pp. 1212-1224 (Section II) surveys the same data. The sky130 row below, a
    # 4.1 nm oxide too, has 4.75 mV*um NMOS: the same figure from a foundry's own fit.
    "generic180": MismatchModel(
        nmos=PelgromCoefficients(5.0, 1.0), pmos=PelgromCoefficients(6.0, 1.0),
        source="published 0.18 um figures: Pelgrom, Tuinhout, Vertregt, IEDM 1998 (AVT ~ 1 mV*um per nm of TOX, "
               "Abeta ~ 1 %*um); Kinget, IEEE JSSC 40(6) 2005",
    ),
    # sky130's own: combined_models/continuous/models_global.spice, sw_mm_vth0_sky130_fd_pr__nfet_01v8
    # = 3.356e-3 and ..._pfet_01v8 = 5.856e-3 V*um per device (models_fet.spice: swx_vth gets
    # sw_mm_vth0 * mismatch_factor * AGAUSS(0,1,1) / sqrt(l w mult), mismatch_factor = 1), so a pair
    # has sqrt(2) times that. Its beta term (deltox from sw_mm_tox_lv) is commented out in both
    # 1.8 V devices, so the PDK models no current-factor mismatch: Abeta = 0.
    "sky130": MismatchModel(
        nmos=PelgromCoefficients(SQRT2 * 3.356, 0.0), pmos=PelgromCoefficients(SQRT2 * 5.856, 0.0),
        source="SkyWater sky130_fd_pr models: sw_mm_vth0 of nfet_01v8 / pfet_01v8 (models_global.spice), "
               "per device, times sqrt(2) for a pair; no beta mismatch in the PDK's 1.8 V devices",
    ),
    # gf180mcu's own: sm141064.ngspice, subcircuits nmos_3p3_sab / pmos_3p3_sab: par_vth = 7.148 /
    # 6.66 mV*um and par_k = 0.7008 / 0.2833 %*um, used there as 0.7071 * par / sqrt(Leff Weff) per
    # device, i.e. pair coefficients (the PDK applies only the threshold term, as delvto).
    "gf180mcu": MismatchModel(
        nmos=PelgromCoefficients(7.148, 0.7008), pmos=PelgromCoefficients(6.66, 0.2833),
        source="GlobalFoundries gf180mcu models: par_vth and par_k of nmos_3p3_sab / pmos_3p3_sab (sm141064.ngspice), "
               "pair coefficients",
    ),
}


def mismatch_model(technology: Technology) -> MismatchModel:
    """The mismatch coefficients of a technology; a technology without them is refused by name."""
    if technology.name not in MODELS:
        raise ValueError(
            f"no mismatch coefficients for technology {technology.name!r}; known: {', '.join(MODELS)} (mismatch/model.py)"
        )
    return MODELS[technology.name]
