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


def serving_port() -> int:
    """The port the app is served on (Reflex passes --backend-port to its workers as
    REFLEX_BACKEND_PORT; `make run` uses PORT)."""
    return int(os.environ.get("REFLEX_BACKEND_PORT") or os.environ.get("PORT") or "3000")


def public_origins() -> list[str]:
    """The origins the app is used from: OC_PUBLIC_URL (comma-separated for several), or, unset,
    http://localhost:PORT and http://127.0.0.1:PORT (what `make run` prints). Websocket and CORS
    requests from any other origin are refused."""
    configured = [u.strip().rstrip("/") for u in os.environ.get("OC_PUBLIC_URL", "").split(",") if u.strip()]
    if configured:
        return [_origin(u) for u in configured]
    port = serving_port()
    return [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"OC_PUBLIC_URL must be like https://help.example.com, not {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def allowed_hosts() -> list[str]:
    """Host names a request may name in its Host header: OC_PUBLIC_URL's, or localhost and
    127.0.0.1 when it is unset, plus OC_ALLOWED_HOSTS (comma-separated, e.g. an internal name
    the load balancer's health check uses)."""
    from urllib.parse import urlsplit

    hosts = [urlsplit(o).hostname for o in public_origins()]
    if not os.environ.get("OC_PUBLIC_URL"):
        hosts += ["localhost", "127.0.0.1", "::1"]
    hosts += [h.strip().lower() for h in os.environ.get("OC_ALLOWED_HOSTS", "").split(",") if h.strip()]
    return sorted({h for h in hosts if h})


def trusted_proxy_hops() -> int:
    """How many reverse proxies in front of the app append to X-Forwarded-For
    (OC_TRUSTED_PROXY_HOPS, default 0: the header is ignored and the peer address is the
    client's). Only then is the address they saw trusted as the client's."""
    return max(0, int(os.environ.get("OC_TRUSTED_PROXY_HOPS", "0")))


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
