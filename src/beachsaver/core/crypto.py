"""Personal data at rest: AES-256-GCM for values, keyed HMAC-SHA256 for look-ups."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12
_VERSION = b"\x01"


class PiiCipher:
    def __init__(self, key: bytes, hash_key: bytes) -> None:
        if len(key) != 32 or len(hash_key) != 32:
            raise ValueError("PII keys must be 32 bytes")
        self._aead = AESGCM(key)
        self._hash_key = hash_key

    def encrypt(self, plaintext: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode("utf-8"), _VERSION)

    def decrypt(self, blob: bytes | None) -> str | None:
        if not blob:
            return None
        if blob[:1] != _VERSION:
            raise ValueError("unknown ciphertext version")
        nonce, data = blob[1 : 1 + _NONCE], blob[1 + _NONCE :]
        return self._aead.decrypt(nonce, data, _VERSION).decode("utf-8")

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self._hash_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    """Hash of a high-entropy random token (refresh, selection, challenge ids)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
