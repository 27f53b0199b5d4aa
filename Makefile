# Two commands: `make demo` (install, load agreements/ into the embedded SQLite file,
# show them, check one transfer that fits and one that does not) and `make test` (install, lint, run the suite on SQLite and PostgreSQL).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEMO_DATA := $(CURDIR)/.registry

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: install
	REGISTRY_DATA_DIR=$(DEMO_DATA) $(BIN)/registry agreements lint agreements/
	REGISTRY_DATA_DIR=$(DEMO_DATA) $(BIN)/registry agreements load agreements/
	REGISTRY_DATA_DIR=$(DEMO_DATA) $(BIN)/registry agreements list
	REGISTRY_DATA_DIR=$(DEMO_DATA) $(BIN)/registry expiring --within 365
	REGISTRY_DATA_DIR=$(DEMO_DATA) $(BIN)/registry check examples/check-ice.json
	-REGISTRY_DATA_DIR=$(DEMO_DATA) $(BIN)/registry check examples/check-ice-zip-only.json
	REGISTRY_DATA_DIR=$(DEMO_DATA) $(BIN)/registry decisions verify
	@echo
	@echo "Loaded into $(DEMO_DATA)/registry.db. Try:"
	@echo "  export REGISTRY_DATA_DIR=$(DEMO_DATA); . $(BIN)/activate"
	@echo "  registry agreements show irs-ice-2025-mou"

lint: install
	$(BIN)/ruff check registry plugins tests benchmarks
	$(BIN)/mypy registry plugins

test: lint
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/lint_load.py

clean:
	rm -rf $(VENV) $(DEMO_DATA) build *.egg-info
