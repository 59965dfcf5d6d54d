# The two set-up commands of the README. Each creates .venv when missing and installs crosslift into it
# (a second run is a no-op: the stamp file is newer than pyproject.toml and the constraints), then runs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.crosslift-installed

# torch is pinned by a constraints file seen by every pip process, build environments included:
# an unpinned torch pulls gigabytes of CUDA packages on a CPU machine.
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Nothing here may reach the Hugging Face hub: a lookup otherwise hangs ~26 s before failing.
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test install lint clean

demo: $(STAMP)
	$(BIN)/crosslift demo

# The suite runs on every core (pytest-xdist); TEST_WORKERS=0 runs it in one process. The tests of an install
# from the wheel take minutes: .ci/run runs them after this.
TEST_WORKERS ?= auto
test: $(STAMP) lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) -m "not installed"

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -c "import torch; print('torch', torch.__version__)"
	touch $(STAMP)

# The style: ruff's linter and formatter, as configured in pyproject.toml (`make test` runs this first).
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

clean:
	rm -rf $(VENV) runs .pytest_cache
