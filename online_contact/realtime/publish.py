"""After the database changed, bring the rooms and desks that show it up to date.

A tab linked to the room changes it in place during its own event (and gets the change in that
event's delta). Other rooms are changed by a task (never inline in the handler: a handler linked
to the same room would deadlock on the room's lock, see ENVIRONMENT.md) that holds the room's
lock. A new message is appended as it was stored; anything else, or a message missing in
between, re-reads the database. reflex_internals.py sends the change to the other linked tabs.

Rooms and desks are keyed by a random secret stored with the chat / agent (``room-<key>``,
``desk-<key>``), never by an id a client could guess; and no tab can connect under such a token
(reflex_internals.guard_connections): a tab reaches a room only by being linked to it here, by a
handler that checked who it is.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Iterable

import reflex as rx
from sqlmodel import Session, select

from online_contact.config import MESSAGE_WINDOW, database_url
from online_contact.models import Agent, Chat, Message
from online_contact.models.chat import AUTHOR_CUSTOMER, AUTHOR_SYSTEM, CHAT_WAITING
from online_contact.services import chats as chat_service
from online_contact.services import messages as message_service
from online_contact.services import routing
from online_contact.services.db import session_scope

from . import reflex_internals as internals
from .reflex_internals import modify_shared, spawn
from .rooms import AgentDesk, ChatRoom

internals.install_fanout(ChatRoom, AgentDesk)

logger = logging.getLogger(__name__)
PREVIEW_LENGTH = message_service.PREVIEW_LENGTH
# Messages appended to a room's `recent` tail before it is folded into the window.
RECENT_MAX = 10


class _SharedTokenDeltaFilter(logging.Filter):
    """Reflex warns on every change of a shared token ('chat-1', 'agent-2') because no socket
    belongs to it; the change does reach the linked tabs. Formatting that warning through the
    console handler cost ~5% of the server's CPU per message, so it is dropped here."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not (
            msg.startswith("Attempting to send delta to disconnected client")
            and ("'room-" in msg or "'desk-" in msg)
        )


logging.getLogger("reflex.app").addFilter(_SharedTokenDeltaFilter())

ROOM_PREFIX = "room-"
DESK_PREFIX = "desk-"
# Keys never change once made, so a worker remembers the ones it looked up (per database).
_KEYS: OrderedDict[tuple[str, str, int], str] = OrderedDict()
KEYS_KEPT = 50_000


def _key(kind: str, ident: int) -> str:
    where = (database_url(), kind, ident)
    cached = _KEYS.get(where)
    if cached is not None:
        _KEYS.move_to_end(where)
        return cached
    with session_scope() as session:
        column = (Chat.room_key, Chat.id) if kind == "room" else (Agent.desk_key, Agent.id)
        key = session.exec(select(column[0]).where(column[1] == ident)).first()
    if not key:
        raise LookupError(f"no {kind} key for {ident}")
    _KEYS[where] = key
    if len(_KEYS) > KEYS_KEPT:
        _KEYS.popitem(last=False)
    return key


def room_token(chat_id: int) -> str:
    """The shared token of a chat's room: ``room-<the chat's secret key>``."""
    return ROOM_PREFIX + _key("room", chat_id)


def desk_token(agent_id: int) -> str:
    """The shared token of an agent's desk: ``desk-<the agent's secret key>``."""
    return DESK_PREFIX + _key("desk", agent_id)


def is_shared_token(token: str) -> bool:
    """Whether `token` is (shaped like) a room's or a desk's token."""
    return token.startswith((ROOM_PREFIX, DESK_PREFIX))


def _set(obj, name: str, value) -> None:
    """Assign only a changed value: every assignment of a state var puts it in the delta."""
    if getattr(obj, name) != value:
        setattr(obj, name, value)


