# Beach-Saver: the two commands a newcomer needs are `make run` and `make test`.
.PHONY: run test coverage drills setup lint fmt bench

HOST ?= 127.0.0.1
PORT ?= 8000

setup:
	@bash scripts/bootstrap.sh

## Start the service on its embedded default (SQLite, local files, demo data, dev outbox).
run: setup
	@.venv/bin/beachsaver demo --host $(HOST) --port $(PORT)

## Run the whole test suite (lint, types, pytest on SQLite and MariaDB).
test:
	@bash scripts/test.sh

## The same suite with line coverage (about 40 % slower), a report of the uncovered lines.
coverage:
	@BEACHSAVER_TEST_FUZZ=0 bash scripts/test.sh --cov=beachsaver --cov-report=term:skip-covered

## Operational drills: recovery drill, inspection, point-in-time drill on MariaDB.
drills:
	@bash scripts/drills.sh

## Benchmarks of 04-quality (bench/): one JSON line each, appended to bench/results/<date>.json.
## BENCH_ARGS="--scale 10" for bigger runs, "--only api_load" for one; MariaDB at 127.0.0.1:3306 (else SQLite).
bench: setup
	@.venv/bin/python -m bench $(BENCH_ARGS)

lint: setup
	@.venv/bin/ruff check src tests && .venv/bin/mypy

fmt: setup
	@.venv/bin/ruff check --fix src tests && .venv/bin/ruff format src tests
