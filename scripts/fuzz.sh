#!/usr/bin/env bash
# API fuzzing drill (04-quality §3): Schemathesis over the whole OpenAPI document signed in as each
# role, on a throwaway instance with the demo data; non-zero exit on any 5xx, schema or content-type
# violation. Time budget per role: BEACHSAVER_FUZZ_SECONDS (default 120); examples per operation:
# BEACHSAVER_FUZZ_EXAMPLES (default 25). Extra arguments go to scripts/fuzz.py (--roles, --report-dir).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python scripts/fuzz.py "$@"
