from __future__ import annotations

from tests.imports.conftest import cheap_password_hashing

__all__ = ["cheap_password_hashing"]
