"""The message path between workers (realtime/wire.py): each worker subscribes to a room's Redis
channel while it has sockets in that room, and re-emits what the others publish there.

Four namespaces stand for four workers (each with a recording stand-in for its socket.io server),
on the real PostgreSQL and Redis the workers share: a message reaches the sockets on the other
workers once each, a worker without sockets in the rooms never handles it, and a worker whose
last socket left a room drops the room's channel."""

from __future__ import annotations

import asyncio
import time
import uuid

import redis.asyncio as aioredis
from sqlmodel import select

from online_contact.models import Agent
from online_contact.realtime import relay as relay_module
from online_contact.realtime.relay import channel
from online_contact.realtime.wire import WireNamespace, chat_room, desk_room
from online_contact.services import chats as chat_service
from online_contact.services.auth import start_session
from online_contact.services.db import _async_engine, async_engine, session_scope
from tests.integration.conftest import reset_workspace, start_customer_chat
from tests.support import RecordingSocketServer, run_async


def open_chat(pg_url: str) -> tuple[int, int, str, str]:
    """A chat of agent1 with a new customer, opened by agent1: (chat id, agent id, visitor key,
    agent's token)."""
    reset_workspace(pg_url)
    with session_scope(pg_url) as s:
        agent = s.exec(select(Agent).where(Agent.email == "agent1@example.com")).one()
        agent.status, agent.max_open_chats = "online", 5
        s.add(agent)
        s.commit()
        key = f"relay-{uuid.uuid4().hex}"
        chat = start_customer_chat(s, key, "릴레이")
        assert chat.agent_id == agent.id
        chat_service.mark_opened(s, chat, agent)
        return chat.id, agent.id, key, start_session(s, agent)


