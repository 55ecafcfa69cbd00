# Every target sets up its own virtualenv on first use: a fresh clone needs only python3 and pip.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint unit demo ask sandbox bench clean soak

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check bot tests benchmarks
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

test: lint unit

demo: $(STAMP)
	$(BIN)/alex chat --sandbox

# One question without activating the virtualenv: make ask Q="oncall platform-engineering"
# (ARGS="--json --sandbox", or ARGS= for the PagerDuty of PAGERDUTY_USER_API_KEY). Q goes through the
# environment, so quotes in it stay as typed.
ARGS ?= --sandbox
ask: $(STAMP)
	@if [ -z "$$Q" ]; then echo 'usage: make ask Q="oncall platform-engineering" [ARGS="--sandbox --json"]' >&2; exit 2; fi
	@$(BIN)/alex ask "$$Q" $(ARGS)

sandbox: $(STAMP)
	$(BIN)/alex sandbox --dataset demo

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# The reliability soak run long (30 min at ~30 mentions/s with ~10 % faults); `make test` runs it for ~10 s.
soak: $(STAMP)
	ALEX_SOAK_SECONDS=1800 $(BIN)/pytest tests/reliability/test_soak.py -q -s

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
