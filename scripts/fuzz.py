"""API fuzzing drill (04-quality §3): Schemathesis over the whole OpenAPI document, signed in as
each role, with the checks ``not_a_server_error``, ``response_schema_conformance`` and
``content_type_conformance``.

The demo data is built once (migrations, Busan demo accounts, a few reports, depots, images and an
incident made through the API), then every role fuzzes its own copy of it on a fresh service, so
that what one role changes (a suspended account, a closed incident) never blurs another's run.
Each role signs in through the real flow (password + code for admins, phone + code otherwise;
codes read from the dev outbox) and runs ``schemathesis run`` bounded by ``--max-time`` (under a
time budget Schemathesis keeps drawing cases until it is spent; with ``--max-time 0`` each phase
stops at ``--examples`` per operation, as the test command runs it).

Exit status: 0 when every role ran clean, 1 otherwise. A JSON summary is printed last.

    .venv/bin/python scripts/fuzz.py [--roles platform,city] [--max-time 60] [--examples 25]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from drillkit import BIN, ROLE_PHONES, copy_data_dir, prepare_data_dir, prime, running_service, sign_in

CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"
#: Left out of every run: ending the caller's own session would turn the rest of the run into 401s
#: (sign-out has its own tests in tests/auth).
EXCLUDED = [("POST", "/api/auth/logout")]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--roles", default=",".join(ROLE_PHONES), help="comma-separated roles (default: all seven)")
    parser.add_argument(
        "--max-time",
        type=int,
        default=int(os.environ.get("BEACHSAVER_FUZZ_SECONDS", "120")),
        help="time budget per role in seconds (env BEACHSAVER_FUZZ_SECONDS, default 120); 0: none, each phase stops "
        "at --examples per operation (the test command's run)",
    )
    parser.add_argument(
        "--examples",
        type=int,
        default=int(os.environ.get("BEACHSAVER_FUZZ_EXAMPLES", "25")),
        help="examples per operation (env BEACHSAVER_FUZZ_EXAMPLES, default 25)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--workers", default="1", help="schemathesis workers (default 1: its coverage phase is not thread-safe on 3.11)"
    )
    parser.add_argument("--phases", default=None, help="schemathesis phases (default: its own)")
    parser.add_argument("--report-dir", type=Path, default=None, help="keep JUnit reports and logs here")
    parser.add_argument("--include-path-regex", default=None, help="only operations whose path matches")
    return parser.parse_args(argv)


def schemathesis_command(base_url: str, token: str, args: argparse.Namespace, report_dir: Path) -> list[str]:
    command = [
        str(BIN / "schemathesis"),
        "run",
        f"{base_url}/openapi.json",
        "--url",
        base_url,
        "-H",
        f"Authorization: Bearer {token}",
        "-n",
        str(args.examples),
        "--seed",
        str(args.seed),
        "--no-color",
        "-c",
        CHECKS,
        "--workers",
        str(args.workers),
        "--request-timeout",
        "60",
        "--report",
        "junit",
        "--report-dir",
        str(report_dir),
    ]
    if args.max_time > 0:
        command += ["--max-time", str(args.max_time)]
    if args.phases:
        command += ["--phases", args.phases]
    if args.include_path_regex:
        command += ["--include-path-regex", args.include_path_regex]
    for method, path in EXCLUDED:
        command += ["--exclude-name", f"{method} {path}"]
    return command


def run_role(role: str, template: Path, work: Path, args: argparse.Namespace) -> dict[str, object]:
    data_dir = copy_data_dir(template, work / role / "data")
    report_dir = (args.report_dir or work) / role
    report_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with running_service(data_dir, log_path=report_dir / "service.log") as service:
        with httpx.Client(base_url=service.base_url, timeout=30) as client:
            token = sign_in(client, role)
        print(f"== {role}: schemathesis against {service.base_url} (≤ {args.max_time} s)", flush=True)
        command = schemathesis_command(service.base_url, token, args, report_dir)
        result = subprocess.run(command, check=False, cwd=work)  # its cache (.schemathesis/) stays in the scratch dir
        with httpx.Client(base_url=service.base_url, timeout=30) as client:
            still_signed_in = client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"}).status_code
        alive = service.process.poll() is None
    return {
        "role": role,
        "exit_code": result.returncode,
        "seconds": round(time.monotonic() - started, 1),
        "signed_in_at_end": still_signed_in == 200,
        "service_alive": alive,
        "server_errors": server_errors(report_dir / "service.log"),
        "report": str(report_dir),
    }


def server_errors(log_path: Path, limit: int = 5) -> list[str]:
    """The service's ERROR log lines, each as its message and the exception's last line."""
    found: list[str] = []
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return found
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("level") == "ERROR":
            exception = (entry.get("exception") or "").strip().splitlines()
            found.append(f"{entry.get('message', '')} {exception[-1] if exception else ''}".strip()[:300])
    return found[:limit]


def run_role_safely(role: str, template: Path, work: Path, args: argparse.Namespace) -> dict[str, object]:
    try:
        return run_role(role, template, work, args)
    except Exception as exc:  # a service that did not start, a sign-in that failed: this role failed
        return {"role": role, "exit_code": -1, "error": f"{type(exc).__name__}: {exc}"[:2000], "service_alive": False}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    unknown = set(roles) - set(ROLE_PHONES)
    if unknown:
        print(f"unknown roles: {', '.join(sorted(unknown))} (known: {', '.join(ROLE_PHONES)})", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="beachsaver-fuzz.") as tmp:
        work = Path(tmp)
        template = work / "template"
        print("== building the demo data", flush=True)
        prepare_data_dir(template)
        with running_service(template, log_path=work / "prime.log") as service:
            made = prime(service.base_url)
        print(f"   made {json.dumps(made)}", flush=True)
        results = [run_role_safely(role, template, work, args) for role in roles]
    failed = [r["role"] for r in results if r["exit_code"] != 0 or not r["service_alive"]]
    summary = {"name": "fuzz", "checks": CHECKS.split(","), "examples": args.examples, "max_time_s": args.max_time}
    print(json.dumps({**summary, "roles": results, "failed": failed}, ensure_ascii=False))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
