# gmopt: `make run` installs what is missing and runs the main job; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
APT    := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends
export GMOPT_DATA_DIR ?= $(CURDIR)/.gmopt-data

.PHONY: run test bench install system-deps test-system-deps clean

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

run: install
	$(BIN)/gmopt run-main

test: install test-system-deps
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .gmopt-data .pytest_cache
