# Two commands on a fresh machine with Python 3.11 and make: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench bench-check setup clean

setup: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,png]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/imuform demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

# FIGURES=file.json checks figures kept by `python -m benchmarks.run --json file.json` instead of running
bench-check: $(STAMP)
	$(BIN)/python -m benchmarks.run --check $(if $(FIGURES),--from $(FIGURES))

clean:
	rm -rf $(VENV) build *.egg-info
