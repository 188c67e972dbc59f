"""From a Pareto point to a neuron: the OTA memristor emulator, the LIF neuron, energy per spike,
Table 10 and PVT (paper Sections 2.3, 3 and 5; docs/neuromorphic.md)."""
