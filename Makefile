# The README's commands. Everything runs in ./.venv, made on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint unit integration quickstart bench image clean

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[tests,pyairbyte]"
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

unit: $(STAMP)
	$(BIN)/python -m pytest unit_tests -q

integration: $(STAMP)
	$(BIN)/python -m pytest integration_tests -q

# All tests: lint, unit and end-to-end against the local Stripe emulator.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest unit_tests integration_tests -q -p no:cacheprovider

# Start a seeded emulator, sync it with the connector, print a summary, stop the emulator.
quickstart: $(STAMP)
	$(BIN)/python -m tools.quickstart

bench: $(STAMP)
	$(BIN)/python -m tools.bench

clean:
	rm -rf $(VENV) build *.egg-info .bench
