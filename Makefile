# Two commands for a newcomer: `make run` and `make test`. Only Python 3.11+ and pip needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
LOCK := requirements/lock.txt
RUNTIME_LOCK := requirements/runtime.txt
# Every platform, Python 3.11 and newer (the Dockerfile's and CI's is 3.11), with hashes.
UV_COMPILE := --quiet --universal --fork-strategy fewest --python-version 3.11 --generate-hashes

.PHONY: setup lock run test bench screenshots translations clean

$(BIN)/caremap: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	touch $@

## setup: create .venv and install caremap with its test tools, at the versions in $(LOCK)
setup: $(BIN)/caremap

## lock: resolve pyproject.toml's dependencies again (uv), keeping the locked versions that still
## fit; LOCK_ARGS=--upgrade takes the newest of everything. $(LOCK) has the test tools too,
## $(RUNTIME_LOCK) (the Docker image's) the same versions without them
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile $(UV_COMPILE) $(LOCK_ARGS) --extra test --output-file $(LOCK) pyproject.toml
	$(BIN)/uv pip compile $(UV_COMPILE) --constraint $(LOCK) --output-file $(RUNTIME_LOCK) pyproject.toml

## run: build the embedded store from the bundled data, then serve http://127.0.0.1:5000
run: setup
	$(BIN)/caremap etl run
	$(BIN)/caremap serve --host $(HOST) --port $(PORT)

## test: lint, then the whole test suite (PostGIS and browser tests need CAREMAP_TEST_POSTGIS_URL and Chromium)
test: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo --no-cache
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist worksteal $(PYTEST_ARGS)

## bench: benchmarks, printed as tables
bench: setup
	$(BIN)/python -m bench

## screenshots: take the README's screenshots (docs/screenshots/) again, on the bundled data
screenshots: setup
	$(BIN)/python -m scripts.screenshots

clean:
	rm -rf $(VENV) instance .pytest_cache

## translations: re-extract interface strings, merge them into the .po catalogues, compile .mo
translations: setup
	$(BIN)/pybabel -q extract -F babel.cfg -k _l --no-location --sort-output -o webmap/translations/messages.pot .
	$(BIN)/pybabel -q update -i webmap/translations/messages.pot -d webmap/translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel -q compile -d webmap/translations --statistics
