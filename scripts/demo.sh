#!/usr/bin/env bash
# `make demo`: a fresh sandbox (small), two nightly runs with a day of business between them,
# then what a newcomer should look at. Uses its own warehouse (warehouse/demo.duckdb) and stops
# the sandbox whatever happens.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export DBT_SEND_ANONYMOUS_USAGE_STATS=false RUNTIME__DLTHUB_TELEMETRY=false
export P2C_SANDBOX_DIR="${P2C_SANDBOX_DIR:-.sandbox}"
export P2C_WAREHOUSE="${P2C_WAREHOUSE:-warehouse/p2c.duckdb}"
# the sandbox's documented default secret; a real tenant's goes in .dlt/secrets.toml
export SOURCES__CRM__CREDENTIALS__CLIENT_SECRET="${SOURCES__CRM__CREDENTIALS__CLIENT_SECRET:-p2c-sandbox-secret}"
export SOURCES__ERP__CREDENTIALS__CLIENT_SECRET="${SOURCES__ERP__CREDENTIALS__CLIENT_SECRET:-p2c-sandbox-secret}"

step() { printf '\n\033[1;36m== %s ==\033[0m\n' "$*"; }

step "reset the sandbox (small demo data) and a fresh warehouse"
$BIN/p2c sandbox down --dir "$P2C_SANDBOX_DIR" >/dev/null 2>&1 || true
$BIN/p2c sandbox reset --scale small --seed 42 --dir "$P2C_SANDBOX_DIR" || exit 1
rm -rf "$(dirname "$P2C_WAREHOUSE")"
$BIN/p2c sandbox up --dir "$P2C_SANDBOX_DIR" || exit 1
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
