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
echo "== pytest"
# Two workers (the build machine has 2 cores); each test file runs on one worker. Line coverage
# costs about 40 % more CPU, so it is `make coverage` (this script with --cov arguments).
.venv/bin/pytest -q -p no:cacheprovider -n "${PYTEST_WORKERS:-2}" --dist loadfile --durations=25 "$@"