def refresh_room_now(room: ChatRoom, session: Session, chat_id: int, reload: bool = False) -> None:
    """Bring a (linked) room up to date with the database.

    Incremental: a room that already shows this chat only reads the messages after its last
    seq (sequence numbers are assigned in the same transaction as the insert, so what follows
    `last_seq` is contiguous); anything unexpected falls back to a full reload of the window,
    as does `reload` (a message already shown changed: 마스킹, 고객 정보 삭제).
    """
    chat = session.get(Chat, chat_id, populate_existing=True)
    if chat is None:
        return
    reload = reload or room.chat_id != chat.id or chat.last_seq < room.last_seq
    if not reload and chat.last_seq > room.last_seq:
        # One more than the window: more new messages than that means a full reload.
        new = message_service.messages_after(session, chat.id, room.last_seq, MESSAGE_WINDOW + 1)
        reload = len(new) > MESSAGE_WINDOW or not all(room_add_message(room, chat.id, m.as_dict()) for m in new)
    if reload:
        if room.chat_id != chat.id:
            room.chat_id = chat.id
            room._agent_id = -1
            room._rating_requested = None
        window = _full_window(session, chat.id)
        room.messages = window
        room.recent = []
        # What was actually loaded, not chat.last_seq: a message committed between the two
        # reads is then picked up by the next refresh instead of being skipped or doubled.
        room.last_seq = int(window[-1]["seq"]) if window else 0
    if room._agent_id != (chat.agent_id or 0):
        agent = session.get(Agent, chat.agent_id) if chat.agent_id else None
        _set(room, "agent_name", agent.name if agent else "")
        room._agent_id = chat.agent_id or 0
    _set(room, "status", chat.status)
    _set(room, "customer_ended", chat.customer_ended_at is not None)
    _set(room, "queue_timed_out", chat.queue_timeout_at is not None)
    _set(room, "agent_ended", chat.agent_ended_at is not None)
    _set(room, "queue_position", routing.queue_position(session, chat) if chat.status == CHAT_WAITING else 0)
    if chat.rating_requested_at != room._rating_requested:
        room._rating_requested = chat.rating_requested_at
        seq = None
        if chat.rating_requested_at is not None:
            seq = session.exec(
                select(Message.seq)
                .where(
                    Message.chat_id == chat.id,
                    Message.author == AUTHOR_SYSTEM,
                    Message.client_msg_id.startswith("rating-request-"),
                )
                .order_by(Message.seq.desc())
                .limit(1)
            ).first()
        room.rating_request_seq = seq or 0


def room_add_message(room: ChatRoom, chat_id: int, message: dict) -> bool:
    """Show a message just stored in a room that shows its chat, without reading the database.

    Returns False when the room cannot be brought up to date this way (another chat, or a
    message missing in between): the caller then refreshes it from the database.
    """
    if room.chat_id != chat_id:
        return False
    seq = int(message["seq"])
    if seq <= room.last_seq:
        return True  # a refresh already read it
    if seq != room.last_seq + 1:
        return False
    if not room.messages:
        room.messages = [message]
    elif len(room.recent) >= RECENT_MAX:
        room.messages = (room.messages + room.recent + [message])[-MESSAGE_WINDOW:]
        room.recent = []
    else:
        room.recent = room.recent + [message]
    room.last_seq = seq
    return True


def desk_add_message(desk: AgentDesk, chat_id: int, message: dict) -> bool:
    """Update the chat's line on an agent's desk (preview, awaiting reply) from a new message.

    Returns False when the chat is not on the desk (the caller refreshes the desk instead). An
    older message arriving late does not overwrite a newer one.
    """
    for i, entry in enumerate(desk.chats):
        if entry["id"] != chat_id:
            continue
        if int(entry.get("seq", 0)) < int(message["seq"]):
            desk.chats[i] = {
                **entry,
                "seq": message["seq"],
                "awaiting_reply": message["author"] == AUTHOR_CUSTOMER,
                "preview": message_service.preview(message["text"]),
            }
        return True
    return False


def _full_window(session: Session, chat_id: int) -> list[dict]:
    return [m.as_dict() for m in message_service.recent_messages(session, chat_id, MESSAGE_WINDOW)]


def refresh_desk_now(desk: AgentDesk, session: Session, agent_id: int) -> None:
    """Fill a (linked) desk from the database: two queries, whatever the number of chats."""
    agent = session.get(Agent, agent_id, populate_existing=True)
    if agent is None:
        return
    _set(desk, "agent_id", agent.id)
    _set(desk, "status", agent.status)
    chats = chat_service.chats_of_agent(session, agent.id)
    last = {
        chat_id: (seq, author, text)
        for chat_id, seq, author, text in session.exec(
            select(Message.chat_id, Message.seq, Message.author, Message.text)
            .join(Chat, Chat.id == Message.chat_id)
            .where(Chat.agent_id == agent.id, routing.ON_AN_AGENTS_SCREEN, Message.seq == Chat.last_seq)
        )
    }
    rows = []
    for chat in chats:
        seq, author, text = last.get(chat.id, (0, "", ""))
        rows.append(
            {
                "id": chat.id,
                "name": chat.customer_name or f"#{chat.id}",
                "opened": chat.agent_opened_at is not None,
                "customer_ended": chat.customer_ended_at is not None,
                # The seq of the last message shown, so a late update cannot show an older one.
                "seq": seq,
                "awaiting_reply": author == AUTHOR_CUSTOMER,
                "preview": message_service.preview(text),
            }
        )
    _set(desk, "chats", rows)


