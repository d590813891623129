"""Engine and sessions for the services (independent of Reflex, same URL as rxconfig)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from functools import lru_cache

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import Session, create_engine

from online_contact.config import database_url, sqlite_synchronous


def engine(url: str | None = None) -> Engine:
    """The engine of `url`, by default of the configured database (read now, not at first use)."""
    return _engine(url or database_url())


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    """One engine per URL. SQLite gets WAL and a busy timeout so concurrent writers wait, not fail.

    SQLite's synchronous level (OC_SQLITE_SYNCHRONOUS) is NORMAL by default, what SQLite
    recommends with WAL: a commit survives the server process dying, and only a power loss or an
    OS crash can lose the last commits. FULL adds an fsync to every commit, which blocks the
    event loop for about a millisecond per message.
    """
    if url.startswith("sqlite"):
        eng = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        synchronous = sqlite_synchronous()

        @event.listens_for(eng, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # Freed pages are zeroed (masked or erased text must not stay in the file). Debian's
            # SQLite is built with it on; other builds may not be.
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        return eng
    eng = create_engine(url)
    _ping_after_idle(eng)
    return eng


def async_engine(url: str | None = None) -> AsyncEngine | None:
    """An async AUTOCOMMIT engine on the same database for the message path's one-statement
    post (messages.post_message_fast), or None for SQLite (a local file answers within the call;
    waiting on it asynchronously would only add overhead).
    Its connections belong to the event loop that opened them (one per worker)."""
    return _async_engine(url or database_url())


@lru_cache(maxsize=8)
def _async_engine(url: str) -> AsyncEngine | None:
    if url.startswith("sqlite"):
        return None
    # AUTOCOMMIT: the message path's one statement is its own transaction (no BEGIN/COMMIT).
    eng = create_async_engine(url, pool_size=ASYNC_POOL_SIZE, max_overflow=0, isolation_level="AUTOCOMMIT")
    _ping_after_idle(eng.sync_engine)
    return eng


# Connections of a worker's async pool: messages stored at the same time by one worker.
ASYNC_POOL_SIZE = 10
# A pooled connection unused for this long is pinged before use (see _ping_after_idle).
PING_AFTER_IDLE = 1.0  # seconds


def _ping_after_idle(eng: Engine) -> None:
    """Test a pooled connection before use only when it sat idle, not on every checkout.

    SQLAlchemy's pool_pre_ping costs a database round trip per checkout, which on the message
    path was one of six blocking round trips per message. A connection in steady use is known
    to be alive; one that sat in the pool for a while (the database may have restarted since)
    gets a `SELECT 1` first, and a dead one is replaced: raising DisconnectionError in a
    checkout handler makes the pool retry with a fresh connection (SQLAlchemy's documented
    recipe for custom pessimistic disconnect handling).
    """

    @event.listens_for(eng, "checkin")
    def _checked_in(_dbapi_conn, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(eng, "checkout")
    def _checked_out(dbapi_conn, record, _proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
            return
        try:
            alive = eng.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # noqa: BLE001 - any failure means: do not use this connection
            raise DisconnectionError() from exc
        if not alive:
            raise DisconnectionError()


@contextlib.contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine(url), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
