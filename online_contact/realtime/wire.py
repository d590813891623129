"""The message path: chat messages on their own socket.io namespace, beside Reflex's state sync.

Why: a Reflex event costs a state lock, a state load and save and a delta per tab (with Redis,
several Redis round trips each), and a message needs several of them (sender, room, fan-out,
desk). Here a message costs the posting gate, the insert and one emit per room.

The page opens this namespace on Reflex's own socket.io connection (assets/chat_wire.jsx), so
it shares Reflex's reconnection; everything else (status, rooms' flags, rating, history) stays in
Reflex's states. The Reflex send handlers stay as the fallback the page uses whenever the wire is
not joined or refuses a message, so their error messages and the kept text work as before.

Events (namespace ``/_wire``):
- connect, auth ``{role: "customer", credential: <visitor key>}`` or ``{role: "agent",
  credential: <login token>}``; an agent's socket joins the room ``agent-<id>`` (desk previews);
- ``join {chat_id, after}`` → ``{ok, messages}``: the same gate as posting; the socket leaves its
  previous chat room and gets every message after ``after`` (catch-up after a reconnect);
- ``send {chat_id, client_id, text}`` → ``{ok, message}`` or ``{error}``: stored once per client id
  (``services.chats.post_message``; on PostgreSQL first ``post_message_fast``, one statement), then ``message`` goes once to every other socket in the rooms
  ``chat-<id>`` and ``agent-<id>`` (the agent's chat list shows its preview).

Several workers: every emit is also published on a Redis channel and every worker re-emits what
the others published to its own sockets (Reflex's socket.io server has no Redis manager).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

import socketio
from sqlalchemy.exc import SQLAlchemyError

from online_contact.config import redis_url
from online_contact.services import chats as chat_service
from online_contact.services.auth import agent_for_token
from online_contact.services.chats import AUTHOR_AGENT, AUTHOR_CUSTOMER
from online_contact.services.db import async_engine, session_scope
from online_contact.services.errors import ServiceError

logger = logging.getLogger(__name__)

NAMESPACE = "/_wire"
CHANNEL = "oc-wire"
ROLE_CUSTOMER = "customer"
ROLE_AGENT = "agent"
CATCH_UP_LIMIT = 500


def chat_room(chat_id: int) -> str:
    return f"chat-{chat_id}"


def desk_room(agent_id: int) -> str:
    return f"agent-{agent_id}"


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _author(who: dict, chat) -> tuple[str, int | None]:
    """Who a post by this socket is from: (author, agent id for an agent's post). The gate has
    checked that an agent's socket belongs to the chat's agent."""
    if who["role"] == ROLE_AGENT:
        return AUTHOR_AGENT, chat.agent_id
    return AUTHOR_CUSTOMER, None


def _stored(chat_id: int, message, agent_id: int | None) -> tuple[dict, int | None]:
    """The stored message as sent to the pages, and the chat's agent (whose tabs get it too)."""
    return {"chat_id": chat_id, **chat_service.view(message).as_dict()}, agent_id


class WireNamespace(socketio.AsyncNamespace):
    """The server side of the message path (one per worker, registered on Reflex's server)."""

    def __init__(self) -> None:
        super().__init__(NAMESPACE)
        self.instance = ""
        self._redis = None

    # ---- connection ---------------------------------------------------------------------
    async def on_connect(self, sid: str, environ: dict, auth=None):
        auth = auth if isinstance(auth, dict) else {}
        role = auth.get("role")
        credential = str(auth.get("credential") or "")[:200]
        agent_id = None
        if role == ROLE_AGENT:
            with session_scope() as session:
                agent = agent_for_token(session, credential)
                agent_id = agent.id if agent else None
            if agent_id is None:
                raise socketio.exceptions.ConnectionRefusedError("not_allowed")
            await self.enter_room(sid, desk_room(agent_id))
        elif role != ROLE_CUSTOMER or not credential:
            raise socketio.exceptions.ConnectionRefusedError("not_allowed")
        await self.save_session(sid, {"role": role, "credential": credential, "chat_id": 0})

    def _gate(self, session, who: dict, chat_id: int):
        if who["role"] == ROLE_AGENT:
            return chat_service.chat_for_agent_token(session, chat_id, who["credential"])
        return chat_service.chat_for_visitor(session, chat_id, who["credential"])

    # On SQLite the database work is synchronous, as in the Reflex handlers (a local file; a
    # thread pool was measured: more CPU per message and a worse p95 under load).
    def _join_now(self, who: dict, chat_id: int, after: int) -> list[dict] | None:
        with session_scope() as session:
            if self._gate(session, who, chat_id) is None:
                return None
            return [m.as_dict() for m in chat_service.messages_after(session, chat_id, after, CATCH_UP_LIMIT)]

    def _store_now(self, who: dict, chat_id: int, text: str, client_id: str | None) -> tuple[dict, int | None] | None:
        with session_scope() as session:
            chat = self._gate(session, who, chat_id)
            if chat is None:
                return None
            author, agent_id = _author(who, chat)
            message, _ = chat_service.post_message(session, chat, author, text, client_id, agent_id)
            return _stored(chat.id, message, chat.agent_id)

    async def on_join(self, sid: str, data=None):
        data = data if isinstance(data, dict) else {}
        chat_id, after = _int(data.get("chat_id")), max(0, _int(data.get("after")))
        who = await self.get_session(sid)
        messages = self._join_now(who, chat_id, after)
        if messages is None:
            return {"error": "not_allowed"}
        if who["chat_id"] and who["chat_id"] != chat_id:
            await self.leave_room(sid, chat_room(who["chat_id"]))
        who["chat_id"] = chat_id
        await self.save_session(sid, who)
        await self.enter_room(sid, chat_room(chat_id))
        return {"ok": True, "chat_id": chat_id, "messages": messages}

    async def _store_async(self, eng, who: dict, chat_id: int, text: str, client_id: str | None):
        """PostgreSQL: the common case in one round trip on an async connection, so the worker
        serves its other sockets meanwhile (blocking round trips stalled them under load);
        anything else (refused, chat ended, a resend) takes the full path, which says why."""
        credential = {"auth_token" if who["role"] == ROLE_AGENT else "visitor_key": who["credential"]}
        async with eng.connect() as conn:
            done = await chat_service.post_message_fast(conn, chat_id, text, client_id, **credential)
        if done is None:
            return self._store_now(who, chat_id, text, client_id)
        return _stored(chat_id, *done)

    async def on_send(self, sid: str, data=None):
        data = data if isinstance(data, dict) else {}
        chat_id = _int(data.get("chat_id"))
        text = data.get("text")
        client_id = str(data.get("client_id") or "")[:64] or None
        if not isinstance(text, str):
            return {"error": "error.message_empty"}
        who = await self.get_session(sid)
        try:
            eng = async_engine()
            if eng is None:
                stored = self._store_now(who, chat_id, text, client_id)
            else:
                stored = await self._store_async(eng, who, chat_id, text, client_id)
        except ServiceError as exc:
            return {"error": exc.code}
        except SQLAlchemyError:
            logger.exception("wire send failed")
            return {"error": "error.unexpected"}
        if stored is None:
            return {"error": "not_allowed"}
        payload, agent_id = stored
        # One packet per socket: the chat's other tabs and every tab of its agent (whose chat
        # list shows the preview); the sender has it in its answer.
        rooms = [chat_room(chat_id)] + ([desk_room(agent_id)] if agent_id else [])
        await self.broadcast("message", payload, rooms, skip_sid=sid)
        return {"ok": True, "message": payload}

    # ---- delivery, here and on the other workers -----------------------------------------
    async def broadcast(self, event: str, data: dict, rooms: list[str], skip_sid: str | None = None) -> None:
        """Emit to the sockets in any of `rooms` (each once), here and on the other workers."""
        await self.emit(event, data, room=rooms, skip_sid=skip_sid)
        if self._redis is not None:
            try:
                await self._redis.publish(CHANNEL, json.dumps([self.instance, event, rooms, data], ensure_ascii=False))
            except Exception:  # noqa: BLE001 - delivered here; elsewhere a page sees the gap at
                # its next message (seq skips one) or on its next (re)connect, and joins again
                logger.exception("wire relay publish failed")

    async def relay(self) -> None:
        """Lifespan task: re-emit to this worker's sockets what the other workers published."""
        url = redis_url()
        if not url:
            return
        import redis.asyncio as aioredis

        # The app is imported before the server forks its workers: each worker needs its own id
        # here, or every worker takes the others' publications for its own and drops them.
        self.instance = uuid.uuid4().hex
        self._redis = aioredis.from_url(url)
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                async for item in pubsub.listen():
                    if item.get("type") != "message":
                        continue
                    origin, event, rooms, data = json.loads(item["data"])
                    if origin != self.instance:
                        await self.emit(event, data, room=rooms)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep relaying; say why
                logger.exception("wire relay failed; resubscribing")
                await asyncio.sleep(1.0)
            finally:
                await pubsub.aclose()


WIRE = WireNamespace()


def install(app) -> None:
    """Register the namespace on the app's socket.io server and its relay as a lifespan task."""
    app.sio.register_namespace(WIRE)
    app.register_lifespan_task(WIRE.relay)