async def refresh_shared(token: str, cls: type, fill) -> None:
    """Re-read a shared state from the database and send what changed to its tabs.

    The refresh always stamps `_refreshed_at` (backend-only, never sent): only a changed state
    is written back, and with Redis only a write renews the state's expiry. Presence refreshes
    open rooms and Online agents' desks periodically so they outlive Reflex's idle expiry.
    """

    def change(shared) -> None:
        with session_scope() as session:
            fill(shared, session)
        shared._refreshed_at = time.time()

    await modify_shared(token, cls, change)


async def _patch(token: str, cls: type, patch, fill) -> None:
    """Apply `patch` to a shared state; when it cannot apply, `fill` it from the database."""

    def change(shared) -> None:
        if not patch(shared):
            with session_scope() as session:
                fill(shared, session)

    await modify_shared(token, cls, change)


# Handlers never hold a database connection across an await: waiting for a lock (a Redis round
# trip with several workers) while holding one can use up the pool, and the pool's wait blocks
# the whole event loop. These helpers await first, then read the database in a short session.


def _tagged(shared, field: str, token: str, login_id: int) -> dict[str, int]:
    """The shared state's map of tab -> login with this tab added (and tabs no longer linked
    dropped, so it stays as small as the list of tabs)."""
    linked = internals.linked_tabs(shared)
    return {**{t: l for t, l in getattr(shared, field).items() if t in linked}, token: login_id}


async def link_room(state: rx.State, chat_id: int, login_id: int = 0, agent_id: int = 0) -> ChatRoom:
    """Link this tab to the chat's room and bring the room up to date. An agent's tab says
    under which login (`login_id`) and whose it is (`agent_id`), so that the room lets it go
    when that login ends or the chat leaves that agent (chat_moved). An agent's tab is linked
    only once the chat was opened by the rule that opens it (services.chats.open_for_agent)."""
    linked = await internals.link(state, ChatRoom, room_token(chat_id))
    tab = state.router.session.client_token
    if login_id and linked._agent_logins.get(tab) != login_id:
        linked._agent_logins = _tagged(linked, "_agent_logins", tab, login_id)
    if agent_id and linked._agent_tabs.get(tab) != agent_id:
        linked._agent_tabs = _tagged(linked, "_agent_tabs", tab, agent_id)
    with session_scope() as session:
        refresh_room_now(linked, session, chat_id)
    return linked


async def unlink_room(state: rx.State) -> list:
    """Unlink this tab from the chat room it is linked to, if any. Returns the events that
    rehydrate the tab."""
    return await internals.unlink(state, (ChatRoom,))


async def link_desk(state: rx.State, agent_id: int, login_id: int) -> AgentDesk:
    """Link this tab to the agent's desk (under the login `login_id`) and bring it up to date."""
    linked = await internals.link(state, AgentDesk, desk_token(agent_id))
    if linked._tab_logins.get(state.router.session.client_token) != login_id:
        linked._tab_logins = _tagged(linked, "_tab_logins", state.router.session.client_token, login_id)
    with session_scope() as session:
        refresh_desk_now(linked, session, agent_id)
    return linked


async def refresh_desk_here(state: rx.State, agent_id: int) -> None:
    """Re-read the desk of this (linked) tab in its own event."""
    desk = await state.get_state(AgentDesk)
    with session_scope() as session:
        refresh_desk_now(desk, session, agent_id)


def publish_room(chat_id: int, reload: bool = False) -> None:
    """Every tab showing this chat re-reads it (`reload`: its whole window)."""
    spawn(refresh_shared(room_token(chat_id), ChatRoom, lambda r, s: refresh_room_now(r, s, chat_id, reload)))


