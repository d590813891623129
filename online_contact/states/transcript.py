"""What the screens that show a chat's transcript share: the older messages a tab loaded, and the
composer's put-back.

The transcript itself is the chat's room (realtime.rooms.ChatRoom, one copy per chat); the older
messages a tab loads with 이전 메시지 보기 come over the message path a page at a time and stay in
the page (OlderMessagesState, written by assets/chat_wire.jsx): no state on the server holds a
copy of them, however many tabs read them.
"""

from __future__ import annotations

import reflex as rx

from online_contact.services.text import LIMITS


def put_back(input_id: str, text: str):
    """The event that puts a refused message back in its composer, or None when the browser
    kept it (assets/chat_input.js clears the box only for a non-empty text within the limit):
    writing an empty or over-long text back would overwrite what was typed since."""
    if not text.strip() or len(text) > LIMITS["message"]:
        return None
    return rx.set_value(input_id, text)  # the browser cleared it on submit


class OlderMessagesState(rx.State):
    """Client-only (never set on the server, so never sent but at a page's load): the messages
    before the room's window this tab loaded with 이전 메시지 보기, for the chat `older_chat`.

    Not on the shared ChatRoom: a tab linking to a room re-sends all of the room's fields to every
    tab linked there, which would wipe the pages the others loaded. A tab's own copy in its server
    state cost a worker 9 MB a tab (10 tabs of one visitor: 183 → 275 MB, kept after they left).
    `older_next`: the seq right after the newest of them (1: none loaded); `older_more`: there
    are messages before the oldest of them.
    """

    older: list[dict[str, str | int]] = []
    older_chat: int = 0
    older_next: int = 1
    older_more: bool = False
