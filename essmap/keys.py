"""API keys: made once, shown once, stored as a hash, checked by hash.

A key is ``essmap_`` followed by 32 random bytes in URL-safe base64 (256 bits): far too many to
guess, so a plain SHA-256 of it is a safe thing to store and to look up (a slow password hash
is for secrets people choose). The store keeps the hash, the name and the role
(:mod:`essmap.store.moderation`); the secret itself is printed once, at creation.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

from essmap.settings import Settings
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


def client_hash(address: str, *, secret: bytes) -> str:
    """The pseudonym of a client address kept with its proposals (for rate limits), never the address.

    An HMAC-SHA256 keyed by ``secret``: without the secret, the 2³² IPv4 addresses cannot be tried
    one by one to find which one sent a proposal.
    """
    return hmac.new(secret, address.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def client_hash_secret(settings: Settings) -> bytes:
    """The key of :func:`client_hash`: ``settings.client_hash_key``, else one derived from the store's
    location (the same for every process on one store, but not secret)."""
    if settings.client_hash_key is not None:
        return settings.client_hash_key.get_secret_value().encode("utf-8")
    where = settings.database_url or str(settings.store_path)
    return hashlib.sha256(f"essmap client address\n{where}".encode()).digest()
