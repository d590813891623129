"""채팅 기록's side panel, 개인정보 parts: 마스킹 in the transcript, 고객 정보 삭제 (admins), and
the access record written when a chat is opened (services.privacy)."""

from __future__ import annotations

import reflex as rx
from sqlmodel import select

from online_contact.models import Chat, Customer
from online_contact.models.agent import ROLE_ADMIN, ROLE_AGENT
from online_contact.realtime.publish import publish_desk, publish_room
from online_contact.services import history, privacy
from online_contact.services.db import engine, session_scope
from online_contact.services.errors import ServiceError
from online_contact.services.text import parse_id

from .guard import require_role
from .lang import tr, tr_error
from .masking import MaskingMixin


class HistoryPrivacyMixin(MaskingMixin, mixin=True):
    customer_erased: bool = False
    chat_purged: bool = False
    erase_open: bool = False
    erase_error: str = ""

    # ---- MaskingMixin ---------------------------------------------------------------------------
    def _mask_chat_id(self) -> int:
        return self.selected_id

    async def _after_mask(self, done) -> None:
        self._reread_transcript()

    # ---- the panel ------------------------------------------------------------------------------
    def _fill_privacy(self, session, chat: Chat) -> None:
        customer = session.get(Customer, chat.customer_id)
        self.customer_erased = customer is not None and customer.erased_at is not None
        self.chat_purged = chat.purged_at is not None

    def _clear_privacy(self) -> None:
        self.customer_erased = self.chat_purged = self.erase_open = False
        self.erase_error = ""
        self._close_mask()

    def _record_view(self, agent_id: int, chat_id: int) -> None:
        """The access record of opening a chat (its transcript and customer information)."""
        privacy.record_view(engine(), agent_id, chat_id, self.router.session.client_ip or "")

    @rx.event
    @require_role(ROLE_AGENT)
    async def transcript_changed(self, chat_id: int = 0):
        """The chat open in the panel was masked, or its customer erased, elsewhere (another
        panel, the agent's chat screen: realtime.wire ``changed``): what the panel shows is read
        again — only what it shows, as it showed it when opened (the access record written then).
        After an erasure the whole panel (the customer's information went too); after a masking
        the transcript only, so 고객정보 edits being made stay. A reader who may no longer see the
        chat (handed on to another agent since) gets the panel closed, says why ("권한이
        없습니다."), and reads nothing."""
        if not self.selected_id or parse_id(chat_id) != self.selected_id:
            return
        refused = None
        with session_scope() as session:
            agent = self._agent(session)
            if agent is None:
                return
            try:
                chat = history.chat_for(session, agent, self.selected_id)
            except ServiceError as exc:
                chat, refused = None, exc
            customer = session.get(Customer, chat.customer_id) if chat is not None else None
            erased = customer is not None and customer.erased_at is not None
        if refused is not None:
            self._close_panel()
            return rx.toast(await tr_error(self, refused))
        if erased and not self.customer_erased:
            await self._open(self.selected_id, record=False)
            await self._reload_row(self.selected_id)  # the list's row named the customer too
        else:
            self._reread_transcript()

    # ---- 고객 정보 삭제 -----------------------------------------------------------------------------
    @rx.event
    @require_role(ROLE_ADMIN)
    def open_erase(self):
        if self.selected_id and not self.customer_erased:
            self.erase_open, self.erase_error = True, ""

    @rx.event
    @require_role(ROLE_ADMIN)
    def cancel_erase(self):
        self.erase_open, self.erase_error = False, ""

    @rx.event
    @require_role(ROLE_ADMIN)
    def erase_dialog_changed(self, open: bool = False):
        """Escape closes the dialog (it opens through open_erase only)."""
        if open is not True:
            self.erase_open, self.erase_error = False, ""

    @rx.event
    @require_role(ROLE_ADMIN)
    async def erase_customer(self, form_data: dict | None = None):
        """삭제 in the dialog: the customer of the open chat, with the reason typed."""
        reason = (form_data or {}).get("reason", "")
        chat_id = self.selected_id
        try:
            with session_scope() as session:
                admin = self._agent(session)
                chat = session.get(Chat, chat_id) if chat_id else None
                if admin is None or chat is None:
                    return
                erased = privacy.erase_customer(session, admin, chat.customer_id, reason,
                                                ip=self.router.session.client_ip or "")
                agents = {a for a in session.exec(select(Chat.agent_id).where(Chat.id.in_(erased.chat_ids or (0,)))) if a}
        except ServiceError as exc:
            self.erase_error = await tr_error(self, exc)
            return
        self.erase_open = False
        from online_contact.realtime.wire import WIRE

        await WIRE.transcript_changed(erased.chat_ids)
        for erased_chat in erased.chat_ids:
            publish_room(erased_chat, reload=True)
        for agent_id in agents:
            publish_desk(agent_id)
        await self._open(chat_id, record=False)
        for erased_chat in erased.chat_ids:
            await self._reload_row(erased_chat)
        return rx.toast(await tr(self, "erase_done", chats=erased.chats, messages=erased.messages, tickets=erased.tickets))
