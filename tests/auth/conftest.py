from __future__ import annotations

import pytest

from beachsaver.auth import service as auth_service
from tests.auth.helpers import Clock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The sign-in service's clock; ``clock.advance(s)`` moves it forward."""
    fake = Clock()
    monkeypatch.setattr(auth_service, "utcnow", fake.now)
    return fake


@pytest.fixture(autouse=True)
def cheap_password_hashing() -> None:
    """Sign-in is tested with the service's real argon2id parameters (overrides tests/conftest.py)."""
