"""The 1:1 inquiry form (문의하기): creates a ticket."""

from __future__ import annotations

import reflex as rx

from online_contact.services import tickets as ticket_service
from online_contact.services.db import session_scope
from online_contact.services.errors import ServiceError
from online_contact.services.text import form_text

from .customer_chat import CustomerChatState
from .lang import tr_error


class InquiryState(rx.State):
    """Form errors are shown and the typed text stays (the form is not reset on error)."""

    error: str = ""
    ticket_id: int = 0

    @rx.event
    def load_inquiry(self):
        self.error = ""
        self.ticket_id = 0

    async def _visitor_key(self) -> str:
        """The key this browser's chats are under, validated as the chat does (in a site's
        launcher, the key the site keeps, never the frame's own storage), so the inquiry is
        linked to the customer who chatted here: the 상담원 부재중 popup's 문의하기 and the
        embed's links open this page in the same tab, where the chat's state is."""
        return (await self.get_state(CustomerChatState))._visitor()

    @rx.event
    async def submit(self, form_data: dict | None = None):
        visitor_key = await self._visitor_key()
        try:
            with session_scope() as session:
                ticket = ticket_service.create_from_inquiry(
                    session,
                    form_text(form_data, "name"),
                    form_text(form_data, "email"),
                    form_text(form_data, "subject"),
                    form_text(form_data, "body"),
                    ip=self.router.session.client_ip or "",
                    visitor_key=visitor_key,
                )
        except ServiceError as exc:
            self.error = await tr_error(self, exc)
            return
        self.error = ""
        self.ticket_id = ticket.id

    @rx.event
    def write_another(self):
        self.ticket_id = 0
