# gmopt: `make run` installs what is missing and runs the main job; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
APT    := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends
export GMOPT_DATA_DIR ?= $(CURDIR)/.gmopt-data
# The open PDKs the tests simulate, installed once by 'gmopt tech install' (tests/conftest.py
# registers them in each test's own data directory, without copying or downloading again).
export GMOPT_TEST_PDKS ?= $(CURDIR)/.gmopt-test-pdks
TEST_PDKS := sky130 gf180mcu

.PHONY: run test bench install system-deps test-system-deps test-pdks clean

system-deps:
	@if ! command -v ngspice >/dev/null || ! ldconfig -p | grep -q 'libngspice.so.0'; then \
		$(SUDO) apt-get update -q && $(APT) ngspice libngspice0; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: system-deps $(STAMP)

# Test-only system packages: PostgreSQL for the storage tests, Chromium for the web-page test.
test-system-deps:
	@missing=""; \
	command -v pg_ctlcluster >/dev/null || missing="$$missing postgresql"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -q && $(APT) $$missing; fi

# Reinstalled when lut/pdk.py changes (a new PDK version); the wheels stay in $(GMOPT_TEST_PDKS)/wheels.
$(GMOPT_TEST_PDKS)/.installed: lut/pdk.py | $(STAMP)
	for pdk in $(TEST_PDKS); do GMOPT_DATA_DIR=$(GMOPT_TEST_PDKS) $(BIN)/gmopt tech install $$pdk || exit 1; done
	touch $@

test-pdks: install $(GMOPT_TEST_PDKS)/.installed

run: install
	$(BIN)/gmopt run-main

test: install test-system-deps test-pdks
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .gmopt-data .gmopt-test-pdks .pytest_cache
