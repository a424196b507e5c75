# geomap — two commands from a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
GEOMAP := $(VENV)/bin/geomap
STAMP := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | cksum | cut -d' ' -f1)
WARD ?= hoa-cuong

.PHONY: run test bench setup system db demo serve lint clean

## run: set everything up, load the demo ward, start the public service and the staff app
run: setup db
	@$(GEOMAP) demo load --ward $(WARD) --if-empty
	@$(GEOMAP) user demo
	@$(GEOMAP) qr issue --missing --ward $(WARD)
	@$(GEOMAP) run

## test: set everything up and run the whole test suite
test: setup db
	$(PY) -m pytest -q -p no:cacheprovider

## bench: the performance benchmarks (figures printed, see bench/README.md)
bench: setup db
	$(PY) -m bench

setup: system $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PY) -m pip --version >/dev/null 2>&1 || python3 -m venv --clear $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

## system: PostgreSQL + PostGIS and Chromium (for browser tests) from the system's packages
system:
	@bash geomap/system_deps.sh

db: setup
	@$(GEOMAP) db start

lint: setup
	$(VENV)/bin/ruff check geomap layers qr tests bench app.py

clean:
	-$(GEOMAP) db stop
	rm -rf $(VENV) .geomap
