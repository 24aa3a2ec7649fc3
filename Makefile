# The README's commands. `make demo` and `make test` install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint bench ui clean

install: $(STAMP)

# Reinstall only when the dependency list changes; the package itself is editable.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e ".[dev]"
	@touch $(STAMP)

demo: install
	$(BIN)/fastcart demo

# Two workers (pytest-xdist), each with its own Sail engine and broker: the suite waits on
# brokers, subprocesses and Dagster's storage as much as it computes. TEST_WORKERS=0: serial.
TEST_WORKERS ?= 2

test: install
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

# The edit-test loop: everything but the slow and fault-injection tests (see README).
test-fast: install
	$(BIN)/pytest -m "not slow and not faults" -n $(TEST_WORKERS) --dist worksteal

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The figures of benchmarks/RESULTS.md (about 10 minutes): one day with its JVM ratio and the
# history series, the same day on a two-worker Sail cluster, then 50k / 200k / 1M events.
bench: install
	$(BIN)/fastcart bench
	$(BIN)/python benchmarks/cluster.py --json benchmarks/cluster.json
	$(BIN)/python benchmarks/linearity.py --sizes 50000,200000,1000000

ui: install
	$(BIN)/fastcart ui

clean:
	rm -rf $(VENV) .fastcart .dagster_home lakehouse
