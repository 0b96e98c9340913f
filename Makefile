# The two commands of the README: `make demo` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo demo-national test check bench system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Optional system parts from Debian: Chromium for the browser tests, nginx for the deploy check.
# Where they cannot be installed (no root, no apt), the tests that need them say so and skip.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium fonts-dejavu-core"; \
	command -v nginx >/dev/null 2>&1 || missing="$$missing nginx-light"; \
	if [ -n "$$missing" ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	  || echo "could not install$$missing: the tests that need them will be skipped"; fi

demo: $(STAMP)
	$(BIN)/kluis demo $(DEMO_ARGS)

demo-national: $(STAMP)
	$(BIN)/kluis demo --scale national

# One pytest worker per core (pytest-xdist, tests handed out one by one; session and module
# fixtures are built once per worker). Not --dist loadfile: it keys tests by node id, and the
# schemathesis cases share one node id, so all but one would silently not run.
test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q -n auto $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy kansenkluis secure indicators disclosure api benchmarks tests

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .kluis build *.egg-info
