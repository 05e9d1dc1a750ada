"""Credentials encryption at rest: Fernet with keys from ENCRYPTION_KEYS.

The first key encrypts; every key decrypts (MultiFernet), so rotation is: put a new
key first, keep the old one after it, run `manage.py rotate_encryption_keys`, then
drop the old key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        if not settings.DEBUG:
            raise ImproperlyConfigured("ENCRYPTION_KEYS is not set")
        # Development only: derive a stable key from SECRET_KEY.
        derived = base64.urlsafe_b64encode(
            hashlib.sha256(f"credentials:{secret_key}".encode()).digest()
        )
        keys = (derived.decode(),)
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt_json(data: dict) -> str:
    return fernet().encrypt(json.dumps(data).encode()).decode()


def decrypt_json(token: str) -> dict:
    if not token:
        return {}
    try:
        return json.loads(fernet().decrypt(token.encode()))
    except InvalidToken:
        raise ImproperlyConfigured(
            "stored credentials cannot be decrypted with ENCRYPTION_KEYS "
            "(was a key removed before rotation finished?)"
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt a token under the first (newest) key."""
    return fernet().rotate(token.encode()).decode() if token else token
