from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from beachsaver.core import security


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with minimal cost: these tests create admins; sign-in has its own tests."""
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
