# make demo: run the demo notebook through the kernel.   make test: the full test suite.
# make demos: store the outputs of every notebook git tracks in notebooks/ (after a change).
# All set themselves up on a fresh clone: a .venv with the package, what it needs, and the
# kernelspec installed into the .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SPEC := $(VENV)/share/jupyter/kernels/crucible-lua/kernel.json
BROWSER_STAMP := $(VENV)/.browser-stamp

# pip's cache and Jupyter's own state (connection files, IPython profile) stay in the checkout.
export PIP_CACHE_DIR := $(CURDIR)/$(VENV)/pip-cache
export JUPYTER_RUNTIME_DIR := $(CURDIR)/$(VENV)/jupyter/runtime
export IPYTHONDIR := $(CURDIR)/$(VENV)/jupyter/ipython
export JUPYTER_PLATFORM_DIRS := 1

.PHONY: demo demos test lab lint bench clean chromium

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

# The demo notebooks are stored executed (they read without running) and make test checks that
# they re-run to those outputs. After an intended change, this stores the new ones.
demos: $(SPEC)
	$(BIN)/crucible-kernel execute --inplace $$(git ls-files 'notebooks/*.ipynb')

# The browser tests need JupyterLab and Playwright in .venv and Debian's Chromium. Both are
# installed where possible; where not, those tests are skipped with one line saying why
# (except with CI=true, where they must run).
$(BROWSER_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,browser]' \
		&& touch $(BROWSER_STAMP) \
		|| echo "could not install JupyterLab and Playwright into $(VENV): the browser tests will be skipped"

chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
		|| if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Debian's chromium for the browser tests"; \
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
				|| echo "could not install chromium: the browser tests will be skipped"; \
		else echo "no Chromium here (installing it needs root and apt-get): the browser tests will be skipped"; fi

test: $(STAMP) $(BROWSER_STAMP) chromium
	$(BIN)/ruff check crucible_kernel tests bench notebooks/servers
	MALLOC_PERTURB_=165 $(BIN)/python -m pytest  # freed memory is filled: a use-after-free crashes a test

lab: $(SPEC)
	test -x $(BIN)/jupyter-lab || $(BIN)/python -m pip install --quiet -e '.[browser]'
	$(BIN)/jupyter lab --notebook-dir=notebooks --KernelManager.transport_encryption=required \
		$(if $(filter 0,$(shell id -u)),--allow-root)

lint: $(STAMP)
	$(BIN)/ruff check crucible_kernel tests bench notebooks/servers
	$(BIN)/ruff format --check crucible_kernel tests bench notebooks/servers

bench: $(STAMP)
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache test-artifacts
