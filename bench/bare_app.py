"""The baseline of the report-detail read: a bare ASGI application (no framework, no
middleware, no authentication code) that replays, for every request, the SQL statements the
service issued for one ``GET /api/reports/{id}`` (recorded by ``bench.api_load``), through the
same driver and the same engine settings (``beachsaver.core.db.make_engine``: PyMySQL, the
pool, its liveness ping), in one transaction, and answers the rows as JSON.

    BENCH_BARE_STATEMENTS=statements.pickle BENCH_BARE_DATABASE_URL=mysql://... python -c \\
        "from beachsaver.core.server import serve_workers; serve_workers('bench.bare_app:app', '127.0.0.1', 8001, 3)"

(served as ``beachsaver serve --workers 3`` serves the service: one socket per process, D45)

The handler runs the statements directly on the event loop: one request at a time per process,
the cheapest way there is; the service runs its handlers in a thread pool.
"""

from __future__ import annotations

import json
import os
import pickle
from typing import Any

from beachsaver.core.db import make_engine

with open(os.environ["BENCH_BARE_STATEMENTS"], "rb") as _handle:
    STATEMENTS: list[tuple[str, Any]] = pickle.load(_handle)  # written by the bench itself
ENGINE = make_engine(os.environ["BENCH_BARE_DATABASE_URL"], pool_size=4, max_overflow=4)


def replay() -> list[Any]:
    connection = ENGINE.raw_connection()
    try:
        cursor = connection.cursor()
        results = []
        for statement, parameters in STATEMENTS:
            if parameters is None:
                cursor.execute(statement)
            else:
                cursor.execute(statement, parameters)
            if cursor.description is not None:
                results.append(cursor.fetchall())
        cursor.close()
        connection.commit()
        return results
    finally:
        connection.close()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                ENGINE.dispose()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    body = json.dumps({"success": True, "data": replay()}, default=str).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
