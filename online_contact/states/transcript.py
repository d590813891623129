"""Older messages of a chat, beyond the room's bounded window, loaded on request per tab."""

from __future__ import annotations

import reflex as rx

from online_contact.realtime import ChatRoom
from online_contact.services import messages as message_service
from online_contact.services.db import session_scope
from online_contact.services.text import LIMITS

MAX_OLDER = 2000


def put_back(input_id: str, text: str):
    """The event that puts a refused message back in its composer, or None when the browser
    kept it (assets/chat_input.js clears the box only for a non-empty text within the limit):
    writing an empty or over-long text back would overwrite what was typed since."""
    if not text.strip() or len(text) > LIMITS["message"]:
        return None
    return rx.set_value(input_id, text)  # the browser cleared it on submit


class TranscriptMixin(rx.State, mixin=True):
    """Gives a state `older` messages and `_load_older` (이전 메시지 보기), for its own
    `load_older` handler (the agent's is role-guarded, the customer's checks the visitor)."""

    older: list[dict[str, str | int]] = []
    # The seq right after the newest loaded older message; the window starting later means a gap.
    older_next: int = 1

    def _transcript_chat_id(self, session) -> int:
        """The chat this tab may read (checked on the server); 0 for none."""
        raise NotImplementedError

    def _reset_older(self) -> None:
        self.older = []
        self.older_next = 1

    async def _load_older(self) -> None:
        """Load every message before the room's window (the full transcript)."""
        room = await self.get_state(ChatRoom)
        first = int(room.messages[0]["seq"]) if room.messages else room.last_seq + 1
        with session_scope() as session:
            chat_id = self._transcript_chat_id(session)
            if not chat_id or chat_id != room.chat_id:
                return
            rows = message_service.messages_before(session, chat_id, first, MAX_OLDER)
        self.older = [m.as_dict() for m in rows]
        self.older_next = first

    async def _reload_older(self) -> None:
        """A message changed (마스킹): the older messages this tab loaded, read again."""
        if self.older:
            await self._load_older()
