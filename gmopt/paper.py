"""Values taken from the reference papers, each with the table, equation or section it comes from.

OTA paper: C. A. Velazquez-Morales, L. Hernandez-Martinez, E. Tlelo-Cuautle, L. G. de la Fraga,
"CMOS LIF Spiking Neuron Designed with a Memristor Emulator Based on Optimized Operational
Transconductance Amplifiers", Dynamics 5(4):54, 2025 (shared/papers/velazquez-morales-2025-...).
"""

from __future__ import annotations

# --- OTA paper, Section 4 and Table 1 -----------------------------------------------------
SUPPLY_V = 0.9                      # Table 1: supply +-0.9 V (VDD = +0.9 V, VSS = -0.9 V)
LOAD_CAPACITANCE_F = 1e-12          # Table 1: CL = 1 pF
TARGET_GM_S = 3.5e-3                # Table 1: transconductance gain about 3.5 mS
GAIN_MIN_DB = 40.0                  # Table 1 and eq. 11: DC gain >= 40 dB
BANDWIDTH_MIN_HZ = 1e6              # Table 1 and eq. 11: BW >= 1 MHz
PHASE_MARGIN_MIN_DEG = 55.0         # eq. 11: phase margin >= 55 deg
RMSE_MAX_A = 1e-9                   # eq. 11 prints "RMSE <= 10 9"; read as 1e-9 (units of Iout, A)
BIAS_V = {                          # Section 4: bias voltages of every OTA topology
    "vb": 0.55, "vbn": 0.3, "vb2": -0.1, "vb1": -0.3, "vb3": -0.3, "vbp": -0.3,
}
LAMBDA_M = 0.09e-6                  # Section 4.1, Listing 1: W = Var * LAMBDA, LAMBDA = 0.09 um
OTA_LENGTH_M = 1e-6                 # Tables 2-4: L = 1 um for every OTA device
MN1_WIDTH_M = 16.6e-6               # Tables 2-4: MN1 16.6/1 um
VAR_BOUNDS = (40, 8000)             # Section 4.2: Var integers in [40 ... 8000]
DC_SWEEP_V = (-0.2, 0.2)            # Section 4.2: input swept from -0.2 V to 0.2 V
NSGA2_POPULATION = 20               # Section 4.2
NSGA2_GENERATIONS = 50              # Section 4.2
SBX_PROBABILITY = 0.9               # Section 4.2: pc = 0.9
SBX_ETA = 15.0                      # Section 4.2: eta = 15
MUTATION_PROBABILITY = 0.5          # Section 4.2: pm = 0.5 (per variable, as the text says "each variable")
MUTATION_ETA = 20.0                 # Section 4.2: eta = 20

# Table 5 (first gm/ID sizing) and Table 7 (last NSGA-II generation): widths in um, W1..Wn.
TABLE5_WIDTHS_UM = {
    "fig7": (125.64, 55.35, 58.41, 326.97, 531.99),
    "fig8": (125.64, 55.35, 76.68, 326.97, 312.48, 531.99, 545.76),
    "fig9": (125.64, 55.35, 78.12, 76.68, 531.99, 531.99, 545.76, 545.76),
}
TABLE7_WIDTHS_UM = {
    "fig7": (75.51, 39.69, 10.89, 176.67, 531.54),
    "fig8": (341.1, 50.31, 493.2, 390.78, 473.04, 248.67, 626.31),
    "fig9": (156.33, 49.77, 11.52, 45.72, 268.29, 655.65, 544.23, 547.11),
}
# Table 6 (first sizing) and Table 8 (optimized; "original" is the OTA of the paper's ref. [13]):
# gain dB, bandwidth MHz, Gm mS, phase margin deg, offset mV.
TABLE6_METRICS = {
    "fig7": {"gain_db": 41.84, "bandwidth_mhz": 1.933, "gm_ms": 2.18, "phase_margin_deg": 18.94, "offset_mv": 314.9},
    "fig8": {"gain_db": 47.35, "bandwidth_mhz": 0.440, "gm_ms": 2.077, "phase_margin_deg": 53.22, "offset_mv": 344.0},
    "fig9": {"gain_db": 48.66, "bandwidth_mhz": 0.445, "gm_ms": 1.312, "phase_margin_deg": 5.1697, "offset_mv": 379.7},
}
TABLE8_METRICS = {
    "original": {"gain_db": 45.78, "bandwidth_mhz": 2.994, "gm_ms": 2.886, "phase_margin_deg": 9.25, "offset_mv": 339.2},
    "fig7": {"gain_db": 43.51, "bandwidth_mhz": 2.069, "gm_ms": 3.224, "phase_margin_deg": 14.47, "offset_mv": 20.76},
    "fig8": {"gain_db": 42.62, "bandwidth_mhz": 1.992, "gm_ms": 2.947, "phase_margin_deg": 40.2, "offset_mv": 189.1},
    "fig9": {"gain_db": 69.23, "bandwidth_mhz": 0.139, "gm_ms": 3.337, "phase_margin_deg": 26.27, "offset_mv": 31.43},
}

