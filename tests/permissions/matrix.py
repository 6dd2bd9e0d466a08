"""The shared runner of the permission matrices (04-quality §3).

A matrix is a dict keyed ``"METHOD /path[?query][ (note)]"`` whose value is a request builder and
the expected answer per caller: ``{role: (own, other)}``. ``own`` targets the caller's city and
district, ``other`` another city. An expected answer is a status, or a status and the
``data.status`` of the answer (``data[0].status`` for a list). Every cell names the seven roles;
a cell may add the extra callers ``VOLUNTEER`` (an approved volunteer cleaner) and
``ANONYMOUS`` (no token).

A builder takes ``(world, side)`` and answers a ``Call`` or a ``(method, path, kwargs)`` tuple; it
runs once per cell, so a request that consumes its target builds a fresh one. A call whose
``caller`` is set is sent as ``caller(role)``: the token of a fresh account of that role and any
request arguments that depend on it, for requests that consume the caller itself (sign-out, a
password or phone change).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import auth

ROLES = ["PLATFORM", "CITY", "DISTRICT", "INVESTIGATOR", "CLEANER", "COLLECTOR", "CITIZEN"]
EXTRA_CALLERS = ["VOLUNTEER", "ANONYMOUS"]
SIDES = ("own", "other")

Expected = int | tuple[int, str]


@dataclass
class Call:
    method: str
    path: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    caller: Callable[[str], tuple[str, dict[str, Any]]] | None = None


Builder = Callable[[Any, str], Call | tuple[str, str, dict[str, Any]]]
Cells = Mapping[str, tuple[Builder, Mapping[str, tuple[Expected, Expected]]]]


@functools.cache
def small_jpeg() -> bytes:
    """A tiny photo: the matrices test who may upload and read, not image processing."""
    from tests.images import imagegen

    return imagegen.jpeg(size=(32, 24))


def same(status: Expected, roles: list[str] | None = None) -> dict[str, tuple[Expected, Expected]]:
    """The same answer on both sides for each of ``roles`` (default: all seven)."""
    return {role: (status, status) for role in roles or ROLES}


def matches(response: Any, want: Expected) -> bool:
    status, data_status = (want, None) if isinstance(want, int) else want
    if response.status_code != status:
        return False
    if data_status is None:
        return True
    data = response.json()["data"]
    item = data[0] if isinstance(data, list) else data
    return bool(item["status"] == data_status)


def check_cells(client: TestClient, world: Any, tokens: Mapping[str, str], cells: Cells) -> list[str]:
    """Run every cell; answers one line per cell whose answer differs from the expected one."""
    mismatches = []
    for name, (build_call, expected) in cells.items():
        missing = set(ROLES) - set(expected)
        unknown = set(expected) - set(ROLES) - set(EXTRA_CALLERS)
        assert not missing and not unknown, f"{name}: roles missing {missing}, unknown {unknown}"
        for role in [r for r in ROLES + EXTRA_CALLERS if r in expected]:
            for index, side in enumerate(SIDES):
                built = build_call(world, side)
                call = built if isinstance(built, Call) else Call(*built)
                token, kwargs = tokens.get(role), call.kwargs
                if call.caller is not None and role != "ANONYMOUS":
                    token, own_kwargs = call.caller(role)
                    kwargs = {**kwargs, **own_kwargs}
                headers = auth(token) if token and role != "ANONYMOUS" else {}
                response = client.request(call.method, call.path, headers=headers, **kwargs)
                want = expected[role][index]
                if not matches(response, want):
                    mismatches.append(
                        f"{name} as {role} ({side}): {response.status_code} != {want} {response.text[:160]}"
                    )
    return mismatches


def assert_cells(client: TestClient, world: Any, tokens: Mapping[str, str], cells: Cells) -> None:
    mismatches = check_cells(client, world, tokens, cells)
    assert not mismatches, "\n".join(mismatches)
