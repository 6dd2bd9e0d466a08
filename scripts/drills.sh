#!/usr/bin/env bash
# Operational drills on a throwaway instance (07-precise-rules §12): the recovery drill on the
# demo data, the routine inspection, (on MariaDB) the point-in-time drill, the API fuzzing drill
# (scripts/fuzz.sh) and the soak (scripts/soak.py, BEACHSAVER_SOAK_SECONDS, default 600).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
work=$(mktemp -d /tmp/beachsaver-drills.XXXXXX)
trap 'rm -rf "$work"' EXIT
export BEACHSAVER_ENV=dev BEACHSAVER_DATA_DIR="$work/data" BEACHSAVER_WORKER_IN_PROCESS=false
bs=.venv/bin/beachsaver
echo "== recovery drill (SQLite)"
$bs seed-demo >/dev/null
$bs backup drill | tee "$work/drill.json"
grep -q '"verified": true' "$work/drill.json"
echo "== routine inspection"
$bs backup create >/dev/null
$bs ops check --skip-audit
if [ -n "${BEACHSAVER_TEST_MYSQL_URL:-}" ]; then
  echo "== point-in-time drill (private MariaDB)"
  .venv/bin/pytest -q -p no:cacheprovider tests/ops/test_pitr.py -k drill
fi
echo "== API fuzzing (Schemathesis, every role)"
bash scripts/fuzz.sh
echo "== soak (${BEACHSAVER_SOAK_SECONDS:-600} s of the field workload)"
BEACHSAVER_SOAK_SECONDS=${BEACHSAVER_SOAK_SECONDS:-600} .venv/bin/python scripts/soak.py
echo "drills passed"
