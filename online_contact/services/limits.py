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
import weakref
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


# ---- customers' messages over all their chats (issue 23: one visitor cannot flood a worker) -----
# OC_LIMIT_MESSAGES_PER_SECOND holds per chat, in the statement that stores the message; these
# hold across a visitor's chats and across every chat from one address, which the per-chat limit
# did not (one address held 30 chats x 5 messages a second). Short windows: a message refused
# here is sent again by the page a second later (assets/chat_wire.jsx), and goes through within
# the window's few seconds.
MESSAGES_PER_VISITOR = Limit(
    "messages-visitor", "OC_LIMIT_MESSAGES_PER_VISITOR", "20/10", "customer messages from one visitor, over all their chats",
)
MESSAGES_PER_IP = Limit(
    "messages-ip", "OC_LIMIT_MESSAGES_PER_IP", "100/10", "customer messages from one IP address, over all its chats",
)

# Take one of each key's allowance, or none when any key is at its limit (a refused message
# uses nothing up): one atomic step in Redis. KEYS: the counters; ARGV: limit, seconds per key.
_TAKE_ALL = """
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[2 * i - 1]) then return 0 end
end
for i, key in ipairs(KEYS) do
  redis.call('INCR', key)
  redis.call('EXPIRE', key, ARGV[2 * i])
end
return 1
"""


# Give back one of each key's count (never below zero): a message counted above that was then not
# stored (refused by its chat, not the visitor's, a resend of one stored already).
_GIVE_BACK = """
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 1
"""


class LocalWindows:
    """Fixed-window counters in this process: exact with one worker (without Redis the app runs
    one), and what a worker counts with while Redis does not answer."""

    def __init__(self) -> None:
        self.counts: dict[str, tuple[int, int]] = {}  # key -> (window, count)
        self._next_prune = 0.0

    def take_all(self, taken: list[tuple[str, int, int]], now: float) -> bool:
        """`taken`: (key, limit, seconds). One from each, or none when any is at its limit."""
        if now >= self._next_prune:  # keys of visitors gone quiet: dropped once their window ended
            self.counts = {k: v for k, v in self.counts.items() if v[0] >= self._window_of(k, now)}
            self._next_prune = now + 60
        windows = [(key, _window(seconds, now), limit) for key, limit, seconds in taken]
        for key, window, limit in windows:
            seen, count = self.counts.get(key, (window, 0))
            if seen == window and count >= limit:
                return False
        for key, window, _limit in windows:
            seen, count = self.counts.get(key, (window, 0))
            self.counts[key] = (window, count + 1 if seen == window else 1)
        return True

    def give_back(self, taken: list[tuple[str, int, int]], now: float) -> None:
        """One back to each key counted in the window of `now` (never below zero)."""
        for key, _limit, seconds in taken:
            seen, count = self.counts.get(key, (None, 0))
            if seen == _window(seconds, now) and count > 0:
                self.counts[key] = (seen, count - 1)

    @staticmethod
    def _window_of(key: str, now: float) -> int:
        return _window(int(key.rsplit(":", 1)[1]), now)


LOCAL_MESSAGE_WINDOWS = LocalWindows()
_async_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop -> {url: client, (url, script): script}
_messages_redis_down_until = 0.0


def _take_all_script(url: str):
    """_TAKE_ALL on an asyncio Redis client of the running event loop (a client's connections
    belong to the loop that opened them); sent by its hash (EVALSHA), not its text."""
    return _script(url, _TAKE_ALL)


def _give_back_script(url: str):
    return _script(url, _GIVE_BACK)


def _script(url: str, text: str):
    import asyncio

    import redis.asyncio as aioredis

    # One client per loop and URL (its connections belong to that loop), each script registered once.
    made = _async_clients.setdefault(asyncio.get_running_loop(), {})
    if (url, text) not in made:
        if url not in made:
            made[url] = aioredis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        made[(url, text)] = made[url].register_script(text)
    return made[(url, text)]


def now() -> float:
    """The throttles' clock (the moment a message is counted at, for message_not_stored)."""
    return time.time()


def _message_keys(visitor: str, ip: str) -> list[tuple[str, int, int]]:
    """(key without its window, limit, seconds) of each message limit that applies."""
    taken = []
    for limit, subject in ((MESSAGES_PER_VISITOR, visitor), (MESSAGES_PER_IP, ip)):
        count_max, seconds = limit.read()
        if count_max and subject:
            taken.append((f"oc-limit:{limit.name}:{_subject(subject)}:{seconds}", count_max, seconds))
    return taken


async def message_allowed(visitor: str, ip: str, now: float | None = None) -> bool:
    """Count one customer message against MESSAGES_PER_VISITOR and MESSAGES_PER_IP; False (and
    nothing counted) when either is used up in its current window.

    The cost on the message path: without Redis a dictionary look-up per limit (one worker,
    exact); with REDIS_URL one Redis round trip (a script that checks and counts both at once,
    awaited: the worker serves its other sockets meanwhile), so the limits hold over every
    worker. No database round trip. When Redis does not answer, each worker counts alone for
    REDIS_RETRY_AFTER seconds."""
    global _messages_redis_down_until
    taken = _message_keys(visitor, ip)
    if not taken:
        return True
    now = time.time() if now is None else now
    url = redis_url()
    if url and time.monotonic() >= _messages_redis_down_until:
        try:
            keys = [f"{key}:{_window(seconds, now)}" for key, _limit, seconds in taken]
            args = [x for _key, limit, seconds in taken for x in (limit, seconds + 1)]
            return bool(await _take_all_script(url)(keys=keys, args=args))
        except Exception:  # noqa: BLE001 - Redis away: count here meanwhile
            logger.warning("message limits: Redis did not answer; each worker counts alone for %ds", REDIS_RETRY_AFTER)
            _messages_redis_down_until = time.monotonic() + REDIS_RETRY_AFTER
    return LOCAL_MESSAGE_WINDOWS.take_all(taken, now)


async def message_not_stored(visitor: str, ip: str, counted_at: float) -> None:
    """Give back what message_allowed counted at `counted_at` for a message that was then not
    stored — refused by its chat (ended, too fast within it), not the visitor's, or a resend of a
    message stored already — so that only stored messages use up the visitor's and the address's
    allowance (a page's retries, or sends at chats that are not one's own, must not exhaust the
    allowance of everyone behind the same address). Never on the common path."""
    global _messages_redis_down_until
    taken = _message_keys(visitor, ip)
    if not taken:
        return
    url = redis_url()
    if url and time.monotonic() >= _messages_redis_down_until:
        try:
            keys = [f"{key}:{_window(seconds, counted_at)}" for key, _limit, seconds in taken]
            await _give_back_script(url)(keys=keys)
            return
        except Exception:  # noqa: BLE001 - Redis away: the count stays (it expires with its window)
            logger.warning("message limits: Redis did not answer; each worker counts alone for %ds", REDIS_RETRY_AFTER)
            _messages_redis_down_until = time.monotonic() + REDIS_RETRY_AFTER
            return
    LOCAL_MESSAGE_WINDOWS.give_back(taken, counted_at)
