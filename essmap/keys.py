"""API keys: made once, shown once, stored as a hash, checked by hash.

A key is ``essmap_`` followed by 32 random bytes in URL-safe base64 (256 bits): far too many to
guess, so a plain SHA-256 of it is a safe thing to store and to look up (a slow password hash
is for secrets people choose). The store keeps the hash, the name and the role
(:mod:`essmap.store.moderation`); the secret itself is printed once, at creation.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Final

from essmap.store import Store
from essmap.store.moderation import ApiKey

PREFIX: Final = "essmap_"


def key_hash(secret: str) -> str:
    """The stored form of a key: its SHA-256, hexadecimal."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(store: Store, *, name: str, role: str) -> tuple[ApiKey, str]:
    """Make a new key for ``name`` with ``role``; returns the key's record and its secret.

    Raises
    ------
    AlreadyExistsError
        If a key of that name exists.
    InvalidParameterError
        For an unknown role or an empty name.
    """
    from essmap.errors import InvalidParameterError

    name = name.strip()
    if not name or len(name) > 100 or any(not c.isprintable() for c in name):
        raise InvalidParameterError(
            "name", "le nom de la clé doit être un texte imprimable de 1 à 100 caractères"
        )
    secret = PREFIX + secrets.token_urlsafe(32)
    return store.add_key(name, role, key_hash(secret)), secret


def key_for_secret(store: Store, secret: str) -> ApiKey | None:
    """The active key whose secret this is, else None."""
    if not secret.startswith(PREFIX):
        return None
    return store.key_for_hash(key_hash(secret))
