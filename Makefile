# make demo: run the demo through the runtime.   make test: the full test suite.
# Both set themselves up on a fresh clone: a .venv with the package and what it needs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/crucible-kernel run notebooks/demo.lua

test: $(STAMP)
	$(BIN)/ruff check crucible_kernel tests bench
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check crucible_kernel tests bench
	$(BIN)/ruff format --check crucible_kernel tests bench

bench: $(STAMP)
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
