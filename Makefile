# Two commands for a newcomer: `make run` and `make test`. Only Python 3.11+ and pip needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: setup run test bench translations clean

$(BIN)/caremap: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## setup: create .venv and install caremap with its test tools
setup: $(BIN)/caremap

## run: build the embedded store from the bundled data, then serve http://127.0.0.1:5000
run: setup
	$(BIN)/caremap etl run
	$(BIN)/caremap serve --host $(HOST) --port $(PORT)

## test: lint, then the whole test suite (PostGIS and browser tests need CAREMAP_TEST_POSTGIS_URL and Chromium)
test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist worksteal $(PYTEST_ARGS)

## bench: benchmarks, printed as tables
bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) instance .pytest_cache

## translations: re-extract interface strings, merge them into the .po catalogues, compile .mo
translations: setup
	$(BIN)/pybabel -q extract -F babel.cfg -k _l --no-location --sort-output -o webmap/translations/messages.pot .
	$(BIN)/pybabel -q update -i webmap/translations/messages.pot -d webmap/translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel -q compile -d webmap/translations --statistics
