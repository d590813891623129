"""Runtime configuration read from the environment (no Reflex import, usable everywhere)."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The SQLAlchemy URL of the database: DATABASE_URL, else REFLEX_DB_URL, else a local SQLite file."""
    return (
        os.environ.get("DATABASE_URL")
        or os.environ.get("REFLEX_DB_URL")
        or f"sqlite:///{PROJECT_ROOT / 'online_contact.db'}"
    )


def sqlite_synchronous() -> str:
    """SQLite's synchronous level (OC_SQLITE_SYNCHRONOUS): NORMAL (default), FULL or EXTRA."""
    value = os.environ.get("OC_SQLITE_SYNCHRONOUS", "NORMAL").strip().upper()
    if value not in ("NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"OC_SQLITE_SYNCHRONOUS must be NORMAL, FULL or EXTRA, not {value!r}")
    return value


def redis_url() -> str | None:
    """The Redis URL for Reflex's state manager when several workers run, or None."""
    return os.environ.get("REDIS_URL") or os.environ.get("REFLEX_REDIS_URL") or None


def max_event_bytes() -> int:
    """The largest websocket message a client may send (OC_MAX_EVENT_BYTES, default 64 KB: a
    2,000-character message is at most ~8 KB; the socket is closed on anything larger)."""
    return int(os.environ.get("OC_MAX_EVENT_BYTES", "65536"))


def session_hours() -> int:
    """How long an agent's login lasts (OC_SESSION_HOURS, default 12 hours: one long shift)."""
    return int(os.environ.get("OC_SESSION_HOURS", "12"))


def display_timezone() -> ZoneInfo:
    """The time zone for times shown in the UI (OC_TIMEZONE, default Asia/Seoul)."""
    try:
        return ZoneInfo(os.environ.get("OC_TIMEZONE", "Asia/Seoul"))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(moment: datetime, fmt: str = "%H:%M") -> str:
    """A stored (UTC) time as text in the display time zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(display_timezone()).strftime(fmt)


MAX_MESSAGE_LENGTH = 2000
# Messages kept in a chat room's shared state (each change re-sends the list to every tab);
# older ones are loaded per tab on request.
MESSAGE_WINDOW = int(os.environ.get("OC_MESSAGE_WINDOW", "50"))
CONSENT_VERSION = "2026-11-v1"
