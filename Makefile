# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ERP ?= finops

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export RUNTIME__DLTHUB_TELEMETRY := false
export DO_NOT_TRACK := 1

.PHONY: demo test soak reliability scale-check install clean

install: $(STAMP)

SANDBOX := packages/p2c-sandbox

# p2c and, beside it, the sandbox: its own distribution (p2c-sandbox), never a dependency of p2c;
# installed, it plugs `p2c sandbox …` into the CLI
$(STAMP): pyproject.toml $(SANDBOX)/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,dagster]' -e $(SANDBOX)
	touch $(STAMP)

test: $(STAMP)
	bash scripts/install-chromium.sh >/dev/null || echo "chromium could not be installed: the report's browser test will fail"
	bash scripts/install-postgresql.sh >/dev/null || echo "postgresql could not be installed: the tests on a PostgreSQL warehouse will fail"
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

# the reliability suite's long runs (tests/reliability/, pytest marker `reliability`): 30 simulated
# days of the small tenant, and the fault storm with its exhausted-retries phase; the rest of the
# suite (crash chain, concurrent edits, chaos, properties, secrets) runs in `make test`
soak: $(STAMP)
	mkdir -p reports && rm -f reports/soak.txt
	P2C_RELIABILITY_LONG=1 P2C_SOAK_DAYS=$${P2C_SOAK_DAYS:-30} P2C_SOAK_SCALE=$${P2C_SOAK_SCALE:-small} P2C_FIGURES=reports/soak.txt \
		$(BIN)/python -m pytest -n 2 --dist loadfile -q -m "" tests/reliability/test_soak.py tests/reliability/test_fault_storm.py; \
		status=$$?; cat reports/soak.txt; exit $$status

# the whole reliability suite alone, with its figures printed (crash points, concurrent edits, chaos,
# a 3-day soak of tiny, the storm),
# and `p2c watch` carrying a CRM edit to the ERP within two cycles (tests/run/test_watch.py)
reliability: $(STAMP)
	mkdir -p reports && rm -f reports/reliability.txt
	P2C_FIGURES=reports/reliability.txt $(BIN)/python -m pytest -n 2 --dist loadfile -q -m "" tests/reliability tests/run/test_watch.py; \
		status=$$?; cat reports/reliability.txt; exit $$status

# correctness at scale (tests/scale/, pytest marker `scale`): the `medium` demo tenant synced until
# a run writes nothing, reconciled, a quiet run that skips dbt, a day of activity carried across and
# converged again, the incremental models against a full refresh; a few minutes, so not in `make test`
scale-check: $(STAMP)
	$(BIN)/python -m pytest -q -m scale --durations=5 tests/scale

# `make demo ERP=business_central`: the same story with Business Central as the ERP (default: F&O)
demo: $(STAMP)
	ERP=$(ERP) bash scripts/demo.sh

clean:
	rm -rf $(VENV) warehouse reports .sandbox target logs
