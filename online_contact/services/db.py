"""Engine and sessions for the services (independent of Reflex, same URL as rxconfig)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache

from sqlalchemy import event
from sqlalchemy.engine import Engine
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
            cur.close()

        return eng
    return create_engine(url, pool_pre_ping=True)


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