async def until(check, what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        await asyncio.sleep(0.02)


def test_messages_cross_workers_once_and_only_where_someone_is(pg_url, redis_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setattr(relay_module, "SWEEP_SECONDS", 0.3)
    chat_id, agent_id, visitor_key, token = open_chat(pg_url)

    async def scenario():
        workers = {name: WireNamespace() for name in "ABCD"}
        for ns in workers.values():
            ns._set_server(RecordingSocketServer())
        tasks = [asyncio.create_task(ns.relay()) for ns in workers.values()]
        a, b, c, d = (workers[n] for n in "ABCD")
        probe = aioredis.from_url(redis_url)
        try:
            await until(lambda: all(ns._pubsub is not None for ns in workers.values()), "every relay subscribed")
            # The customer's tab on A, the agent's chat tab on B, the agent's chat list on C;
            # D has no sockets at all.
            await a.on_connect("cust", {}, {"role": "customer", "credential": visitor_key})
            assert (await a.on_join("cust", {"chat_id": chat_id}))["ok"]
            await b.on_connect("agent", {}, {"role": "agent", "credential": token})
            assert (await b.on_join("agent", {"chat_id": chat_id}))["ok"]
            await c.on_connect("home", {}, {"role": "agent", "credential": token})
            assert channel(chat_room(chat_id)) in a._channels and channel(desk_room(agent_id)) in c._channels
            assert d._channels == {}

            long = "배송은 언제 오나요? 주문번호와 주소를 적어 드릴게요, 확인 부탁드립니다. 감사합니다!"
            sent = await a.on_send("cust", {"chat_id": chat_id, "client_id": "r1", "text": long})
            assert sent["ok"]
            # B's socket is in both rooms: the message once, and not the preview (each worker
            # leaves its own sockets in the chat's room out of the preview). C (the chat list):
            # the preview only, never the text.
            await until(lambda: b.server.delivered() and c.server.previewed(), "the customer's message on B and C")
            await asyncio.sleep(0.2)
            assert b.server.delivered() == [("agent", long)] and b.server.previewed() == []
            assert c.server.previewed() == [("home", long[:40])] and c.server.delivered() == []
            assert a.server.delivered() == []  # the sender has it in its answer

            reply = await b.on_send("agent", {"chat_id": chat_id, "client_id": "r2", "text": "내일 도착합니다"})
            assert reply["ok"]
            await until(lambda: a.server.delivered() and len(c.server.previewed()) == 2, "the agent's reply on A and C")
            await asyncio.sleep(0.2)
            assert a.server.delivered() == [("cust", "내일 도착합니다")]
            assert c.server.previewed() == sorted([("home", long[:40]), ("home", "내일 도착합니다")])
            assert d.server.emits == []  # never handled where nobody is

            # The chat list tab closes: C drops the agent's channel and hears nothing more.
            await c.server.disconnect("home")
            desk = channel(desk_room(agent_id))
            await until(lambda: desk not in c._channels, "C dropped the channel", timeout=3)
            handled = len(c.server.emits)
            assert (await a.on_send("cust", {"chat_id": chat_id, "client_id": "r3", "text": "감사합니다"}))["ok"]
            await until(lambda: len(b.server.delivered()) == 2, "B still gets the chat")
            await asyncio.sleep(0.2)
            assert len(c.server.emits) == handled
            # Redis agrees: only B listens for the agent now, A and B for the chat.
            counts = dict(await probe.pubsub_numsub(desk, channel(chat_room(chat_id))))
            assert counts == {desk.encode(): 1, channel(chat_room(chat_id)).encode(): 2}
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await probe.aclose()
            for ns in workers.values():
                if ns._redis is not None:
                    await ns._redis.aclose()
            eng = async_engine()
            if eng is not None:
                await eng.dispose()  # its connections belong to this test's event loop
            _async_engine.cache_clear()

    run_async(scenario())


def test_a_chat_that_leaves_its_agent_leaves_their_sockets_on_every_worker(pg_url, redis_url, monkeypatch):
    """Issue 23: the chat is handed on (agent2 has it now) while agent1's socket on worker B is in
    its room; the worker that moved it (A, with no socket of agent1) says so once: B's socket
    leaves the room before the room hears anything more, and gets nothing of the chat after."""
    from sqlalchemy import update

    from online_contact.models import Chat

    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    chat_id, agent_id, visitor_key, token = open_chat(pg_url)

    async def scenario():
        workers = {name: WireNamespace() for name in "AB"}
        for ns in workers.values():
            ns._set_server(RecordingSocketServer())
        tasks = [asyncio.create_task(ns.relay()) for ns in workers.values()]
        a, b = workers["A"], workers["B"]
        try:
            await until(lambda: all(ns._pubsub is not None for ns in workers.values()), "every relay subscribed")
            await a.on_connect("cust", {}, {"role": "customer", "credential": visitor_key})
            assert (await a.on_join("cust", {"chat_id": chat_id}))["ok"]
            await b.on_connect("agent1", {}, {"role": "agent", "credential": token})
            assert (await b.on_join("agent1", {"chat_id": chat_id}))["ok"]
            # The customer's other tab on B: what it gets says B has handled a message.
            await b.on_connect("cust-b", {}, {"role": "customer", "credential": visitor_key})
            assert (await b.on_join("cust-b", {"chat_id": chat_id}))["ok"]
            assert (await a.on_send("cust", {"chat_id": chat_id, "client_id": "m1", "text": "처음"}))["ok"]
            await until(lambda: ("agent1", "처음") in b.server.delivered(), "the control: agent1's socket gets the chat")

            with session_scope(pg_url) as s:
                agent2 = s.exec(select(Agent).where(Agent.email == "agent2@example.com")).one()
                s.exec(update(Chat).where(Chat.id == chat_id).values(agent_id=agent2.id))
                s.commit()
            await a.chat_moved(chat_id)
            await until(lambda: "agent1" not in b.server.rooms[chat_room(chat_id)], "B let agent1's socket go")
            assert b.server.sessions["agent1"]["chat_id"] == 0
            assert "cust" in a.server.rooms[chat_room(chat_id)]  # the customer stays
            assert all(event != "oc-chat-moved" for event, *_ in a.server.emits + b.server.emits)  # no page hears it

            handled = len(b.server.emits)
            assert (await a.on_send("cust", {"chat_id": chat_id, "client_id": "m2", "text": "두 번째 비밀"}))["ok"]
            await until(lambda: ("cust-b", "두 번째 비밀") in b.server.delivered(), "B handled the next message")
            after = [sid for _e, _d, rooms, skip in b.server.emits[handled:] for sid in b.server.receivers(rooms, skip)]
            assert after == ["cust-b"]
            assert await b.on_send("agent1", {"chat_id": chat_id, "client_id": "m3", "text": "끼어들기"}) == {"error": "not_allowed"}
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for ns in workers.values():
                if ns._redis is not None:
                    await ns._redis.aclose()
            eng = async_engine()
            if eng is not None:
                await eng.dispose()
            _async_engine.cache_clear()

    run_async(scenario())


def test_saved_masking_switches_reach_every_worker_at_once(pg_url, redis_url, monkeypatch):
    """설정 › 개인정보 saved in one worker: every other worker reads the switches again at once,
    even one with no customer page open (it watches no room the save is announced in), so a kind
    switched back on is masked by all of them from the next message, not up to
    privacy.CACHE_SECONDS later. (The workers share this process's cache here; the word from A
    is what makes B's relay clear it, and A's own relay ignores its own word.)"""
    from online_contact.models import ChatSettings
    from online_contact.services import privacy

    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setattr(privacy, "CACHE_SECONDS", 600.0)  # only the word can make it read again
    chat_id, _agent_id, _visitor_key, token = open_chat(pg_url)

    def set_phone_masking(on: bool) -> None:
        with session_scope(pg_url) as s:
            settings = s.exec(select(ChatSettings)).one()
            settings.mask_phone = on
            s.add(settings)

    async def scenario():
        a, b = WireNamespace(), WireNamespace()
        for ns in (a, b):
            ns._set_server(RecordingSocketServer())
        tasks = [asyncio.create_task(ns.relay()) for ns in (a, b)]
        try:
            await until(lambda: a._pubsub is not None and b._pubsub is not None, "both relays subscribed")
            set_phone_masking(False)
            privacy.forget_cached_kinds()
            # Only the agent's socket on B: B is in no customer's room.
            await b.on_connect("agent", {}, {"role": "agent", "credential": token})
            assert (await b.on_join("agent", {"chat_id": chat_id}))["ok"]
            off = await b.on_send("agent", {"chat_id": chat_id, "client_id": "s1", "text": "010-1234-5678로 연락드릴게요"})
            assert off["message"]["text"] == "010-1234-5678로 연락드릴게요"  # switched off, read into the cache

            # Switched back on by an admin whose page is served by A (the handler's database
            # write, then its word to the other workers).
            set_phone_masking(True)
            assert privacy.masking_kinds() == privacy.kinds_of(ChatSettings(mask_phone=False))  # still cached
            await a.settings_changed()
            await until(lambda: not privacy._cache, "B forgot the cached switches")
            on = await b.on_send("agent", {"chat_id": chat_id, "client_id": "s2", "text": "010-1234-5678로 연락드릴게요"})
            assert on["message"]["text"] == "010-****-5678로 연락드릴게요"
        finally:
            set_phone_masking(True)
            privacy.forget_cached_kinds()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for ns in (a, b):
                if ns._redis is not None:
                    await ns._redis.aclose()
            eng = async_engine()
            if eng is not None:
                await eng.dispose()
            _async_engine.cache_clear()

    run_async(scenario())
