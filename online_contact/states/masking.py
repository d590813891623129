"""마스킹 by hand, for a screen that shows a transcript (the agent's chat screen, 채팅 기록): the
person selects part of a message (or nothing: the whole message) and presses 마스킹 beside it;
a dialog shows the message as it will read, and the choice is stored (services.privacy) and shown
on every screen of the chat (realtime.publish.publish_masked_from).

Only offsets and the masked preview are held in the tab's state, never the text being removed."""

from __future__ import annotations

import reflex as rx

from online_contact.models.agent import ROLE_AGENT
from online_contact.realtime.publish import publish_masked_from
from online_contact.services import privacy
from online_contact.services.db import session_scope
from online_contact.services.errors import ServiceError

from .guard import require_role
from .lang import tr, tr_error


def _offset(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class MaskingMixin(rx.State, mixin=True):
    mask_open: bool = False
    mask_seq: int = 0
    mask_part: bool = False  # a part was selected (else the whole message)
    mask_preview: str = ""
    mask_error: str = ""
    _mask_start: int = -1
    _mask_end: int = -1

    def _mask_chat_id(self) -> int:
        """The chat whose transcript this screen shows (0: none)."""
        raise NotImplementedError

    async def _after_mask(self, done: privacy.MaskedMessage) -> None:
        """The screen's own copy of the transcript (the room's is reloaded by the publish)."""

    def _close_mask(self) -> None:
        self.mask_open, self.mask_seq, self.mask_part = False, 0, False
        self.mask_preview = self.mask_error = ""
        self._mask_start = self._mask_end = -1

    @rx.event
    @require_role(ROLE_AGENT)
    async def start_mask(self, seq: int = 0, start: int = -1, end: int = -1):
        """마스킹 beside a message: the dialog, with the message as it will read."""
        self._close_mask()
        start, end = _offset(start), _offset(end)
        part = start is not None and end is not None and start < end
        try:
            with session_scope() as session:
                agent = self._agent(session)
                if agent is None:
                    return
                preview = privacy.preview(session, agent, self._mask_chat_id(), seq, *((start, end) if part else (None, None)))
        except ServiceError as exc:
            self.mask_error, self.mask_open = await tr_error(self, exc), True
            return
        self.mask_open, self.mask_seq, self.mask_part, self.mask_preview = True, seq, part, preview
        if part:
            self._mask_start, self._mask_end = start, end

    @rx.event
    @require_role(ROLE_AGENT)
    async def confirm_mask(self, whole: bool = False):
        """선택 부분 마스킹 / 메시지 전체 마스킹."""
        if not self.mask_open or not self.mask_seq:
            return
        start, end = (None, None) if whole or not self.mask_part else (self._mask_start, self._mask_end)
        try:
            with session_scope() as session:
                agent = self._agent(session)
                if agent is None:
                    return
                done = privacy.mask_message(session, agent, self._mask_chat_id(), self.mask_seq, start, end,
                                            ip=self.router.session.client_ip or "")
        except ServiceError as exc:
            self.mask_error = await tr_error(self, exc)
            return
        self._close_mask()
        if done.changed:
            await publish_masked_from(self, done.chat_id, done.agent_id, done.seq, done.text)
            await self._after_mask(done)
        return rx.toast(await tr(self, "mask_done"))

    @rx.event
    @require_role(ROLE_AGENT)
    def cancel_mask(self):
        self._close_mask()

    @rx.event
    @require_role(ROLE_AGENT)
    def mask_dialog_changed(self, open: bool = False):
        """Escape (or a click outside) closes the dialog; it opens only through start_mask."""
        if open is not True:
            self._close_mask()
