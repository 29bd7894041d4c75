# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export RUNTIME__DLTHUB_TELEMETRY := false
export DO_NOT_TRACK := 1

.PHONY: demo test soak reliability install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,dagster]'
	touch $(STAMP)

test: $(STAMP)
	bash scripts/install-chromium.sh >/dev/null || echo "chromium could not be installed: the report's browser test will fail"
	bash scripts/install-postgresql.sh >/dev/null || echo "postgresql could not be installed: the tests on a PostgreSQL warehouse will fail"
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

# the reliability suite's long run: 30 simulated days, and the fault storm (tests/reliability/)
soak: $(STAMP)
	P2C_RELIABILITY_LONG=1 P2C_SOAK_DAYS=$${P2C_SOAK_DAYS:-30} $(BIN)/python -m pytest -n 2 --dist loadfile -q -s -m reliability tests/reliability/test_soak.py tests/reliability/test_fault_storm.py

# the crash-point chain, sandbox restart / token revocation and the secrets grep (tests/reliability/)
reliability: $(STAMP)
	$(BIN)/python -m pytest -q -m reliability tests/reliability/test_crash_resume.py

demo: $(STAMP)
	bash scripts/demo.sh

clean:
	rm -rf $(VENV) warehouse reports .sandbox target logs
