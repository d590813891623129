"""The only code that knows how Reflex pushes to other clients.

Two kinds of rooms (rx.SharedState linked by a token):
- ChatRoom, token ``chat-<id>``: the customer's tab(s) and the agent's tab showing that chat.
- AgentDesk, token ``agent-<id>``: every tab of one agent (the chat list, 대화중 count, status).

Rooms are never the source of truth: ``publish`` re-reads the database under the room's lock
and replaces the room's fields, so a late or repeated refresh can only converge, never regress.
"""

from .publish import (
    publish_assignments,
    publish_chat,
    publish_chat_from,
    publish_desk,
    refresh_desk_now,
    refresh_room_now,
)
from .rooms import AgentDesk, ChatRoom

__all__ = [
    "AgentDesk",
    "ChatRoom",
    "publish_assignments",
    "publish_chat",
    "publish_chat_from",
    "publish_desk",
    "refresh_desk_now",
    "refresh_room_now",
]
