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

# Mutation testing of the safety modules against the core tests, the safety
# document's checks and a smaller property run per mutant (the full 10,000 run
# in `make test`). The scenario tests add a CoolProp import to every mutant and
# cover the same checks through the simulator. No bytecode cache: a mutant of the
# same size written within the second would otherwise run the cached original.
MUTATE := firmware/supervisor.py,firmware/limits.py
MUTATION_TESTS := tests/core tests/host/test_valve_invariants.py tests/host/test_safety_doc.py

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

test: $(TEST_STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest -n auto --dist loadfile
	node tests/mpy/run.mjs

pytest: $(TEST_STAMP)
	$(BIN)/python -m pytest -n auto --dist loadfile

mpytest: $(NODE_STAMP)
	node tests/mpy/run.mjs

check: $(TEST_STAMP)
	$(BIN)/cryopen check

bench: $(STAMP) $(NODE_STAMP)
	$(BIN)/cryopen bench

mutation: $(TEST_STAMP)
	rm -f .mutmut-cache
	find . -name __pycache__ -not -path "./.venv/*" -prune -exec rm -rf {} +
	-PYTHONDONTWRITEBYTECODE=1 CRYOPEN_EXAMPLES=1000 $(BIN)/mutmut run --paths-to-mutate $(MUTATE) \
		--runner "$(BIN)/python -m pytest -x -q -p no:cacheprovider $(MUTATION_TESTS)"
	$(BIN)/python -m host_tools.quality.mutation_report

clean:
	rm -rf $(VENV) node_modules out
