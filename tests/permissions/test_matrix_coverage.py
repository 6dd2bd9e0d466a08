"""Every operation of the OpenAPI document has a cell in a permission matrix (04-quality §3), and
every matrix key names a real operation."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from beachsaver.app import create_app
from tests.conftest import make_settings
from tests.permissions import (
    test_admin_matrix,
    test_core_matrix,
    test_field_matrix,
    test_org_matrix,
    test_public_matrix,
    test_workflow_matrix,
)

MATRICES = {
    "core": test_core_matrix.CELLS,
    "field": test_field_matrix.CELLS,
    "admin": test_admin_matrix.CELLS,
    "org": test_org_matrix.CELLS,
    "public": test_public_matrix.CELLS,
    "workflow": test_workflow_matrix.CELLS,
}

# Operations whose cells live in a test of their own: the test and the reason.
COVERED_ELSEWHERE: dict[str, tuple[Callable[..., None], str]] = {
    "DELETE /api/statistics/report-schedules/{}": (
        test_admin_matrix.test_deleting_report_schedules,
        "each cell deletes a schedule made for it, outside the admin matrix's shared world",
    ),
}

METHODS = {"get", "post", "put", "patch", "delete"}


def operation(key: str) -> str:
    """``"GET /api/reports/{investigation}?x= (note)"`` → ``"GET /api/reports/{}"``."""
    key = re.sub(r" \(.*\)$", "", key)
    key = key.split("?", 1)[0]
    return re.sub(r"\{[^}]*\}", "{}", key)


@pytest.fixture(scope="module")
def documented(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The operations of the app's OpenAPI document (no database is opened to build it)."""
    data_dir = tmp_path_factory.mktemp("openapi")
    app = create_app(make_settings(f"sqlite:///{data_dir / 'unused.db'}", data_dir))
    paths = app.openapi()["paths"]
    app.state.runtime.engine.dispose()
    return {
        operation(f"{method.upper()} {path}") for path, item in paths.items() for method in item if method in METHODS
    }


def test_every_operation_has_a_permission_cell(documented: set[str]) -> None:
    covered = {operation(key) for cells in MATRICES.values() for key in cells} | set(COVERED_ELSEWHERE)
    missing = sorted(documented - covered)
    assert not missing, "operations without a permission-matrix cell:\n" + "\n".join(missing)


def test_every_matrix_key_names_a_real_operation(documented: set[str]) -> None:
    unknown = sorted(
        f"{matrix}: {key}" for matrix, cells in MATRICES.items() for key in cells if operation(key) not in documented
    )
    unknown += sorted(f"COVERED_ELSEWHERE: {key}" for key in COVERED_ELSEWHERE if key not in documented)
    assert not unknown, "matrix keys naming no operation:\n" + "\n".join(unknown)