# --- OTA paper, Sections 3 and 5, Table 9 and Table 10: emulator and LIF neuron -------------
INVERTER_LENGTH_M = 1e-6            # Section 3: CMOS inverter L = 1 um
INVERTER_WN_M = 2e-6                # Section 3: WN = 2 um
INVERTER_WP_M = 11e-6               # Section 3: WP = 11 um
INVERTER_SCALE_PAPER = 100          # Section 5: inverter resized to 100x W
EMULATOR_FREQUENCIES_HZ = (1e6, 1e5)  # Figure 17: 1 MHz and 100 kHz
CINT_F = 25e-12                     # Section 5: Cint = 25 pF
CM_F = 40e-9                        # Section 5: Cm = 40 nF
NEURON_INPUT_V = 0.5                # Section 5: input amplitude 0.5 V
NEURON_PULSES = ((10e-6, 0.4), (5e-3, 0.3))  # Section 5: (period s, duty) T = 10 us 40 %, T = 5 ms 30 %
TABLE9_SIZES_UM = {                 # Table 9: W/L in um of the spiking neuron of Figure 5
    "TN1": (0.24, 0.18), "TN5": (0.24, 0.18),
    "TN2": (0.4, 0.4), "TN3": (0.4, 0.4), "TN6": (0.4, 0.4), "TP3": (0.4, 0.4), "TP4": (0.4, 0.4),
    "TN4": (0.3, 0.3),
    "TP1": (0.5, 0.4), "TP2": (0.5, 0.4),
}
TABLE10_ENERGY = {                  # Table 10: (energy per spike J at T = 5 ms, total area um^2)
    ("original", 1): (211.12e-12, 650.7764), ("original", 100): (2.021e-9, 1937.7764),
    ("fig7", 1): (1.71e-9, 1699.3764), ("fig7", 100): (20.47e-9, 2986.3764),
    ("fig8", 1): (3.659e-9, 6605.0964), ("fig8", 100): (46.76e-9, 7892.0964),
    ("fig9", 1): (1.757e-9, 4588.0164), ("fig9", 100): (21.12e-9, 5875.0164),
}

