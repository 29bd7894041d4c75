#!/usr/bin/env bash
# `make demo`: a fresh sandbox (small), two nightly runs with a day of business between them,
# then what a newcomer should look at. Stops the sandbox whatever happens.
#
# The demo has its own warehouse directory (P2C_DEMO_DIR, default warehouse/demo) and ignores
# P2C_WAREHOUSE / P2C_PIPELINES_DIR: it never reads or writes a user's warehouse. It marks the
# directory it creates (.p2c-demo) and on the next demo removes only the files it wrote there; it
# refuses to use a directory it did not create.
#   scripts/demo.sh --reset-warehouse   only that clean-up step (what the tests run)
#   ERP=business_central scripts/demo.sh   the same story with Business Central as the ERP
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export DBT_SEND_ANONYMOUS_USAGE_STATS=false RUNTIME__DLTHUB_TELEMETRY=false
export P2C_SANDBOX_DIR="${P2C_SANDBOX_DIR:-.sandbox}"
DEMO_DIR="${P2C_DEMO_DIR:-warehouse/demo}"
DEMO_MARK="$DEMO_DIR/.p2c-demo"
# what a run writes beside its warehouse (see p2c_core/settings.py): the only names the demo removes
DEMO_FILES=(p2c.duckdb p2c.duckdb.wal p2c.duckdb.lock p2c.duckdb.lock.json dlt_pipelines dbt_target dbt_logs)
export P2C_WAREHOUSE="$DEMO_DIR/p2c.duckdb"
unset P2C_PIPELINES_DIR

# an empty demo warehouse directory, touching nothing the demo did not create
reset_demo_warehouse() {
    if [ -e "$DEMO_DIR" ] && [ ! -f "$DEMO_MARK" ]; then
        if [ ! -d "$DEMO_DIR" ] || [ -n "$(ls -A "$DEMO_DIR")" ]; then
            echo "P2C_DEMO_DIR: $DEMO_DIR exists and was not created by the demo; not touching it (choose another P2C_DEMO_DIR)" >&2
            return 2
        fi
    fi
    mkdir -p "$DEMO_DIR" || { echo "P2C_DEMO_DIR: cannot create $DEMO_DIR" >&2; return 2; }
    touch "$DEMO_MARK"
    local name
    for name in "${DEMO_FILES[@]}"; do
        rm -rf -- "${DEMO_DIR:?}/$name"
    done
}

if [ "${1:-}" = "--reset-warehouse" ]; then
    reset_demo_warehouse
    exit $?
fi
# the sandbox's documented default secret; a real tenant's goes in .dlt/secrets.toml
export SOURCES__CRM__CREDENTIALS__CLIENT_SECRET="${SOURCES__CRM__CREDENTIALS__CLIENT_SECRET:-p2c-sandbox-secret}"
export SOURCES__ERP__CREDENTIALS__CLIENT_SECRET="${SOURCES__ERP__CREDENTIALS__CLIENT_SECRET:-p2c-sandbox-secret}"

step() { printf '\n\033[1;36m== %s ==\033[0m\n' "$*"; }

step "reset the sandbox (small demo data) and a fresh warehouse"
$BIN/p2c sandbox down --dir "$P2C_SANDBOX_DIR" >/dev/null 2>&1 || true
$BIN/p2c sandbox reset --scale small --seed 42 --dir "$P2C_SANDBOX_DIR" || exit 1
reset_demo_warehouse || exit 2
# the ERP the demo runs against: finops (default) or business_central (`make demo ERP=business_central`);
# the sandbox prints the settings that point p2c at it (P2C__ERP, SOURCES__ERP__*), which the demo adopts
up_out="$($BIN/p2c sandbox up --dir "$P2C_SANDBOX_DIR" --erp "${ERP:-finops}")" || { echo "$up_out"; exit 1; }
echo "$up_out"
eval "$(grep '^export ' <<<"$up_out")"
trap '$BIN/p2c sandbox down --dir "$P2C_SANDBOX_DIR" >/dev/null 2>&1' EXIT
$BIN/p2c sandbox status --dir "$P2C_SANDBOX_DIR"

step "first run: accounts reach the ERP, products and prices reach the CRM, orders reach the ERP"
$BIN/p2c run; echo "exit code $? (1 = some records wait or failed: see below)"

step "a day of business: sellers edit the CRM, the ERP confirms, ships and invoices orders"
$BIN/p2c sandbox activity --seed 42 --dir "$P2C_SANDBOX_DIR"

step "second run: order status and totals come back to the CRM, invoices reach the CRM"
$BIN/p2c run; echo "exit code $?"

step "conflicts: fields edited on both sides, settled by policy (owner wins) or open for a decision"
$BIN/p2c conflicts --all | head -40

step "quarantined records (dirty data the demo planted), with reasons"
$BIN/p2c quarantine | head -40

step "the last runs"
$BIN/p2c status

step "done"
echo "report: $(pwd)/reports/latest.html (open it in a browser; it works offline)"
echo "the demo's warehouse: P2C_WAREHOUSE=$P2C_WAREHOUSE $BIN/p2c status"
