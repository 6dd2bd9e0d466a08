"""The ``beachsaver`` command."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from beachsaver.config import ConfigError, Settings, load_settings

app = typer.Typer(help="Beach-Saver: marine litter clean-up operations platform.", no_args_is_help=True)
audit_app = typer.Typer(help="Audit log tools.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
backup_app = typer.Typer(help="Backups: create, list, verify, restore, prune, drill.", no_args_is_help=True)
app.add_typer(backup_app, name="backup")
jobs_app = typer.Typer(help="Scheduled jobs.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
ops_app = typer.Typer(help="Operations: maintenance mode, kill switches, inspections.", no_args_is_help=True)
app.add_typer(ops_app, name="ops")
from beachsaver.worker.cli import notifications_app, worker_command  # noqa: E402

app.command("worker")(worker_command)
app.add_typer(notifications_app, name="notifications")
feature_app = typer.Typer(help="Per-feature kill switches.", no_args_is_help=True)
ops_app.add_typer(feature_app, name="feature")


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes (MariaDB/MySQL only above 1)")] = 1,
    drain_s: Annotated[
        float, typer.Option(help="on SIGTERM, answer /health/ready 503 this long before stopping")
    ] = 0.0,
) -> None:
    """Start the API, the admin console and the worker app."""
    import uvicorn

    settings = _settings()
    from beachsaver.core.db import is_sqlite

    if workers > 1 and is_sqlite(settings.resolved_database_url):
        typer.echo("Several worker processes need MariaDB/MySQL; SQLite runs one.", err=True)
        raise typer.Exit(2)
    base = f"http://{host}:{port}"
    typer.echo(f"Beach-Saver {settings.env} on {base}  (console {base}/admin, app {base}/app, API docs {base}/docs)")
    if workers > 1:
        from beachsaver.core.server import serve_workers

        raise typer.Exit(serve_workers("beachsaver.asgi:app", host, port, workers, drain_s=drain_s))
    from beachsaver.app import create_app
    from beachsaver.core.server import DrainingServer

    application = create_app(settings, configure_logging=True)
    config = uvicorn.Config(application, host=host, port=port, log_level="warning", timeout_graceful_shutdown=20)
    DrainingServer(config, application, drain_s=drain_s).run()


@app.command()
def migrate(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply database migrations."""
    from beachsaver.core.migrate import upgrade

    settings = _settings()
    upgrade(settings.resolved_database_url, revision)
    typer.echo("migrations applied")


