"""Shared states: what every tab linked to a chat or to an agent sees."""

from __future__ import annotations

from datetime import datetime

import reflex as rx


class ChatRoom(rx.SharedState):
    """The live view of one chat, shared by the customer and the agent on it.

    Holds only what both sides may see: the last messages (a bounded window) and the flags.
    Reflex sends a changed list whole, so a new message goes to the short `recent` tail and
    only every RECENT_MAX messages is the tail folded into `messages`: each message then costs
    a few messages of payload instead of the whole window. Screens show messages + recent.
    """

    chat_id: int = 0
    status: str = ""
    agent_name: str = ""
    messages: list[dict[str, str | int]] = []
    recent: list[dict[str, str | int]] = []
    # Client-only: messages that arrived over the message path (realtime/wire.py) after
    # last_seq, written by the page (assets/chat_wire.jsx). Never set on the server.
    live: list[dict[str, str | int]] = []
    last_seq: int = 0
    customer_ended: bool = False
    # Ended by 대기 시간 제한 (services.chats.end_overdue_waiting): the customer is offered the 1:1 문의.
    queue_timed_out: bool = False
    agent_ended: bool = False
    # seq of the latest satisfaction guide message sent by the agent's 평가 (0 = none).
    rating_request_seq: int = 0
    queue_position: int = 0
    # Backend-only: what the last refresh saw, so the next one reads only what changed.
    _agent_id: int = -1
    _rating_requested: datetime | None = None
    # When the database last refreshed the room (see publish.refresh_shared: keeps it from expiring).
    _refreshed_at: float = 0.0
    # Agent tabs linked here, by the login they were linked under: when a login ends they are
    # let go from here even if their own state is gone (realtime.logins).
    _agent_logins: dict[str, int] = {}
    # And by the agent whose tabs they are: when the chat leaves that agent they are let go from
    # here at once, even if their own state is gone (realtime.publish.chat_moved).
    _agent_tabs: dict[str, int] = {}


class AgentDesk(rx.SharedState):
    """What every tab of one agent shows: status and the chats on the chat screen."""

    agent_id: int = 0
    status: str = "offline"
    chats: list[dict[str, str | int | bool]] = []
    # When the database last refreshed the desk (see publish.refresh_shared: keeps it from expiring).
    _refreshed_at: float = 0.0
    # The tabs linked here, by the login they were linked under (see ChatRoom._agent_logins).
    _tab_logins: dict[str, int] = {}

    @rx.var
    def open_count(self) -> int:
        """대화중: chats assigned to the agent and not yet ended by the agent."""
        return len(self.chats)

    @rx.var
    def has_unopened(self) -> bool:
        """True while a chat waits that the agent has not opened yet (the icon blinks); one its
        customer left waits for nothing."""
        return any(not c.get("opened") and not c.get("customer_ended") for c in self.chats)
