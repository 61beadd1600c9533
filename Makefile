# Every target installs what it needs into ./.venv first (a stamp keyed on pyproject.toml).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-16)
export GX_ANALYTICS_ENABLED := False
export ANONBENCH_REFERENCE_DATA ?= $(abspath ../shared/data/adult)
PYTEST_ARGS ?=

.PHONY: install pipeline test test-fast lint bench killtest crosscheck mutants clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,dask]'
	rm -f $(VENV)/.installed-*
	touch $@

pipeline: install
	$(BIN)/anonbench run --config configs/default.yaml --out runs/default --overwrite

test: install
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python -m pytest -m "not pipeline and not e2e and not slow" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.summarize

# SIGKILL each stage at 20 random moments and at each commit point; 0 damaged runs (scripts/killtest.py).
KILLS ?= 20
killtest: install
	$(BIN)/python scripts/killtest.py --kills $(KILLS)

crosscheck: install
	bash scripts/crosscheck.sh

# Privacy mutation score of the CI gate on configs/ci.yaml -> benchmarks/results/mutants.json (MUTANTS_ARGS=--jobs 1 ...)
mutants: install
	$(BIN)/python -m benchmarks.mutants $(MUTANTS_ARGS)

clean:
	rm -rf runs build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './.venv*' -exec rm -rf {} +
