"""The only code that knows how Reflex pushes to other clients.

Two kinds of rooms (rx.SharedState linked by a token):
- ChatRoom, token ``room-<the chat's secret key>``: the customer's tab(s) and the agent's tab
  showing that chat.
- AgentDesk, token ``desk-<the agent's secret key>``: every tab of one agent (the chat list,
  대화중 count, status).

Rooms are never the source of truth: a message is appended only right after the next seq, and
anything else re-reads the database under the room's lock, so a late or repeated update can only
converge, never regress. ``reflex_internals`` (every use of Reflex's private API) sends a
room's changed fields to its other tabs.
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
