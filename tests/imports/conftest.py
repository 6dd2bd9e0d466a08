from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.imports.world import World, build_world


@pytest.fixture
def w(db: Session) -> World:
    return build_world(db)
