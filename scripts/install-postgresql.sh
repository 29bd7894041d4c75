#!/usr/bin/env bash
# Install Debian's PostgreSQL server for the tests that run p2c on PostgreSQL (idempotent).
# Only the binaries are needed (the tests start their own server with initdb/pg_ctl in a temp
# directory): the packaged cluster is not used. Prints the directory holding initdb.
# Runs apt-get update only when the package is not known yet.
set -euo pipefail

find_bindir() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

if find_bindir; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show postgresql >/dev/null 2>&1; then
    $SUDO apt-get update -qq
fi
# util-linux: runuser, to run initdb/pg_ctl as the postgres user when the tests run as root
$SUDO apt-get install -y -qq --no-install-recommends postgresql util-linux >/dev/null
# the package starts a cluster of its own on port 5432; the tests do not use it
if command -v pg_ctlcluster >/dev/null 2>&1; then
    for cluster in $(pg_lsclusters -h 2>/dev/null | awk '{print $1"/"$2}'); do
        $SUDO pg_ctlcluster "${cluster%/*}" "${cluster#*/}" stop 2>/dev/null || true
    done
fi
find_bindir
