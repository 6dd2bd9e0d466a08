#!/usr/bin/env bash
# The whole test suite: lint, types, then pytest on SQLite and (when reachable) MariaDB.
# As root it installs missing system packages and starts MariaDB itself (07-precise-rules §12).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
bash scripts/bootstrap.sh
ensure_system_packages
ensure_node_packages
ensure_mariadb
export BEACHSAVER_TEST_MYSQL_URL=${BEACHSAVER_TEST_MYSQL_URL:-$(default_mysql_url)}
if [ -z "$BEACHSAVER_TEST_MYSQL_URL" ]; then
  if [ "${CI:-}" = "true" ]; then echo "CI=true but MariaDB is not reachable" >&2; exit 1; fi
  echo "note: MariaDB not reachable; running the SQLite half only" >&2
  unset BEACHSAVER_TEST_MYSQL_URL
fi
echo "== ruff"; .venv/bin/ruff check src tests
echo "== mypy"; .venv/bin/mypy
# Schemathesis over the whole OpenAPI document as every role, 25 examples per operation (07 §12),
# runs beside pytest at a lower priority and fills the CPU that pytest leaves idle (services
# starting, browsers, time-outs). Without a time budget it stops at 25 examples per operation;
# the coverage phase and the time-bounded deeper runs stay in `make drills`.
# BEACHSAVER_TEST_FUZZ=0 leaves it out (`make coverage` does).
fuzz_pid=""
if [ "${BEACHSAVER_TEST_FUZZ:-1}" != "0" ]; then
  fuzz_log=$(mktemp /tmp/beachsaver-test-fuzz.XXXXXX)
  echo "== schemathesis (every role, 25 examples per operation, beside pytest; log $fuzz_log)"
  setsid nice -n 10 .venv/bin/python scripts/fuzz.py --max-time 0 --phases examples,fuzzing,stateful \
    >"$fuzz_log" 2>&1 </dev/null &
  fuzz_pid=$!
  trap 'kill -- -"$fuzz_pid" 2>/dev/null || true' EXIT
fi
echo "== pytest"
# Two workers (the build machine has 2 cores); each test file runs on one worker. Line coverage
# costs about 40 % more CPU, so it is `make coverage` (this script with --cov arguments).
status=0
.venv/bin/pytest -q -p no:cacheprovider -n "${PYTEST_WORKERS:-2}" --dist loadfile --durations=25 "$@" || status=$?
if [ -n "$fuzz_pid" ]; then
  echo "== schemathesis (waiting for it to finish)"
  if wait "$fuzz_pid"; then
    grep -E "^== |generated,|^\{" "$fuzz_log" || true
    rm -f "$fuzz_log"
  else
    tail -n 200 "$fuzz_log"
    echo "schemathesis failed (whole log: $fuzz_log)" >&2
    status=1
  fi
  trap - EXIT
fi
exit "$status"