def publish_desk(agent_id: int | None) -> None:
    """Every tab of this agent re-reads its chat list and status."""
    if agent_id:
        spawn(refresh_shared(desk_token(agent_id), AgentDesk, lambda d, s: refresh_desk_now(d, s, agent_id)))


def publish_chat(chat_id: int, agent_id: int | None) -> None:
    """A chat changed: its room and its agent's desk."""
    publish_room(chat_id)
    publish_desk(agent_id)


async def publish_chat_from(state: rx.State, chat_id: int, agent_id: int | None, reload: bool = False) -> None:
    """Like publish_chat, from a handler of a tab that may itself be linked to those rooms.

    A room this tab is linked to is already loaded and locked for the event, so it is
    refreshed in place: this tab gets the change in its event's own update and the fan-out
    (reflex_internals.py) sends it to the other linked tabs. Rooms the tab is not linked to are refreshed by a task.
    """
    room_here = is_linked(state, ChatRoom, room_token(chat_id))
    desk_here = bool(agent_id) and is_linked(state, AgentDesk, desk_token(agent_id))
    room = await state.get_state(ChatRoom) if room_here else None
    desk = await state.get_state(AgentDesk) if desk_here else None
    if room is not None or desk is not None:
        with session_scope() as session:
            if room is not None:
                refresh_room_now(room, session, chat_id, reload)
            if desk is not None:
                refresh_desk_now(desk, session, agent_id)
    if not room_here:
        publish_room(chat_id, reload)
    if not desk_here:
        publish_desk(agent_id)


async def publish_masked_from(state: rx.State, chat_id: int, agent_id: int | None, seq: int, text: str) -> None:
    """A stored message changed (마스킹 by hand): the chat's room reloads its window, its agent's
    desk its preview, and every tab of the chat on any worker gets ``masked {chat_id, seq, text}``
    on the message path for the copies it holds itself (assets/chat_wire.jsx: what arrived live,
    the older messages it loaded, the chat list's preview; the agent's sockets outside the chat's
    room ``masked_preview {chat_id, seq, preview}`` only); 채팅 기록 panels showing the chat get
    ``changed`` and read it again (assets/history_wire.jsx)."""
    from .wire import WIRE, chat_room, desk_room

    await publish_chat_from(state, chat_id, agent_id, reload=True)
    # As a message goes (wire.deliver): the text to the chat's room, the preview to the agent's
    # other sockets.
    sends = [("masked", {"chat_id": chat_id, "seq": seq, "text": text}, [chat_room(chat_id)], ())]
    if agent_id:
        preview = {"chat_id": chat_id, "seq": seq, "preview": message_service.preview(text)}
        sends.append(("masked_preview", preview, [desk_room(agent_id)], (chat_room(chat_id),)))
    await WIRE.broadcast_all(sends)
    await WIRE.transcript_changed([chat_id])  # and the 채팅 기록 panels showing it


def is_linked(state: rx.State, cls: type, token: str) -> bool:
    """Whether the tab handling this event is linked to `token` for the shared state `cls`
    (read from the tab's links, without loading the shared state)."""
    return internals.linked_token(state, cls) == token


async def publish_message_from(state: rx.State, chat_id: int, agent_id: int | None, message: dict) -> None:
    """A message was just stored: show it in the chat's room and on its agent's desk.

    The hot path of the app, so no database read: the message is appended to what the room
    and the desk already show (falling back to a refresh when they miss something). Rooms the
    sending tab is linked to are changed in place, as in publish_chat_from.
    """
    room_tok, desk_tok = room_token(chat_id), desk_token(agent_id) if agent_id else ""
    room_here = is_linked(state, ChatRoom, room_tok)
    desk_here = bool(desk_tok) and is_linked(state, AgentDesk, desk_tok)
    fill_room = lambda r, s: refresh_room_now(r, s, chat_id)  # noqa: E731
    fill_desk = lambda d, s: refresh_desk_now(d, s, agent_id)  # noqa: E731
    if room_here:
        room = await state.get_state(ChatRoom)
        if not room_add_message(room, chat_id, message):
            with session_scope() as session:
                fill_room(room, session)
    else:
        spawn(_patch(room_tok, ChatRoom, lambda r: room_add_message(r, chat_id, message), fill_room))
    if desk_here:
        desk = await state.get_state(AgentDesk)
        if not desk_add_message(desk, chat_id, message):
            with session_scope() as session:
                fill_desk(desk, session)
    elif desk_tok:
        spawn(_patch(desk_tok, AgentDesk, lambda d: desk_add_message(d, chat_id, message), fill_desk))
    # And on the message path, as a message sent there goes: a tab whose wire has joined the chat
    # but whose Reflex state is not linked to the room (yet) gets it too — after a server restart
    # the customer's queued message came through here while the agent's tab had rejoined the
    # wire only, and it reached the agent's screen one time in three (tests/e2e/test_server_restart.py).
    from .wire import WIRE

    await WIRE.deliver({"chat_id": chat_id, **message}, agent_id)


