"""ChatWire: the page's side of the message path (assets/chat_wire.jsx, realtime/wire.py)."""

from __future__ import annotations

import reflex as rx

from online_contact.realtime import AgentDesk, ChatRoom


class ChatWire(rx.Component):
    """Joins the shown chat on /_wire and writes arriving messages into ChatRoom.live (and, for an
    agent, chat-list previews into AgentDesk.chats). Renders nothing."""

    library = "$/public/chat_wire.jsx"
    tag = "ChatWire"

    role: rx.Var[str]
    ready: rx.Var[bool]
    chat_id: rx.Var[int]
    last_seq: rx.Var[int]
    live: rx.Var[list]
    room_state: rx.Var[str]
    desk_state: rx.Var[str]
    desk_chats: rx.Var[list]


def chat_wire(role: str) -> rx.Component:
    """The wire of a customer page (ready once the tab has a chat) or of an agent page (ready
    once the agent's desk is linked: previews of every chat arrive, not only the open one)."""
    agent = role == "agent"
    return ChatWire.create(
        role=role,
        ready=(AgentDesk.agent_id > 0) if agent else (ChatRoom.chat_id > 0),
        chat_id=ChatRoom.chat_id,
        last_seq=ChatRoom.last_seq,
        live=ChatRoom.live,
        room_state=ChatRoom.get_full_name(),
        desk_state=AgentDesk.get_full_name() if agent else "",
        desk_chats=AgentDesk.chats if agent else [],
    )
