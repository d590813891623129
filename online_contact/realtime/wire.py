"""The message path: chat messages on their own socket.io namespace, beside Reflex's state sync.

Why: a Reflex event costs a state lock, a state load and save and a delta per tab (with Redis,
several Redis round trips each), and a message needs several of them (sender, room, fan-out,
desk). Here a message costs the posting gate, the insert and one emit per room.

The page opens this namespace on Reflex's own socket.io connection (assets/chat_wire.jsx), so
it shares Reflex's reconnection; everything else (status, rooms' flags, rating, history) stays in
Reflex's states. The Reflex send handlers stay as the fallback the page uses whenever the wire is
not joined or refuses a message, so their error messages and the kept text work as before.

Events (namespace ``/_wire``):
- connect, auth ``{role: "customer", credential: <visitor key, or '' before the first chat>}`` or
  ``{role: "agent", credential: <login token>}``; a customer's socket joins the room ``site``
  (settings pushed live: ``site {chat_enabled}``); an agent's socket joins ``agent-<id>`` (desk
  previews), ``agents`` (``categories``) and ``login-<login id>`` (only the last with ``history:
  true``: 채팅 기록's socket), and is disconnected the moment its login ends (``end_logins``, on
  every worker through Redis; a 30 s check catches the rest);
- ``join {chat_id, after, credential}`` → ``{ok, chat_id, messages, more}``: the same gate as
  posting (a customer's page sends its visitor key again: it may have connected before it had
  one); the socket leaves its previous chat room and gets the messages after ``after``
  (catch-up), a page of at most about 64 KB (services.messages.PAGE_BYTES, at least one
  message), read off the event loop; ``more`` says the page asks again after the last seq it got.
  The gate is asked again once the socket is in the room and after the read: a chat that moved
  meanwhile answers ``not_allowed`` and the socket is out of its room (``older`` likewise);
- ``older {chat_id, before, after}`` → ``{ok, chat_id, messages, more, before, after}`` (이전 메시지
  보기): the same gate; a page of the messages after < seq < before, the newest of them (paging
  back), or the oldest when ``after`` is given (a gap filled from its older end). The page keeps
  them in a client-only list, one copy per tab in the browser and none on the server;
- ``join``, ``older`` and ``watch`` are rate-limited per socket (JOIN_BURST at once, JOIN_RATE a
  second after that, no database involved): over it the answer is ``{error: "error.too_fast",
  retry_ms}`` and the page asks again after retry_ms;
- ``send {chat_id, client_id, text}`` → ``{ok, message}`` or ``{error}``: stored once per client id
  (``services.messages.post_message``; on PostgreSQL first ``post_message_fast``, one statement),
  then ``message`` (the whole message) goes to every other socket in the room ``chat-<id>``, and
  ``preview {chat_id, seq, author, preview}`` (its first 40 characters, for the chat list) to
  every other socket in ``agent-<id>`` that is not in ``chat-<id>``: one packet per socket, and
  a tab of the agent that has not opened the chat never gets its text (``deliver``);
- a chat that leaves an agent (``chat_moved``): before its room hears anything more, the agents'
  sockets in ``chat-<id>`` that may no longer post in it leave it, on every worker;
- ``watch {chat_id}`` → ``{ok, chat_id}`` (채팅 기록's side panel, assets/history_wire.jsx; 0 stops): the
  rule of 채팅 기록 (services.history.chat_for: an admin any chat, an agent the chats they
  handled); the socket is in the room ``history-<id>`` and gets ``changed {chat_id}`` when the
  chat's stored text changes elsewhere (마스킹, 고객 정보 삭제) — never a text: the panel reads
  it again through its own state. The rule is checked again before a room hears anything (the
  chat may have been handed on since).

Several workers: every emit is also published on Redis, one channel per room, and a worker
listens on a room's channel while it has sockets in that room (realtime/relay.py).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Sequence

import socketio
from sqlalchemy.exc import SQLAlchemyError

from online_contact.config import trusted_proxy_hops
from online_contact.models.chat import AUTHOR_AGENT, AUTHOR_CUSTOMER
from online_contact.services import history, limits
from online_contact.services import messages as message_service
from online_contact.services.auth import live_logins, login_for_token
from online_contact.services.db import async_engine, session_scope
from online_contact.services.errors import ServiceError
from online_contact.services.text import LIMITS, MAX_DB_ID, READ_AT_MOST, as_text, parse_id

from .reflex_internals import room_members, socket_rooms
from .relay import LOGINS_CHANNEL, Relay

logger = logging.getLogger(__name__)

NAMESPACE = "/_wire"
ROLE_CUSTOMER = "customer"
ROLE_AGENT = "agent"
# join, older and watch per socket: a token bucket of JOIN_BURST, refilled at JOIN_RATE a second
# (40 pipelined joins of a chat with long messages stalled every socket of the worker).
JOIN_BURST = 10
JOIN_RATE = 5.0
# An agent's socket whose login ended is let go within this long (see drop_ended_logins).
RECHECK_LOGINS_SECONDS = 30.0
# What the agent's sockets outside the chat's room get of a message (see deliver).
PREVIEW = "preview"
# Between workers only: a chat left an agent (see chat_moved); no page ever gets it.
MOVED = "oc-chat-moved"


def chat_room(chat_id: int) -> str:
    return f"chat-{chat_id}"


def desk_room(agent_id: int) -> str:
    return f"agent-{agent_id}"


def history_room(chat_id: int) -> str:
    return f"history-{chat_id}"


def login_room(login_id: int) -> str:
    return f"login-{login_id}"


# Every customer page (help center, widget) and every agent's socket: for settings pushed live.
SITE_ROOM = "site"
AGENTS_ROOM = "agents"


def client_ip(environ: dict) -> str:
    """The socket's client address as Reflex's handlers see it (router.session.client_ip): the
    peer's, or the one the OC_TRUSTED_PROXY_HOPS-th proxy from the end of X-Forwarded-For saw."""
    scope = environ.get("asgi.scope") or {}
    try:
        ip = scope["client"][0]
    except (KeyError, IndexError, TypeError):
        ip = environ.get("REMOTE_ADDR", "")
    hops = trusted_proxy_hops()
    if hops:
        forwarded = [part.strip() for part in str(environ.get("HTTP_X_FORWARDED_FOR", "")).split(",") if part.strip()]
        if len(forwarded) >= hops:
            ip = forwarded[-hops]
    return as_text(ip, 64)


