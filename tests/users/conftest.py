from __future__ import annotations

from typing import Any

import pytest

from tests.users.world import World, build_world


@pytest.fixture
def w(db: Any) -> World:
    return build_world(db)
