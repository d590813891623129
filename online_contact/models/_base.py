"""Helpers shared by the table modules."""

from datetime import datetime, timezone


def utcnow() -> datetime:
    """Aware UTC now (SQLModel's datetime columns store and return aware UTC values)."""
    return datetime.now(timezone.utc)
