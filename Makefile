# Two commands: `make demo` (install, load agreements/ into the embedded SQLite file,
# show them, check one transfer that fits and one that does not, issue two API tokens,
# serve the HTTP API) and `make test` (install, lint, run the suite on SQLite and PostgreSQL).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEMO_DATA := $(CURDIR)/.registry
DEMO_PORT ?= 8000

.PHONY: install demo test lint bench clean

# The compiled twins are rebuilt when their sources change (pip install -e builds them).
$(STAMP): pyproject.toml setup.py registry/engine/_records.pyx plugins/irc6103/_address.pyx
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: install
	REGISTRY_DATA_DIR=$(DEMO_DATA) $(BIN)/registry db upgrade
	REGISTRY_DATA_DIR=$(DEMO_DATA) $(BIN)/registry agreements lint agreements/
	REGISTRY_DATA_DIR=$(DEMO_DATA) $(BIN)/registry agreements load agreements/
	REGISTRY_DATA_DIR=$(DEMO_DATA) $(BIN)/registry agreements list
	REGISTRY_DATA_DIR=$(DEMO_DATA) $(BIN)/registry expiring --within 365
	REGISTRY_DATA_DIR=$(DEMO_DATA) $(BIN)/registry check examples/check-ice.json
	-REGISTRY_DATA_DIR=$(DEMO_DATA) $(BIN)/registry check examples/check-ice-zip-only.json
	REGISTRY_DATA_DIR=$(DEMO_DATA) $(BIN)/registry decisions verify
	@REGISTRY_DATA_DIR=$(DEMO_DATA) $(BIN)/registry tokens create --role admin --name "demo admin" > $(DEMO_DATA)/admin.token
	@REGISTRY_DATA_DIR=$(DEMO_DATA) $(BIN)/registry tokens create --role system --system irs-itin-address --name "demo ITIN system" > $(DEMO_DATA)/system.token
	@echo
	@echo "Loaded into $(DEMO_DATA)/registry.db. Tokens (shown once, kept here for the demo):"
	@echo "  admin:  $(DEMO_DATA)/admin.token    system irs-itin-address: $(DEMO_DATA)/system.token"
	@echo "Serving the API on http://127.0.0.1:$(DEMO_PORT) (Ctrl-C stops). In another terminal:"
	@echo '  curl -s -H "Authorization: Bearer $$(cat $(DEMO_DATA)/system.token)" \'
	@echo '       -H "Content-Type: application/json" -d @examples/check-ice.json http://127.0.0.1:$(DEMO_PORT)/v1/checks'
	@echo "  export REGISTRY_DATA_DIR=$(DEMO_DATA); . $(BIN)/activate; registry agreements show irs-ice-2025-mou"
	REGISTRY_DATA_DIR=$(DEMO_DATA) $(BIN)/registry serve --port $(DEMO_PORT)

lint: install
	$(BIN)/ruff check registry plugins tests benchmarks fuzz
	$(BIN)/mypy registry plugins fuzz

# Two test processes: the suite is mostly waiting on databases and subprocesses.
test: lint
	$(BIN)/python -m pytest -n 2

bench: install
	$(BIN)/python benchmarks/lint_load.py

clean:
	rm -rf $(VENV) $(DEMO_DATA) build *.egg-info