# =========================================================================================
# --- Memristor paper ----------------------------------------------------------------------
# V. Mladenov, "Memristor models, a memristor-based neural network with log-sigmoidal
# activation" (preprint doi:10.20944/preprints202401.1245.v1, 2024; shared/papers/mladenov-2024-...).
# =========================================================================================
# Section 2.3 (after eq. 7): A14mod parameters fitted to Knowm memristor data (eq. 6).
A14MOD_K = 3.12e6                   # k, 1/(V^m s)
A14MOD_X0 = 0.0103                  # x0, initial state
A14MOD_RON_OHM = 3.37               # Ron
A14MOD_ROFF_OHM = 57.033e3          # Roff = 57.033 kOhm
A14MOD_M = 5                        # m (odd exponent)
A14MOD_VTHR_V = 0.1583              # vthr
A14MOD_STEP_SHARPNESS_V2 = 1e-24    # Section 3 listing, row 2: mm (sharpness of stpp, row 8)
FIT_SAMPLES = 1000                  # eq. 7: N = 1000 samples
FIT_SAMPLE_STEP_S = 10e-6           # Section 2.3: voltage sampled every 10 us
TABLE1_RMS_ERROR_PCT = {            # Table 1: RMS error of each model fitted to Knowm data
    "joglekar": 17.6, "biolek": 16.3, "lehtonen_laiho": 3.4, "a14mod": 14.2,
}
TABLE2_SIMULATION_TIME_MS = {       # Table 2: LTspice time, (decreasing, increasing memristance)
    "joglekar": (28.2, 28.5), "biolek": (30.8, 31.1), "lehtonen_laiho": (35.8, 37.8), "a14mod": (28.3, 24.3),
}
# Section 3 and Figure 3: sinusoidal i-v test.
IV_AMPLITUDE_V = 1.1                # Figure 3: amplitude 1.1 V
IV_FREQUENCIES_HZ = (100e3, 1e6, 10e6)  # Figure 3 b), c), d)
IV_INITIAL_MEMRISTANCE_OHM = 5e3    # Section 3: initial memristance 5 kOhm
# Section 3, Figures 4 and 5, eqs. 10-13: programming by pulses of 1 ns, 50 % duty, 500 MHz.
PROGRAM_PULSE_WIDTH_S = 1e-9
PROGRAM_PULSE_PERIOD_S = 2e-9
PROGRAM_EXAMPLES = (                # (M1 ohm, M2 ohm, amplitude V, x1, x2, total time s, effective time s)
    (10e3, 9e3, 1.1, 0.8251, 0.8427, 28e-9, 14e-9),     # Figure 4, eq. 12: "about 28 ns", "about 14 ns"
    (5e3, 6e3, -1.1, 0.9129, 0.8954, 79e-9, 39.5e-9),   # Figure 5, eq. 13: "79ns/2 = 39.5 ns"
)
REFERENCE_MEMRISTANCE_OHM = 10e3    # Section 3 and eq. 17: w = M_ref / M (M = 10 kOhm is w = 1)
# Section 4, eq. 14 and Figure 6: log-sigmoid activation from a memristor and two NMOS.
ACTIVATION_K = 5.0                  # eq. 14 fitted: vtf = 1/(1+exp(-5 vin))
ACTIVATION_MEMRISTANCE_OHM = 150.0  # Section 4: m0 = 150 Ohm
# Sections 5 and 6: neuron, adder and network (Figures 9-15, Tables 3-7).
FEEDBACK_MEMRISTANCE_OHM = 10e3     # Section 5: M7 = M8 = M9 = 10 kOhm
OPAMP_SUPPLY_V = 3.0                # Section 5: op-amps powered by two 3 V sources
DIVIDER_RATIO = 0.1                 # Section 5, Figure 12: divider transfer coefficient 0.1
DIVIDER_BOTTOM_OHM = 1777.78        # Section 5: U46 = 1777.78 Ohm
NETWORK_PULSE_WIDTH_S = 0.8e-3      # Section 6: input pulses 0.8 ms, duty 50 %
NETWORK_SIMULATION_S = 6e-3         # Section 7: simulation time 6 ms
TABLE3_INPUTS_MV = (10.0, 70.0, 40.0, 50.0, 20.0)  # Table 3: vin1..vin5
TABLE3_BIAS_MV = 100.0              # Table 3: vbias
TRAINED_BIAS_V = 1.0                # Section 6: "the bias signal is vbias = 0.1 V, instead of 1 V" (Tables 4, 6)
TABLE4_HIDDEN_WEIGHTS = (           # Table 4: w1..w5, wbias of N1..N4 (bias weight for a 1 V bias)
    (-0.2, 1.0, -0.1, 0.5, 0.2, 0.2),
    (1.0, -2.0, -0.5, 1.0, -0.1, 0.5),
    (0.2, 0.5, -1.0, 1.0, -0.2, -0.2),
    (0.1, -0.5, 1.0, 0.1, 0.2, -0.1),
)
TABLE5_HIDDEN_MEMRISTANCES_KOHM = (  # Table 5: M1..M5, Mbias of N1..N4; the sign is the adder input
    (-50.0, 10.0, -100.0, 20.0, 50.0, 5.0),
    (10.0, -5.0, -20.0, 10.0, -100.0, 2.0),
    (50.0, 20.0, -10.0, 10.0, -50.0, -5.0),
    (100.0, -20.0, 10.0, 100.0, 50.0, -10.0),
)
TABLE6_OUTPUT_WEIGHTS = (           # Table 6: M1out..M4out, Mbiasout of N1out, N2out
    (-0.1, 0.1, 0.2, -0.1, -1.0),
    (-0.05, 0.05, 0.1, -0.1, -0.5),
)
# Table 7: M1..M5, Mbias of N1out, N2out (rows "N1", "N2"); the sign is the adder input. Read in
# memristor/network.py: M1..M4 on tf1..tf4 after the 0.1 divider, M5 without a signal (Figure 13's
# output neurons have four inputs), Mbias on the 0.1 V bias (Table 5's column); docs/memristor.md.
TABLE7_OUTPUT_MEMRISTANCES_KOHM = (
    (-10.0, 10.0, 5.0, -10.0, -10.0, 10.0),
    (-20.0, 20.0, 10.0, -10.0, -20.0, -10.0),
)
