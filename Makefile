# `make demo` and `make test` are the two commands of the README: each sets up
# everything it needs (a virtualenv in .venv) on a fresh machine, then runs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

.PHONY: install demo run test lint bench
install: $(STAMP)

demo: $(STAMP)
	$(BIN)/vinyl-detective demo

run: $(STAMP)
	$(BIN)/vinyl-detective run

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/match_latency.py
