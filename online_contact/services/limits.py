"""Throttles that hold across workers: counted in Redis when REDIS_URL is set, in the database
otherwise, atomically, before the work they protect (a login's password check, a new chat).

Fixed windows: `hit` counts one attempt in the current window of the limit and says whether it
is within the limit (and when the window ends). The counting is one atomic step (Redis: one Lua
script; the database: one INSERT … ON CONFLICT DO UPDATE … RETURNING), so parallel attempts on
several workers cannot all slip in before the first is counted.

Each limit is an environment variable ``COUNT/SECONDS`` (``0`` turns it off); the defaults are
ones a contact center behind one office NAT can live with. Messages per visitor are limited
in the message's own statement (services.messages), ratings by the chat (services.chats.rate).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import case
from sqlalchemy.dialects import postgresql, sqlite

from sqlmodel import Session

from online_contact.config import redis_url
from online_contact.models import RateCounter

from .db import engine

logger = logging.getLogger("online_contact.security")


@dataclass(frozen=True)
class Limit:
    """At most `count` per `seconds` (count 0: no limit)."""

    name: str
    env: str
    default: str
    meaning: str

    def read(self) -> tuple[int, int]:
        raw = os.environ.get(self.env, self.default).strip()
        try:
            if raw in ("0", "off", ""):
                return 0, 1
            count, _, seconds = raw.partition("/")
            count, seconds = int(count), int(seconds or 1)
            if count < 0 or seconds <= 0:
                raise ValueError
            return count, seconds
        except ValueError:
            raise ValueError(f"{self.env} must be COUNT/SECONDS (e.g. {self.default}) or 0, not {raw!r}") from None


# The login throttles (how they work together: services.auth.authenticate). None of them can
# keep the real user out from an address that has not been failing.
LOGIN_PER_IP = Limit("login-ip", "OC_LIMIT_LOGIN_PER_IP", "30/600", "failed logins from one IP address")
LOGIN_PER_ACCOUNT_IP = Limit(
    "login-account-ip", "OC_LIMIT_LOGIN_PER_ACCOUNT_IP", "5/60",
    "failed logins of one account from one IP address (that address waits for the window)",
)
LOGIN_PER_ACCOUNT = Limit(
    "login-account", "OC_LIMIT_LOGIN_PER_ACCOUNT", "100/3600",
    "failed logins of one account from all addresses (reported; an address that already failed it waits)",
)
CHATS_PER_IP = Limit("chats-ip", "OC_LIMIT_CHATS_PER_IP", "30/3600", "new chats from one IP address")
INQUIRIES_PER_IP = Limit("inquiries-ip", "OC_LIMIT_INQUIRIES_PER_IP", "10/3600", "1:1 inquiries from one IP address")
ALL_LIMITS = (LOGIN_PER_IP, LOGIN_PER_ACCOUNT_IP, LOGIN_PER_ACCOUNT, CHATS_PER_IP, INQUIRIES_PER_IP)


def messages_per_second() -> int:
    """Messages one visitor may send per second (OC_LIMIT_MESSAGES_PER_SECOND, default 5; 0 = off)."""
    return max(0, int(os.environ.get("OC_LIMIT_MESSAGES_PER_SECOND", "5")))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0  # seconds until the window ends
    first_refusal: bool = False  # the attempt that went over (worth one audit entry, not each)
    count: int = 0  # attempts counted in the window, this one included (0: the limit is off)


RATE_COUNTER = RateCounter.__table__


def _subject(subject: str) -> str:
    """Counters never hold an IP address or an email, only a hash of it."""
    return hashlib.sha256((subject or "-").encode()).hexdigest()[:32]


def account_at(email: str, ip: str) -> str:
    """The subject of LOGIN_PER_ACCOUNT_IP: one account tried from one address."""
    return f"{email}\n{ip}"


def _window(seconds: int, now: float) -> int:
    return math.floor(now / seconds)


@lru_cache(maxsize=4)
def _redis(url: str):
    import redis

    # Short timeouts: the call is made from the event loop, and a Redis that does not answer
    # falls back to the database (below) instead of holding every tab of the worker.
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


REDIS_RETRY_AFTER = 30.0  # seconds the database counts alone after Redis failed
_redis_down_until = 0.0


# Add, never below zero, and (re)start the expiry: one atomic step in Redis.
_ADD = """
local c = redis.call('INCRBY', KEYS[1], ARGV[1])
if c < 0 then redis.call('SET', KEYS[1], 0); c = 0 end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return c
"""


def _count_in_redis(url: str, key: str, seconds: int, delta: int) -> int:
    return int(_redis(url).eval(_ADD, 1, key, delta, seconds + 1))


def _count_in_database(bind, key: str, window: int, delta: int, expires: int) -> int:
    """One statement: a new window starts at `delta`, the same window adds it (never below 0).
    Its own transaction: the count stays whatever the caller's work does next."""
    with Session(bind) as session:
        conn = session.connection()
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(RATE_COUNTER).values(key=key, period=window, count=max(delta, 0), expires=expires)
        added = RATE_COUNTER.c.count + delta
        stmt = stmt.on_conflict_do_update(
            index_elements=[RATE_COUNTER.c.key],
            set_={
                "count": case(
                    (RATE_COUNTER.c.period == stmt.excluded.period, case((added < 0, 0), else_=added)),
                    else_=max(delta, 0),
                ),
                "period": stmt.excluded.period,
                "expires": stmt.excluded.expires,
            },
        ).returning(RATE_COUNTER.c.count)
        count = int(conn.execute(stmt).scalar_one())
        session.commit()
        return count


