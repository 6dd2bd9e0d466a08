"""Commands for ``beachsaver``: ``worker``, ``notifications retry`` and the
``deliver-notifications`` job. Wire them in ``beachsaver.cli``::

    from beachsaver.worker.cli import notifications_app, worker_command
    app.command("worker")(worker_command)
    app.add_typer(notifications_app, name="notifications")
"""

from __future__ import annotations

import typer

from beachsaver.config import ConfigError, Settings, load_settings

notifications_app = typer.Typer(help="Notification outbox tools.", no_args_is_help=True)


@notifications_app.callback()
def _notifications() -> None:
    """Notification outbox tools."""


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def worker_command(
    interval: float = typer.Option(None, help="seconds between rounds (default BEACHSAVER_WORKER_INTERVAL_S or 5)"),
) -> None:
    """Deliver queued notifications until SIGTERM (several workers may run on MariaDB/MySQL)."""
    from beachsaver.worker.loop import run_worker

    settings = _settings()
    typer.echo(f"Beach-Saver worker ({settings.env}): delivering the notification outbox; SIGTERM stops it")
    run_worker(settings, interval=interval)


@notifications_app.command("retry")
def retry(delivery_id: int = typer.Option(None, "--id", help="re-queue only this delivery")) -> None:
    """Re-queue DEAD deliveries (all, or one with --id)."""
    from beachsaver.core import errors
    from beachsaver.core.db import session_scope
    from beachsaver.core.runtime import build_runtime
    from beachsaver.notifications.delivery import retry_dead

    runtime = build_runtime(_settings())
    try:
        with session_scope(runtime.session_factory) as db:
            count = retry_dead(db, delivery_id)
    except errors.NotFound:
        typer.echo(f"no delivery {delivery_id}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.engine.dispose()
    typer.echo(f"re-queued {count} dead deliver{'y' if count == 1 else 'ies'}")


def deliver_notifications_job(settings: Settings) -> int:
    """The ``deliver-notifications`` job: deliver everything due once; returns the attempts."""
    from beachsaver.core.runtime import build_runtime
    from beachsaver.worker.loop import tick

    runtime = build_runtime(settings)
    try:
        return tick(runtime)
    finally:
        runtime.engine.dispose()
