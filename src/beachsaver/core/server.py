"""Uvicorn server with a graceful drain: on SIGTERM readiness turns 503 first, then uvicorn
stops accepting, finishes in-flight requests and exits (safe blue/green and rolling deploys).

Several worker processes behind one port (``serve_workers``): each process listens on a socket
of its own, all bound to the port with ``SO_REUSEPORT``, so that the kernel spreads the
connections evenly over the processes (D45).

Also the admission limit of each process (``AdmissionLimit``): at most a few requests are inside
the application at once, the others wait for their turn on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
from types import FrameType
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.config import STARTUP_FAILURE
from uvicorn.importer import import_from_string

log = logging.getLogger("beachsaver.server")

#: How long a request may wait for its turn before it is refused (503 with Retry-After). Below
#: the clients' own time-outs (30 s), so that an overloaded process answers rather than drops.
QUEUE_TIMEOUT_S = 20.0
#: Paths outside the limit: probes must answer while the process is saturated.
UNLIMITED_PREFIXES = ("/health", "/metrics")


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, application: Any, drain_s: float) -> None:
        super().__init__(config)
        self.application = application
        self.drain_s = drain_s
        self._draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        state = getattr(self.application, "state", None)
        if state is not None:
            state.draining = True
        if self.drain_s > 0 and not self._draining:
            self._draining = True
            threading.Timer(self.drain_s, super().handle_exit, args=(sig, frame)).start()
            return
        super().handle_exit(sig, frame)


class AdmissionLimit:
    """Lets at most ``limit`` requests into the application at once; the rest queue here.

    A request holds its pooled connection from its first statement until its last dependency
    has finished, across several worker-thread hops. Without a limit, more requests than the
    pool has connections start at once under load: the newcomers' threads block in the pool's
    checkout while the requests that hold connections wait for a thread to finish, until the
    checkout times out and answers 503 DB_UNAVAILABLE. Queued here instead, a request waits on
    the event loop (no thread, no connection); with ``limit`` at most the pool's size the
    checkout never waits, and the few threads that run at once do not fight over the GIL (a
    thread that holds a row lock gets its CPU back quickly; app.DEFAULT_ADMISSION, D41).

    A request that waits longer than ``queue_timeout_s`` is answered 503 ``DB_UNAVAILABLE``
    with ``Retry-After``, as the pool's checkout time-out answered before, only sooner and
    without having taken a thread.
    """

    def __init__(self, app: ASGIApp, *, limit: int, queue_timeout_s: float = QUEUE_TIMEOUT_S) -> None:
        self.app = app
        self.limit = max(1, limit)
        self.queue_timeout_s = queue_timeout_s
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.waiting = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(UNLIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            # a semaphore belongs to one event loop (test clients may start several in turn)
            self._slots, self._loop = asyncio.Semaphore(self.limit), loop
        slots = self._slots
        if slots.locked():
            self.waiting += 1
            try:
                await asyncio.wait_for(slots.acquire(), self.queue_timeout_s)
            except TimeoutError:
                await self._refuse(scope, receive, send)
                return
            finally:
                self.waiting -= 1
        else:
            await slots.acquire()  # a free slot: returns at once
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
        from starlette.requests import Request

        from beachsaver.core.http import error_response
        from beachsaver.core.i18n import pick_language, translate

        request = Request(scope)
        lang = pick_language(request.headers.get("accept-language"))
        response = error_response(
            request, "DB_UNAVAILABLE", 503, translate("db_unavailable", lang), headers={"Retry-After": "5"}
        )
        await response(scope, receive, send)


# ---- several worker processes ---------------------------------------------------------------------


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` that other ``SO_REUSEPORT`` sockets may share."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _run_worker(app_path: str, sock: socket.socket, drain_s: float) -> None:
    """One worker process: the application on its own listening socket. Exits with uvicorn's
    ``STARTUP_FAILURE`` when it never served (the supervisor then stops instead of restarting)."""
    try:
        application = import_from_string(app_path)
    except Exception:
        log.exception("cannot load %s", app_path)
        sys.exit(STARTUP_FAILURE)
    config = uvicorn.Config(application, log_level="warning", timeout_graceful_shutdown=20)
    server = DrainingServer(config, application, drain_s=drain_s)
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def serve_workers(app_path: str, host: str, port: int, workers: int, drain_s: float = 0.0) -> int:
    """Run ``workers`` processes of the ASGI application ``app_path`` ("module:attribute") on one
    port until SIGTERM or SIGINT, and return the exit status.

    The sockets are bound here, one per process, before any process starts: a connection that
    arrives while its process starts (or restarts after a crash) waits in that socket's queue.
    A process that dies is replaced on the same socket; one that dies at its start stops all.
    Where the platform has no ``SO_REUSEPORT``, uvicorn's own supervisor (one shared socket).
    """
    if not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(app_path, host=host, port=port, workers=workers, log_level="warning", timeout_graceful_shutdown=20)
        return 0
    try:
        sockets = [reuse_port_socket(host, port) for _ in range(workers)]
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", host, port, exc)
        return 1
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)

    def start(sock: socket.socket) -> Any:
        process = context.Process(target=_run_worker, args=(app_path, sock, drain_s), daemon=False)
        process.start()
        return process

    processes = [start(sock) for sock in sockets]
    status = 0
    while not stop.wait(0.5):
        for index, process in enumerate(processes):
            if process.is_alive() or stop.is_set():
                continue
            if process.exitcode == STARTUP_FAILURE:
                log.error("worker process %s could not start: stopping", process.pid)
                status = STARTUP_FAILURE
                stop.set()
                break
            log.warning("worker process %s died (%s): starting another", process.pid, process.exitcode)
            processes[index] = start(sockets[index])
    for process in processes:
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, signal.SIGTERM)
    for process in processes:
        process.join()
    for sock in sockets:
        sock.close()
    return status
