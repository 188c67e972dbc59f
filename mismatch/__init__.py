"""Device mismatch: Pelgrom coefficients per technology and Monte Carlo runs of the OTA testbench."""
