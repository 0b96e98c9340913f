# The two commands of the README: `make demo` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo demo-national test check bench browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Optional system parts: Chromium for the browser tests, Pango for WeasyPrint PDFs.
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  (apt-get update -qq && apt-get install -y -qq chromium fonts-dejavu-core >/dev/null) \
	  || echo "chromium could not be installed: browser tests will be skipped"; fi

demo: $(STAMP)
	$(BIN)/kluis demo $(DEMO_ARGS)

demo-national: $(STAMP)
	$(BIN)/kluis demo --scale national

test: $(STAMP) browser
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy secure disclosure api

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .kluis build *.egg-info
