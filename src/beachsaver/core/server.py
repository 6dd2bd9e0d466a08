"""Uvicorn server with a graceful drain: on SIGTERM readiness turns 503 first, then uvicorn
stops accepting, finishes in-flight requests and exits (safe blue/green and rolling deploys).

Also the admission limit of each process (``AdmissionLimit``): at most a few requests are inside
the application at once, the others wait for their turn on the event loop.
"""

from __future__ import annotations

import asyncio
import threading
from types import FrameType

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

#: How long a request may wait for its turn before it is refused (503 with Retry-After). Below
#: the clients' own time-outs (30 s), so that an overloaded process answers rather than drops.
QUEUE_TIMEOUT_S = 20.0
#: Paths outside the limit: probes must answer while the process is saturated.
UNLIMITED_PREFIXES = ("/health", "/metrics")


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, application: FastAPI, drain_s: float) -> None:
        super().__init__(config)
        self.application = application
        self.drain_s = drain_s
        self._draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.application.state.draining = True
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