def _count(limit: Limit, subject: str, delta: int, now: float | None, bind) -> tuple[int, int, int]:
    """Add `delta` to the subject's counter of the current window; returns (count, limit, seconds left)."""
    count_max, seconds = limit.read()
    now = time.time() if now is None else now
    window = _window(seconds, now)
    key = f"oc-limit:{limit.name}:{_subject(subject)}"
    global _redis_down_until
    url = redis_url()
    count = None
    if url and time.monotonic() >= _redis_down_until:
        try:
            count = _count_in_redis(url, f"{key}:{window}", seconds, delta)
        except Exception:  # noqa: BLE001 - Redis away: count in the database meanwhile
            logger.warning("throttle counters: Redis did not answer; counting in the database for %ds", REDIS_RETRY_AFTER)
            _redis_down_until = time.monotonic() + REDIS_RETRY_AFTER
    if count is None:
        expires = (window + 1) * seconds
        count = _count_in_database(bind if bind is not None else engine(), key, window, delta, expires)
    return count, count_max, max(1, math.ceil((window + 1) * seconds - now))


def hit(limit: Limit, subject: str, now: float | None = None, bind=None) -> Decision:
    """Count one attempt of `subject` (an IP address, an account) against `limit`. `bind`: the
    database of the counters when there is no Redis (default: the configured one). Without
    Redis the count is written in its own transaction: call it before the caller's session
    writes anything (SQLite has one writer at a time)."""
    if limit.read()[0] == 0:
        return Decision(True)
    count, count_max, left = _count(limit, subject, 1, now, bind)
    if count > count_max:
        if count == count_max + 1:
            logger.warning("throttled: %s (over %d in the window of %s)", limit.meaning, count_max, limit.env)
        return Decision(False, left, first_refusal=count == count_max + 1, count=count)
    return Decision(True, left, count=count)


def refund(limit: Limit, subject: str, bind=None) -> None:
    """Take back one attempt counted by `hit` (it turned out to be a legitimate one)."""
    if limit.read()[0]:
        _count(limit, subject, -1, None, bind)


def forget(limit: Limit, subject: str, bind=None) -> None:
    """Start the subject's window over (a successful login clears its account's failures)."""
    if not limit.read()[0]:
        return
    count, _, _ = _count(limit, subject, 0, None, bind)
    if count:
        _count(limit, subject, -count, None, bind)


def prune(bind=None, now: float | None = None) -> int:
    """Delete the database's counters whose window is over (Redis expires its own)."""
    from sqlalchemy import delete

    now = time.time() if now is None else now
    with Session(bind if bind is not None else engine()) as session:
        gone = session.exec(delete(RATE_COUNTER).where(RATE_COUNTER.c.expires < now)).rowcount
        session.commit()
    return gone
