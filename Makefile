# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi

.PHONY: run test lint bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

## run: install, migrate, load the demo data and start the back office on http://127.0.0.1:5000
run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) demo seed
	EMBEDDED_WORKER=1 $(FLASK) run --host 127.0.0.1 --port 5000

## test: install with the dev extra and run the whole suite (ruff, mypy, import contracts, then pytest)
test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## lint: the static checks alone (ruff, mypy, import contracts)
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
