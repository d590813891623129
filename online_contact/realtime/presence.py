"""Agent presence and room keep-alive, run as a lifespan task in every worker.

- An agent marked Online whose tabs are all gone (closed, crashed, lost network) for
  OC_AWAY_SECONDS (default 180) is set Offline, and the chats given to them that they never
  opened go back to the queue, so no customer waits on someone who left.
- One worker runs the passes (a Redis key names it; another takes over when it dies).
- Every pass also refreshes the desks of Online agents and, every few passes, the rooms of
  open chats: shared states idle for Reflex's token expiration (1 hour) would otherwise be
  dropped, and their tabs would stop receiving pushes.
- Every pass ends the chats queued longer than 대기 시간 제한 (services.chats.end_overdue_waiting):
  their customers' windows offer the 1:1 문의, and the rest of the queue moves up.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid

import redis.asyncio as aioredis

from sqlalchemy import or_
from sqlmodel import select

from online_contact.config import redis_url
from online_contact.models import Agent, Chat
from online_contact.models.agent import STATUS_BREAK, STATUS_OFFLINE, STATUS_ONLINE
from online_contact.models.assignment import RELEASE_AWAY
from online_contact.models.chat import CHAT_OPEN, CHAT_WAITING
from online_contact.services import agents as agent_service
from online_contact.services import chats as chat_service
from online_contact.services import routing
from online_contact.services.db import session_scope

from . import reflex_internals as internals
from .publish import (
    desk_token,
    publish_queue,
    publish_room,
    publish_status_change,
    refresh_desk_now,
    refresh_room_now,
    refresh_shared,
    room_token,
)
from .rooms import AgentDesk, ChatRoom

logger = logging.getLogger(__name__)
ROOM_KEEPALIVE_EVERY = 10  # passes
PRESENCE_GAP = 0.002  # seconds between two agents of a pass (see check_presence)


async def _connected_tabs(agent_id: int) -> int:
    """How many of the agent's linked tabs have a live socket (on any worker)."""
    tokens: set[str] = set()

    def fill(desk: AgentDesk, session) -> None:
        refresh_desk_now(desk, session, agent_id)
        tokens.update(internals.linked_tabs(desk))

    await refresh_shared(desk_token(agent_id), AgentDesk, fill)
    alive = 0
    for token in tokens:
        if await internals.token_connected(token):
            alive += 1
    return alive


async def check_presence(absent_since: dict[int, float], away_after: float) -> None:
    """One pass: mark absent agents Offline and requeue their unopened chats. Agents on 휴식
    too: one who closed the browser is not on a break for the rest of the day (통계's 휴식 시간)."""
    with session_scope() as session:
        online = list(session.exec(select(Agent.id).where(Agent.status.in_((STATUS_ONLINE, STATUS_BREAK)))))
    now = time.monotonic()
    for agent_id in online:
        # Let the worker's sockets in between agents: with the in-memory state manager nothing
        # in a desk refresh waits, so 500 Online agents ran as one 0.6 s block (SQLite bench).
        await asyncio.sleep(PRESENCE_GAP)
        if await _connected_tabs(agent_id):
            absent_since.pop(agent_id, None)
            continue
        since = absent_since.setdefault(agent_id, now)
        if now - since < away_after:
            continue
        absent_since.pop(agent_id, None)
        with session_scope() as session:
            agent = session.get(Agent, agent_id)
            if agent is None or agent.status not in (STATUS_ONLINE, STATUS_BREAK):
                continue
            change = agent_service.leave_online(session, agent, STATUS_OFFLINE, RELEASE_AWAY)
        logger.info("agent %s left: set Offline, %d unopened chat(s) back in the queue", agent_id, len(change.moved))
        publish_status_change(change)


# The rooms of a keep-alive pass are refreshed one after another, this far apart. Spawned all at
# once (as publish_room does for one room), 500 open chats meant 500 state lock cycles, database
# reads and saves together, and every conversation on the workers stalled for 2-3 s (bench: p95
# 1.1-1.8 s in the 500-conversation run that met a keep-alive pass, 30-70 ms otherwise).
KEEPALIVE_GAP = 0.02  # seconds


async def keep_rooms_alive() -> int:
    """Refresh the room of every open or waiting chat (and of one the customer left that its
    agent still finishes), one at a time; returns how many."""
    on_screen = routing.ON_AN_AGENTS_SCREEN
    with session_scope() as session:
        ids = list(session.exec(select(Chat.id).where(or_(Chat.status.in_((CHAT_OPEN, CHAT_WAITING)), on_screen))))
    for chat_id in ids:
        try:
            await refresh_shared(room_token(chat_id), ChatRoom, lambda room, s, cid=chat_id: refresh_room_now(room, s, cid))
        except Exception:  # noqa: BLE001 - one room's failure must not end the pass
            logger.exception("keeping the room of chat %s alive failed", chat_id)
        await asyncio.sleep(KEEPALIVE_GAP)
    return len(ids)


async def end_overdue_waiting() -> list[int]:
    """One pass of 대기 시간 제한: the chats queued too long end, their rooms show why (the
    customer's window offers the 1:1 문의), and the waiting ones behind them move up."""
    with session_scope() as session:
        ended = chat_service.end_overdue_waiting(session)
    for chat_id in ended:
        publish_room(chat_id)
    if ended:
        logger.info("%d chat(s) waited longer than the queue time limit and left the queue", len(ended))
        publish_queue()
    return ended


LEADER_KEY = "oc-presence-leader"


async def leading(redis, me: str, ttl_ms: int, key: str = LEADER_KEY) -> bool:
    """Whether this worker runs the presence pass (or another job named by `key`): one worker
    does, for as long as it lives.

    A pass touches every Online agent's desk (a state lock cycle each); run by every worker it
    was done N times per interval, a burst that showed in the message latency under load.
    """
    if await redis.set(key, me, nx=True, px=ttl_ms):
        return True
    if await redis.get(key) == me.encode():
        await redis.pexpire(key, ttl_ms)
        return True
    return False


async def presence_loop() -> None:
    """The lifespan task."""
    interval = float(os.environ.get("OC_PRESENCE_SECONDS", "30"))
    away_after = float(os.environ.get("OC_AWAY_SECONDS", "180"))
    absent_since: dict[int, float] = {}
    passes = 0
    url = redis_url()
    redis = aioredis.from_url(url) if url else None
    me = uuid.uuid4().hex  # created in the worker (the app is imported before the fork)
    while True:
        await asyncio.sleep(interval)
        try:
            if redis is not None and not await leading(redis, me, int(interval * 3000)):
                continue
            passes += 1
            await check_presence(absent_since, away_after)
            await end_overdue_waiting()
            if passes % ROOM_KEEPALIVE_EVERY == 0:
                await keep_rooms_alive()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - keep the loop alive, say why
            logger.exception("presence check failed")
