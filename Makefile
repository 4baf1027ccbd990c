# Two commands do all the set-up: `make sim` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: `make sim` installs what the simulation needs (`pip install -e .`),
# `make test` adds the test tools (the `test` extra: pytest, hypothesis, mutmut,
# mypy), so `make test` after `make sim` installs them.
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
NODE_STAMP := node_modules/.installed

.PHONY: sim test pytest mpytest bench mutation check clean

# Mutation testing of the safety core (host_tools/quality/mutation.py), each module
# in its own copy of the tree, one per core. Each mutant runs the core tests, the
# safety document's checks and 200 generated sequences (the full 10,000 run in
# `make test`; the scenario tests add a CoolProp import to every mutant and cover the
# same checks through the simulator). README, "Mutation testing".
MUTATE := firmware/pen.py firmware/supervisor.py firmware/tip_sensor.py firmware/regulator.py \
	firmware/thermistor.py firmware/limits.py firmware/app.py firmware/buttons.py \
	firmware/contact.py

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

sim: $(STAMP)
	$(BIN)/cryopen simulate

# The core tests under MicroPython run inside pytest
# (tests/host/test_micropython_suite.py), sharing the cores with the host tests.
test: $(TEST_STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest -n auto --dist loadfile

pytest: $(TEST_STAMP)
	$(BIN)/python -m pytest -n auto --dist loadfile

mpytest: $(NODE_STAMP)
	node tests/mpy/run.mjs

check: $(TEST_STAMP)
	$(BIN)/cryopen check

bench: $(STAMP) $(NODE_STAMP)
	$(BIN)/cryopen bench

mutation: $(TEST_STAMP)
	$(BIN)/python -m host_tools.quality.mutation $(MUTATE)

clean:
	rm -rf $(VENV) node_modules out build/mutation
