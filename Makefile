# Two commands do all the set-up: `make sim` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: sim test pytest mpytest bench mutation check clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

sim: $(STAMP)
	$(BIN)/cryopen simulate

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest
	node tests/mpy/run.mjs

pytest: $(STAMP)
	$(BIN)/python -m pytest

mpytest: $(NODE_STAMP)
	node tests/mpy/run.mjs

clean:
	rm -rf $(VENV) node_modules out
