# The README's first two commands. Both create .venv if missing and install the project.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --disable-pip-version-check -q -c constraints.txt

.PHONY: bench test lint clean clean-numba

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --upgrade pip

# the benchmark needs the solvers (HiGHS) and torch (LSTM forecaster), not the RL stack
$(VENV)/.base: $(PY) pyproject.toml setup.py constraints.txt
	$(PIP) -e ".[milp,torch]"
	touch $@

$(VENV)/.all: $(PY) pyproject.toml setup.py constraints.txt
	$(PIP) -e ".[all]"
	touch $@ $(VENV)/.base

bench: $(VENV)/.base
	$(VENV)/bin/swapgym bench

test: $(VENV)/.all
	$(PY) -m pytest -q -n 2
	$(VENV)/bin/ruff check .

lint: $(VENV)/.all
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

clean: clean-numba
	rm -rf $(VENV) bench-out

# numba's cache misses edits to a compiled function called from another file
clean-numba:
	find envs -name '*.nbi' -delete -o -name '*.nbc' -delete
