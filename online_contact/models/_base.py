"""Helpers shared by the table modules."""

import secrets
from datetime import datetime, timezone


def utcnow() -> datetime:
    """Aware UTC now (SQLModel's datetime columns store and return aware UTC values)."""
    return datetime.now(timezone.utc)


def new_secret_key() -> str:
    """A random key for a shared state's token (room, desk): 160 bits, hex (no '_', which Reflex
    refuses in link tokens)."""
    return secrets.token_hex(20)
