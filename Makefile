# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export RUNTIME__DLTHUB_TELEMETRY := false
export DO_NOT_TRACK := 1

.PHONY: demo test reliability install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	bash scripts/install-chromium.sh >/dev/null || echo "chromium could not be installed: the report's browser test will fail"
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

reliability: $(STAMP)
	$(BIN)/python -m pytest -q -m reliability tests/reliability

demo: $(STAMP)
	bash scripts/demo.sh

clean:
	rm -rf $(VENV) warehouse reports .sandbox target logs
