"""Passwords (argon2id), one-time codes and access tokens (HS256 JWT with a session id)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from beachsaver.core.time import utcnow

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
_JWT_ALG = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A fixed hash so that an unknown login id costs the same as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))


def burn_password_check(password: str) -> None:
    verify_password(_DUMMY_HASH, password)


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def code_hash(secret: str, subject: str, code: str) -> str:
    """Keyed hash of a code bound to its subject, so a stolen table reveals nothing usable."""
    return hmac.new(secret.encode(), f"{subject}:{code}".encode(), hashlib.sha256).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def issue_access_token(
    secret: str, *, user_id: int, session_id: int, role: str, ttl_s: int, now: datetime | None = None
) -> str:
    issued = now or utcnow()
    payload = {
        "sub": str(user_id),
        "sid": session_id,
        "role": role,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(seconds=ttl_s)).timestamp()),
        "typ": "access",
    }
    return jwt.encode(payload, secret, algorithm=_JWT_ALG)


def decode_access_token(secret: str, token: str) -> dict[str, Any] | None:
    """Claims of a valid token, else None (bad signature, ``alg: none``, expired, malformed)."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=[_JWT_ALG], options={"require": ["exp", "sub", "sid"]}
        )
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != "access":
        return None
    return claims