class Buckets:
    """A token bucket per socket (join, older, watch): cheap, in memory, never the database."""

    def __init__(self, burst: int = JOIN_BURST, rate: float = JOIN_RATE, clock=time.monotonic) -> None:
        self.burst, self.rate, self.clock = burst, rate, clock
        self.tokens: dict[str, tuple[float, float]] = {}  # sid -> (tokens, when counted)

    def take(self, sid: str) -> int:
        """0 when the socket may go on (one token taken), else the milliseconds until it may."""
        now = self.clock()
        tokens, then = self.tokens.get(sid, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.rate)
        if tokens < 1:
            self.tokens[sid] = (tokens, now)
            return max(1, int((1 - tokens) / self.rate * 1000) + 1)
        self.tokens[sid] = (tokens - 1, now)
        return 0

    def forget(self, sid: str) -> None:
        self.tokens.pop(sid, None)


def _seq(value) -> int:
    """A sequence number from a client: 0 unless it is a sensible non-negative int."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_DB_ID else 0


def _answers_errors(handler):
    """A client may send anything: whatever a handler did not expect becomes an error answer
    (logged), never an exception out of the namespace."""

    @functools.wraps(handler)
    async def guarded(self, sid, *args):
        try:
            return await handler(self, sid, *args)
        except ServiceError as exc:
            return {"error": exc.code}
        except Exception:  # noqa: BLE001 - say why in the log, answer the client
            logger.exception("wire: %s failed", handler.__name__)
            return {"error": "error.unexpected"}

    return guarded


def _rate_limited(handler):
    """join, older and watch: the socket's bucket (Buckets) first, before anything is read; over
    it the answer is ``{error: "error.too_fast", retry_ms}`` and the page asks again then."""

    @functools.wraps(handler)
    async def limited(self, sid, *args):
        wait_ms = self.buckets.take(sid)
        if wait_ms:
            return {"error": "error.too_fast", "retry_ms": wait_ms}
        return await handler(self, sid, *args)

    return limited


def _author(who: dict, chat) -> tuple[str, int | None]:
    """Who a post by this socket is from: (author, agent id for an agent's post). The gate has
    checked that an agent's socket belongs to the chat's agent."""
    if who["role"] == ROLE_AGENT:
        return AUTHOR_AGENT, chat.agent_id
    return AUTHOR_CUSTOMER, None


def _stored(chat_id: int, message, agent_id: int | None, created: bool = True) -> tuple[dict, int | None, bool]:
    """The stored message as sent to the pages, the chat's agent (whose tabs get it too), and
    whether this post stored it (False: a resend of a message stored already)."""
    return {"chat_id": chat_id, **message_service.view(message).as_dict()}, agent_id, created


class WireNamespace(Relay):
    """The server side of the message path (one per worker, registered on Reflex's server)."""

    def __init__(self) -> None:
        super().__init__(NAMESPACE)
        self.buckets = Buckets()

    # ---- connection ---------------------------------------------------------------------
    async def on_connect(self, sid: str, environ: dict, auth=None):
        auth = auth if isinstance(auth, dict) else {}
        role = auth.get("role")
        credential = as_text(auth.get("credential"), 200)
        login_id = 0
        if role == ROLE_AGENT:
            with session_scope() as session:
                found = login_for_token(session, credential)
                login_id, agent_id = (found[0].id, found[1].id) if found else (0, 0)
            if not login_id:
                raise socketio.exceptions.ConnectionRefusedError("not_allowed")
            await self.enter_room(sid, login_room(login_id))
            # 채팅 기록's socket only watches its panel's chat: no previews, no settings.
            if auth.get("history") is not True:
                await self.enter_room(sid, desk_room(agent_id))
                await self.enter_room(sid, AGENTS_ROOM)
                await self.watch(desk_room(agent_id))
                await self.watch(AGENTS_ROOM)
        elif role == ROLE_CUSTOMER:
            # Every help-center and widget tab, with a chat or not: settings reach them live
            # (채팅 사용 on/off). Without a visitor key it can join and send nothing.
            await self.enter_room(sid, SITE_ROOM)
            await self.watch(SITE_ROOM)
        else:
            raise socketio.exceptions.ConnectionRefusedError("not_allowed")
        await self.save_session(
            sid, {"role": role, "credential": credential, "login_id": login_id, "chat_id": 0, "ip": client_ip(environ or {})},
        )

    async def on_disconnect(self, sid: str, *args) -> None:
        self.buckets.forget(sid)

    def _gate(self, session, who: dict, chat_id: int):
        if who["role"] == ROLE_AGENT:
            return message_service.chat_for_agent_token(session, chat_id, who["credential"])
        return message_service.chat_for_visitor(session, chat_id, who["credential"])

    # On SQLite the database work is synchronous, as in the Reflex handlers (a local file; a
    # thread pool was measured: more CPU per message and a worse p95 under load).
    def _allowed_now(self, who: dict, chat_id: int) -> bool:
        with session_scope() as session:
            return self._gate(session, who, chat_id) is not None

    @staticmethod
    def _page_now(chat_id: int, after: int, before: int | None, newest: bool) -> tuple[list[dict], bool]:
        """A page of the chat's messages (services.messages.page_after / page_before); called in a
        thread, so that reading and sizing it never holds the worker's other sockets."""
        with session_scope() as session:
            if newest:
                found, more = message_service.page_before(session, chat_id, before, after)
            else:
                found, more = message_service.page_after(session, chat_id, after, before)
            return [m.as_dict() for m in found], more

    def _store_now(self, who: dict, chat_id: int, text: str, client_id: str | None) -> tuple[dict, int | None, bool] | None:
        with session_scope() as session:
            chat = self._gate(session, who, chat_id)
            if chat is None:
                return None
            author, agent_id = _author(who, chat)
            message, created = message_service.post_message(session, chat, author, text, client_id, agent_id)
            return _stored(chat.id, message, chat.agent_id, created)

    @_answers_errors
    @_rate_limited
    async def on_join(self, sid: str, data=None):
        data = data if isinstance(data, dict) else {}
        chat_id, after = parse_id(data.get("chat_id")), _seq(data.get("after"))
        who = await self.get_session(sid)
        credential = as_text(data.get("credential"), 200)
        if who["role"] == ROLE_CUSTOMER and credential and credential != who["credential"]:
            # A page that connected before its first chat has a visitor key now (it is the
            # visitor's own secret: knowing it is being that visitor). Kept only once it opens
            # this chat: a wrong one leaves the socket as it was.
            candidate = {**who, "credential": credential}
            if not self._allowed_now(candidate, chat_id):
                return {"error": "not_allowed"}
            who = candidate
        elif not self._allowed_now(who, chat_id):
            return {"error": "not_allowed"}
        if who["chat_id"] and who["chat_id"] != chat_id:
            await self.leave_room(sid, chat_room(who["chat_id"]))
        who["chat_id"] = chat_id
        await self.save_session(sid, who)
        # In the room and on its channel before reading what was missed: a message stored
        # meanwhile comes in the answer, live, or both (the page keeps one per seq).
        await self.enter_room(sid, chat_room(chat_id))
        # A chat_moved landing at the awaits above found this socket not yet in the room (so it
        # let go of nothing): ask again now that it is in, and again after the read (a move
        # committed meanwhile may have put the new agent's replies in the page).
        if not self._allowed_now(who, chat_id):
            return await self._leave_chat(sid, chat_id)
        await self.watch(chat_room(chat_id))
        messages, more = await asyncio.to_thread(self._page_now, chat_id, after, None, False)
        if not self._allowed_now(who, chat_id):
            return await self._leave_chat(sid, chat_id)
        return {"ok": True, "chat_id": chat_id, "messages": messages, "more": more}

    async def _leave_chat(self, sid: str, chat_id: int) -> dict:
        """The socket may no longer be in this chat: out of its room, no chat in its session."""
        await self.leave_room(sid, chat_room(chat_id))
        who = await self.get_session(sid)
        if who.get("chat_id") == chat_id:
            who["chat_id"] = 0
            await self.save_session(sid, who)
        return {"error": "not_allowed"}

    @_answers_errors
    @_rate_limited
    async def on_older(self, sid: str, data=None):
        """이전 메시지 보기: a page of the messages before ``before`` (see the module docstring)."""
        data = data if isinstance(data, dict) else {}
        chat_id, before, after = parse_id(data.get("chat_id")), _seq(data.get("before")), _seq(data.get("after"))
        who = await self.get_session(sid)
        # The chat this socket has joined (the page's open chat), still allowed now.
        if not chat_id or chat_id != who["chat_id"] or not self._allowed_now(who, chat_id):
            return {"error": "not_allowed"}
        messages, more = await asyncio.to_thread(self._page_now, chat_id, after, before, not after)
        if not self._allowed_now(who, chat_id):  # moved during the read (see on_join)
            return await self._leave_chat(sid, chat_id)
        return {"ok": True, "chat_id": chat_id, "messages": messages, "more": more, "before": before, "after": after}

    async def _store_async(self, eng, who: dict, chat_id: int, text: str, client_id: str | None):
        """PostgreSQL: the common case in one round trip on an async connection, so the worker
        serves its other sockets meanwhile (blocking round trips stalled them under load);
        anything else (refused, chat ended, a resend) takes the full path, which says why."""
        credential = {"auth_token" if who["role"] == ROLE_AGENT else "visitor_key": who["credential"]}
        async with eng.connect() as conn:
            done = await message_service.post_message_fast(conn, chat_id, text, client_id, **credential)
        if done is None:
            return self._store_now(who, chat_id, text, client_id)
        return _stored(chat_id, *done)

    def _may_view_now(self, who: dict, chat_id: int) -> bool:
        with session_scope() as session:
            found = login_for_token(session, who["credential"])
            if found is None:
                return False
            try:
                history.chat_for(session, found[1], chat_id)
            except ServiceError:
                return False
            return True

    @_answers_errors
    @_rate_limited
    async def on_watch(self, sid: str, data=None):
        data = data if isinstance(data, dict) else {}
        chat_id = parse_id(data.get("chat_id"))
        who = await self.get_session(sid)
        if who["role"] != ROLE_AGENT:
            return {"error": "not_allowed"}
        allowed = not chat_id or self._may_view_now(who, chat_id)
        watched = who.get("watch_id", 0)
        if watched and (watched != chat_id or not allowed):
            await self.leave_room(sid, history_room(watched))
        who["watch_id"] = chat_id if allowed else 0
        await self.save_session(sid, who)
        if not allowed:  # and what it watched before is let go: the panel moved on
            return {"error": "not_allowed"}
        if chat_id:
            await self.enter_room(sid, history_room(chat_id))
            await self.watch(history_room(chat_id))
        return {"ok": True, "chat_id": chat_id}

    async def transcript_changed(self, chat_ids) -> None:
        """The stored text of these chats changed (마스킹, 고객 정보 삭제): the 채팅 기록 panels
        showing them, on any worker, read it again."""
        for chat_id in sorted(set(chat_ids)):
            await self.broadcast("changed", {"chat_id": chat_id}, [history_room(chat_id)])

    async def emit_here(
        self, event: str, data: dict, rooms: list[str], skip_sid: str | None = None, skip_rooms: Sequence[str] = ()
    ) -> None:
        if event == MOVED:
            # Not for the pages (their Reflex state closes the chat): only the room's sockets move.
            await self._let_go_of_lost_agents(rooms)
            return
        if event == "changed":
            await self._let_go_of_lost_watchers(rooms)
        await super().emit_here(event, data, rooms, skip_sid, skip_rooms)

    async def chat_moved(self, chat_id: int) -> None:
        """The chat left an agent (realtime.publish.chat_moved): on every worker, the agents'
        sockets in its room that may no longer post in it leave it before it hears anything more."""
        await self.broadcast(MOVED, {"chat_id": chat_id}, [chat_room(chat_id)])

    async def _let_go_of_lost_agents(self, rooms: list[str]) -> None:
        """The sockets here in these chat rooms whose agent the chat is no longer (or who has
        not opened it) leave them: the posting gate again, one query per agent socket (a chat
        moves rarely; its customers' sockets are left alone)."""
        for room in rooms:
            chat_id = parse_id(room.removeprefix("chat-"))
            for sid in sorted(room_members(self.server, NAMESPACE, room)):
                try:
                    who = await self.get_session(sid)
                except KeyError:  # gone meanwhile
                    continue
                if who["role"] != ROLE_AGENT or (chat_id and self._allowed_now(who, chat_id)):
                    continue
                await self.leave_room(sid, room)
                if who.get("chat_id") == chat_id:
                    who["chat_id"] = 0
                    await self.save_session(sid, who)

    async def deliver(self, message: dict, agent_id: int | None, skip_sid: str | None = None) -> None:
        """A stored message (with its chat_id) to whoever may read it, one packet per socket: the
        whole message to the chat's room (its customer's pages and the agent's tabs that opened
        it and joined), only its preview to the agent's other sockets (the chat list: a tab that
        has not opened the chat never gets its text). No database: the rooms say who is where."""
        room = chat_room(message["chat_id"])
        sends = [("message", message, [room], ())]
        if agent_id:
            preview = {
                "chat_id": message["chat_id"],
                "seq": message["seq"],
                "author": message["author"],
                "preview": message_service.preview(message["text"]),
            }
            sends.append((PREVIEW, preview, [desk_room(agent_id)], (room,)))
        await self.broadcast_all(sends, skip_sid)

    async def _let_go_of_lost_watchers(self, rooms: list[str]) -> None:
        """A watch is allowed when it is asked for; a chat may be handed on to another agent
        since. Before a history room hears anything, its sockets here whose login may no longer
        see the chat leave it (changes are rare: a query per watcher is cheap)."""
        for room in rooms:
            chat_id = parse_id(room.removeprefix("history-"))
            for sid in sorted(room_members(self.server, NAMESPACE, room)):
                try:
                    who = await self.get_session(sid)
                except KeyError:  # gone meanwhile
                    continue
                if not chat_id or not self._may_view_now(who, chat_id):
                    await self.leave_room(sid, room)

    @_answers_errors
    async def on_send(self, sid: str, data=None):
        data = data if isinstance(data, dict) else {}
        chat_id = parse_id(data.get("chat_id"))
        text = data.get("text")
        client_id = as_text(data.get("client_id"), LIMITS["client_id"]) or None
        if not isinstance(text, str):
            return {"error": "error.message_empty"}
        text = text[: READ_AT_MOST]  # longer is refused as too long anyway; nothing more is kept
        who = await self.get_session(sid)
        # Over all of a visitor's chats and all chats from one address (no database round trip;
        # one to Redis with REDIS_URL): the page sends a refused message again a second later.
        # Only a message this send stores keeps its count (limits.message_not_stored).
        counted_at = limits.now() if who["role"] == ROLE_CUSTOMER and text.strip() else 0.0
        if counted_at and not await limits.message_allowed(who["credential"], who.get("ip", ""), counted_at):
            return {"error": "error.too_fast"}
        stored = None
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
        finally:
            if counted_at and (stored is None or not stored[2]):
                await limits.message_not_stored(who["credential"], who.get("ip", ""), counted_at)
        if stored is None:
            return {"error": "not_allowed"}
        payload, agent_id, _created = stored
        # The chat's other tabs get it, the agent's other tabs its preview; the sender has it in
        # its answer.
        await self.deliver(payload, agent_id, skip_sid=sid)
        return {"ok": True, "message": payload}

    async def end_logins(self, login_ids, relay: bool = True) -> int:
        """A login ended (logout, logout everywhere, expiry, deactivation): disconnect its sockets
        here now, and tell the other workers to do the same. Returns the sockets let go here."""
        ids = sorted({int(i) for i in login_ids})
        if not ids:
            return 0
        sids = {sid for login_id in ids for sid in room_members(self.server, NAMESPACE, login_room(login_id))}
        for sid in sids:
            await self.disconnect(sid)
        if relay:
            try:
                await self._tell_workers(LOGINS_CHANNEL, [ids])
            except Exception:  # noqa: BLE001 - the 30 s check (drop_ended_logins) still catches them
                logger.exception("wire: telling the other workers about ended logins failed")
        return len(sids)

    async def drop_ended_logins(self) -> list[str]:
        """Disconnect the agents' sockets whose login ended since they connected: end_logins does
        it at once; this catches anything it missed (a worker that was away from Redis)."""
        rooms = socket_rooms(self.server, NAMESPACE)
        sids = {sid for room, members in list(rooms.items()) if str(room).startswith("login-") for sid in list(members)}
        logins = {}
        for sid in sids:
            try:
                logins[sid] = (await self.get_session(sid))["login_id"]
            except KeyError:  # gone meanwhile
                continue
        if not logins:
            return []
        with session_scope() as session:
            live = live_logins(session, set(logins.values()))
        ended = sorted(sid for sid, login_id in logins.items() if login_id not in live)
        for sid in ended:
            await self.disconnect(sid)
        return ended

    async def recheck_logins(self) -> None:
        """Lifespan task: drop_ended_logins every RECHECK_LOGINS_SECONDS."""
        while True:
            await asyncio.sleep(RECHECK_LOGINS_SECONDS)
            try:
                ended = await self.drop_ended_logins()
                if ended:
                    logger.info("wire: %d agent socket(s) whose login ended were disconnected", len(ended))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep checking; say why
                logger.exception("wire: checking logins failed")

    async def announce(self, event: str, data: dict, room: str) -> None:
        """Push a change of the settings to every page in `room` (SITE_ROOM: customers' pages,
        AGENTS_ROOM: agents'), on every worker: e.g. ``site {chat_enabled}``, ``categories``."""
        await self.broadcast(event, data, [room])

WIRE = WireNamespace()


def install(app) -> None:
    """Register the namespace on the app's socket.io server and its relay as a lifespan task."""
    app.sio.register_namespace(WIRE)
    app.register_lifespan_task(WIRE.relay)
    app.register_lifespan_task(WIRE.recheck_logins)