@app.command("seed-demo")
def seed_demo(
    scale: Annotated[
        int, typer.Option(help="also generate years of history up to N reports (bulk; for benchmarks)")
    ] = 0,
) -> None:
    """Load the Busan demo data (idempotent); --scale N tops the generated history up to N reports."""
    from beachsaver.app import startup_tasks
    from beachsaver.core.db import session_scope
    from beachsaver.core.runtime import build_runtime
    from beachsaver.demo import seed

    settings = _settings()
    if not settings.demo_data_enabled:
        typer.echo("BEACHSAVER_DEMO_DATA is a dev-only feature: demo accounts have known passwords", err=True)
        raise typer.Exit(2)
    runtime = build_runtime(settings)
    startup_tasks(runtime)
    with session_scope(runtime.session_factory) as db:
        summary = seed.seed_demo(db, scale=scale)
    typer.echo(summary)
    if scale > 0:
        from beachsaver.demo import scale as generator

        typer.echo(str(generator.generate(runtime, scale)))


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
) -> None:
    """Migrate, load the demo data and serve: what the README's first command runs."""
    from beachsaver.demo import seed

    # Commands called as functions: their options are Annotated so that the Python defaults are
    # real values (a plain ``typer.Option(...)`` default is an OptionInfo object outside typer).
    migrate()
    seed_demo()
    typer.echo(seed.demo_accounts_text(f"http://{host}:{port}"))
    serve(host=host, port=port)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the sealed audit chain; exit 1 naming every edited or removed entry."""
    from beachsaver.audit.service import verify_chain
    from beachsaver.core.db import session_scope
    from beachsaver.core.runtime import build_runtime

    runtime = build_runtime(_settings())
    with session_scope(runtime.session_factory) as db:
        result = verify_chain(db)
    for problem in result.problems:
        typer.echo(problem)
    if result.unsealed:
        typer.echo(f"{result.unsealed} entries not sealed yet (the worker seals them within seconds)")
    typer.echo(f"checked {result.checked} entries: {'OK' if result.ok else 'TAMPERED'}")
    raise typer.Exit(0 if result.ok else 1)


@audit_app.command("export")
def audit_export(
    from_: str = typer.Option(None, "--from", help="ISO 8601 with offset (inclusive)"),
    to: str = typer.Option(None, "--to", help="ISO 8601 with offset (exclusive)"),
    out: str = typer.Option(None, "--out", help="folder for the package (default $DATA_DIR/evidence)"),
) -> None:
    """Write the audit evidence package (.tar.gz) for the period and print its path."""
    from datetime import datetime
    from pathlib import Path

    from beachsaver.ops.evidence import export_audit

    def parse(value: str | None, name: str) -> datetime | None:
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            typer.echo(f"--{name} is not ISO 8601", err=True)
            raise typer.Exit(2) from None
        if parsed.tzinfo is None:
            typer.echo(f"--{name} needs an offset (e.g. +09:00)", err=True)
            raise typer.Exit(2)
        return parsed

    path = export_audit(_runtime(), parse(from_, "from"), parse(to, "to"), Path(out) if out else None)
    typer.echo(str(path))


def _runtime():  # type: ignore[no-untyped-def]
    from beachsaver.core.runtime import build_runtime

    return build_runtime(_settings())


@jobs_app.command("list")
def jobs_list() -> None:
    """List the scheduled jobs and how often they run."""
    from beachsaver.ops import tasks  # noqa: F401 - registers the jobs
    from beachsaver.ops.jobs import REGISTRY

    for spec in sorted(REGISTRY.values(), key=lambda s: s.name):
        typer.echo(f"{spec.name:<24} every {spec.every_s:>8}s  {spec.description}")


@jobs_app.command("run")
def jobs_run(name: str) -> None:
    """Run one job now and record it (exit 1 when it fails)."""
    from beachsaver.ops import tasks  # noqa: F401 - registers the jobs
    from beachsaver.ops.jobs import REGISTRY, run

    if name not in REGISTRY:
        typer.echo(f"unknown job {name!r}; one of: {', '.join(sorted(REGISTRY))}", err=True)
        raise typer.Exit(2)
    result = run(_runtime(), name)
    typer.echo(
        f"{result.job}: {result.outcome} rows={result.rows} {result.seconds:.2f}s"
        + (f" error={result.error}" if result.error else "")
    )
    raise typer.Exit(0 if result.outcome == "SUCCESS" else 1)


@ops_app.command("maintenance")
def ops_maintenance(
    state: str = typer.Argument(..., help="on or off"),
    read_only: bool = typer.Option(False, "--read-only", help="refuse writes only"),
    message: str = typer.Option(None, help="notice shown to users"),
) -> None:
    """Switch maintenance mode; every replica follows within 5 s."""
    from beachsaver.core.db import session_scope
    from beachsaver.ops.switches import set_maintenance

    if state not in ("on", "off"):
        typer.echo("state must be 'on' or 'off'", err=True)
        raise typer.Exit(2)
    with session_scope(_runtime().session_factory) as db:
        set_maintenance(db, on=state == "on", read_only=read_only, message=message)
    typer.echo(f"maintenance {state}{' (read-only)' if read_only and state == 'on' else ''}")


@ops_app.command("check")
def ops_check(skip_audit: bool = typer.Option(False, "--skip-audit", help="skip the dependency audit")) -> None:
    """Run the routine inspection; writes a dated record; exit 1 when an item fails."""
    from beachsaver.ops.check import run_check

    record, path = run_check(_runtime(), audit_dependencies=not skip_audit)
    typer.echo(record.markdown)
    typer.echo(f"record: {path}")
    raise typer.Exit(0 if record.ok else 1)


@feature_app.command("off")
def feature_off(name: str, message: str = typer.Option(None, help="notice shown to users")) -> None:
    """Switch a feature off (signup, sync, import, export, upload, broadcast)."""
    _feature(name, False, message)


@feature_app.command("on")
def feature_on(name: str) -> None:
    """Switch a feature back on."""
    _feature(name, True, None)


def _feature(name: str, enabled: bool, message: str | None) -> None:
    from beachsaver.core.db import session_scope
    from beachsaver.ops.switches import set_feature

    try:
        with session_scope(_runtime().session_factory) as db:
            set_feature(db, name, enabled=enabled, message=message)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(f"feature {name} {'on' if enabled else 'off'}")


TargetOption = typer.Option(None, "--target", help="directory or s3://bucket/prefix (default BEACHSAVER_BACKUP_DIR)")


def _backup_call(func: Any, *args: Any, **kwargs: Any) -> Any:
    from beachsaver.ops.backup import BackupError

    try:
        return func(*args, **kwargs)
    except (BackupError, FileNotFoundError, KeyError) as exc:
        typer.echo(f"backup: {exc}", err=True)
        raise typer.Exit(1) from None


@backup_app.command("create")
def backup_create(
    label: str = typer.Option("auto", help="auto | milestone | regulated"), target: str = TargetOption
) -> None:
    """Dump the database and the stored images into one checksummed backup set."""
    from beachsaver.ops import backup

    info = _backup_call(backup.create, _settings(), label=label, target=target)
    typer.echo(f"{info.id} {info.label} {info.size} {info.status}")


@backup_app.command("list")
def backup_list(target: str = TargetOption) -> None:
    """One backup a line: ID LABEL SIZE STATUS."""
    from beachsaver.ops import backup

    for info in _backup_call(backup.list_backups, _settings(), target):
        typer.echo(f"{info.id} {info.label} {info.size} {info.status}")


@backup_app.command("verify")
def backup_verify(backup_id: str, target: str = TargetOption) -> None:
    """Recompute every checksum; exit 1 naming each changed file."""
    from beachsaver.ops import backup

    problems = _backup_call(backup.verify, _settings(), backup_id, target)
    for problem in problems:
        typer.echo(problem)
    typer.echo(f"{backup_id}: {'OK' if not problems else 'CORRUPT'}")
    raise typer.Exit(0 if not problems else 1)


@backup_app.command("restore")
def backup_restore(
    backup_id: str,
    to: str = typer.Option(..., "--to", help="database URL to restore into (must be empty)"),
    to_storage: str = typer.Option(None, "--to-storage", help="storage URL for the images (default: configured)"),
    force: bool = typer.Option(False, "--force", help="overwrite a database or storage that is not empty"),
    until: str = typer.Option(
        None,
        "--until",
        help="MariaDB/MySQL: then replay the archived binary logs up to this instant "
        "(ISO 8601 with offset, e.g. 2026-11-26T12:03:00+09:00; 'latest' = everything archived)",
    ),
    target: str = TargetOption,
) -> None:
    """Restore a backup into a new database (and storage); with --until, to a point in time."""
    from beachsaver.ops import backup

    if until is not None:
        from beachsaver.ops import pitr

        try:
            instant = pitr.parse_until(until)
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        result = _backup_call(
            pitr.restore_until, _settings(), backup_id, to, instant, target=target, to_storage=to_storage, force=force
        )
        typer.echo(
            f"restored {result['backup']}: {result['objects']} objects, replayed {len(result['binlogs'])} binary "
            f"log(s) up to {result['until']} (last commit {result['last_commit_at'] or 'none'}) "
            f"in {result['seconds']} s"
        )
        return
    result = _backup_call(backup.restore, _settings(), backup_id, to, target=target, to_storage=to_storage, force=force)
    typer.echo(f"restored {result['backup']}: {result['objects']} objects in {result['seconds']} s")


@backup_app.command("binlog-archive")
def backup_binlog_archive(
    target: str = TargetOption,
    once: bool = typer.Option(False, "--once", help="copy the closed logs now and exit (cron / worker job)"),
    flush: bool = typer.Option(True, "--flush/--no-flush", help="with --once: FLUSH BINARY LOGS first"),
    poll: float = typer.Option(2.0, "--poll", help="streaming: seconds between publications"),
) -> None:
    """Archive the MariaDB/MySQL binary logs into <target>/binlogs/ for point-in-time restore:
    streaming until SIGTERM (mysqlbinlog --stop-never), or once with --once."""
    import signal
    import threading

    from beachsaver.ops import pitr

    settings = _settings()
    if once:
        count = _backup_call(pitr.archive_binlogs, settings, target, flush=flush)
        typer.echo(f"archived {count} binary log file(s)")
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    typer.echo("streaming the binary logs; SIGTERM stops")
    count = _backup_call(pitr.stream_binlogs, settings, target, stop=stop, poll_s=poll)
    typer.echo(f"published {count} binary log update(s)")


@backup_app.command("binlog-prune")
def backup_binlog_prune(target: str = TargetOption) -> None:
    """Delete archived binary logs older than the oldest backup of the last 14 days needs."""
    from beachsaver.ops import pitr

    for name in _backup_call(pitr.prune_binlogs, _settings(), target):
        typer.echo(f"removed {name}")


@backup_app.command("pitr-drill")
def backup_pitr_drill(
    target: str = TargetOption,
    mode: str = typer.Option("job", help="job: archive every --interval s; stream: the streaming archiver"),
    interval: float = typer.Option(60.0, help="job mode: seconds between archive runs (as scheduled)"),
    cycles: int = typer.Option(1, help="job mode: archive runs before the server is lost"),
    seconds: float = typer.Option(10.0, help="stream mode: seconds of writing"),
) -> None:
    """RPO drill: write continuously, archive, lose the server, restore the latest point into a
    scratch database; records the measured data-loss window in $DATA_DIR/drills/."""
    import json as _json

    from beachsaver.ops import pitr

    if mode not in ("job", "stream"):
        typer.echo("--mode must be job or stream", err=True)
        raise typer.Exit(2)
    record = _backup_call(
        pitr.pitr_drill, _settings(), target, mode=mode, interval_s=interval, cycles=cycles, seconds=seconds
    )
    typer.echo(_json.dumps(record, indent=2))
    raise typer.Exit(0 if record["within_target"] else 1)


@backup_app.command("prune")
def backup_prune(target: str = TargetOption) -> None:
    """Delete backups past their retention (auto 14 days, milestone 1 year, regulated 5 years)."""
    from beachsaver.ops import backup

    for backup_id in _backup_call(backup.prune, _settings(), target):
        typer.echo(f"removed {backup_id}")


@backup_app.command("drill")
def backup_drill(target: str = TargetOption) -> None:
    """Back up, restore into scratch, compare every table and object; record the measured RTO."""
    import json as _json

    from beachsaver.ops import backup

    record = _backup_call(backup.drill, _settings(), target)
    typer.echo(_json.dumps(record, indent=2))
    raise typer.Exit(0 if record["verified"] else 1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