def publish_queue() -> None:
    """Queue positions moved: refresh every waiting chat's room."""
    with session_scope() as session:
        waiting = list(session.exec(select(Chat.id).where(Chat.status == CHAT_WAITING)))
    for chat_id in waiting:
        publish_room(chat_id)


def publish_assignments(assignments: Iterable[routing.Assignment]) -> None:
    """Chats left the queue: their rooms, their agents' desks, and the rest of the queue."""
    assignments = list(assignments)
    for a in assignments:
        publish_chat(a.chat_id, a.agent_id)
    if assignments:
        publish_queue()


def publish_status_change(change, desk_here: bool = False) -> None:
    """An agent's status changed (agents.set_status / leave_online): their desk (unless the tab
    handling the event refreshes it itself), the rooms of the chats they handed back, the
    agents those went to, and the queue."""
    if not desk_here:
        publish_desk(change.agent_id)
    for chat_id in change.moved:
        publish_room(chat_id)
        spawn(chat_moved(chat_id, change.agent_id))
    publish_assignments(change.assignments)
    if change.moved and not change.assignments:
        publish_queue()


async def chat_moved(chat_id: int, from_agent_id: int) -> list[str]:
    """The chat left the agent `from_agent_id` (handed back to the queue or on to another agent:
    휴식, 오프라인, logout, presence, expiry, deactivation, 채팅 상담 권한 해제 — every path comes
    through publish_status_change — and any later 이관 calls this too). At once, every tab and
    socket of theirs lets go of it, so that nothing more of it reaches them:
    - the room, under its lock, lets go of the agents' tabs linked to it that may no longer show
      it (its fan-out then reaches none of them, even a tab whose own state is gone);
    - each of those tabs, and every tab on that agent's desk, is unlinked in its own state, its
      open chat cleared (information, view memory, older messages) with a notice saying why;
    - on the message path, the agents' sockets in ``chat-<id>`` that may no longer post in it
      leave it, on every worker (wire.chat_moved).
    Returns the tabs that were showing it."""
    from online_contact.states.agent_console import AgentConsoleState

    from .wire import WIRE

    await WIRE.chat_moved(chat_id)
    with session_scope() as session:
        chat = session.get(Chat, chat_id)
        # Who may show the chat now: its agent, once they opened it (open_for_agent).
        keeper = chat.agent_id if chat is not None and chat.agent_opened_at is not None else None
    token = room_token(chat_id)
    found: set[str] = set()

    def let_go(room: ChatRoom) -> None:
        gone = {tab for tab, agent_id in room._agent_tabs.items() if agent_id != keeper}
        internals.let_go_of_tabs(room, gone, "_agent_tabs", "_agent_logins")
        found.update(gone)

    await modify_shared(token, ChatRoom, let_go)
    found |= await internals.read_shared(desk_token(from_agent_id), AgentDesk, internals.linked_tabs)
    showing = []
    for tab in sorted(found):
        try:
            async with internals.app().modify_state(rx.BaseStateToken(ident=tab, cls=AgentConsoleState)) as root:
                console = await root.get_state(AgentConsoleState)
                if keeper is not None and console.agent_id == keeper:
                    continue  # the chat's agent now (it came back to them): theirs to show
                events = await internals.unlink(console, (ChatRoom,)) if is_linked(console, ChatRoom, token) else []
                if await console._chat_moved_away(chat_id):
                    showing.append(tab)
            if events:
                await internals.send_events(tab, events)
        except Exception:  # noqa: BLE001 - one tab's failure must not keep the others on the chat
            logger.exception("letting tab go of moved chat %s failed", chat_id)
    return showing
