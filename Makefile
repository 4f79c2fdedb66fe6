# make demo: run the demo notebook through the kernel.   make test: the full test suite.
# Both set themselves up on a fresh clone: a .venv with the package, what it needs, and the
# kernelspec installed into the .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SPEC := $(VENV)/share/jupyter/kernels/crucible-lua/kernel.json

# pip's cache and Jupyter's own state (connection files, IPython profile) stay in the checkout.
export PIP_CACHE_DIR := $(CURDIR)/$(VENV)/pip-cache
export JUPYTER_RUNTIME_DIR := $(CURDIR)/$(VENV)/jupyter/runtime
export IPYTHONDIR := $(CURDIR)/$(VENV)/jupyter/ipython
export JUPYTER_PLATFORM_DIRS := 1

.PHONY: demo test lab lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

$(SPEC): $(STAMP) kernel/kernel.json
	mkdir -p $(JUPYTER_RUNTIME_DIR) $(IPYTHONDIR)
	$(BIN)/crucible-kernel install --sys-prefix

demo: $(SPEC)
	mkdir -p build
	$(BIN)/crucible-kernel execute notebooks/demo.ipynb --output build/demo.ipynb

test: $(STAMP)
	$(BIN)/ruff check crucible_kernel tests bench
	$(BIN)/python -m pytest

lab: $(SPEC)
	test -x $(BIN)/jupyter-lab || $(BIN)/python -m pip install --quiet "jupyterlab>=4,<5"
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

lint: $(STAMP)
	$(BIN)/ruff check crucible_kernel tests bench
	$(BIN)/ruff format --check crucible_kernel tests bench

bench: $(STAMP)
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
