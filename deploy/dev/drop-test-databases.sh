#!/usr/bin/env bash
# Drops the databases earlier test runs left behind (each test creates its own docket_test_*).
set -euo pipefail
psql -h 127.0.0.1 -U postgres -d postgres -tAc \
  "SELECT datname FROM pg_database WHERE datname LIKE 'docket\_test\_%' OR datname LIKE 'docket\_bench\_%'" |
  while read -r db; do
    [[ -n $db ]] && psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
  done
rm -rf "${TMPDIR:-/tmp}/docket-tests"
