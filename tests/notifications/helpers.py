from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

_KEY: rsa.RSAPrivateKey | None = None


def rsa_key() -> rsa.RSAPrivateKey:
    global _KEY
    if _KEY is None:
        _KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _KEY


def write_service_account(path: Path, token_uri: str, project_id: str = "beachsaver-test") -> Path:
    pem = (
        rsa_key()
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": project_id,
                "private_key_id": "kid-1",
                "private_key": pem,
                "client_email": "fcm-sender@beachsaver-test.iam.gserviceaccount.com",
                "token_uri": token_uri,
            }
        ),
        encoding="utf-8",
    )
    return path


def public_pem() -> bytes:
    return (
        rsa_key().public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def with_settings(settings: Any, **updates: Any) -> Any:
    """A copy of the app's settings with (proposed) settings set."""
    return settings.model_copy(update=updates)
