"""고객정보 / 상담정보 and 티켓 만들기 of one chat: the same fields, rules, 처리유형 cascade and
unsaved-edits mark on the agent's chat screen and in 채팅 기록's side panel."""

from __future__ import annotations

import reflex as rx

from online_contact.models import Category
from online_contact.models.agent import ROLE_AGENT
from online_contact.models.chat import Chat
from online_contact.services import categories as category_service
from online_contact.services import chats as chat_service
from online_contact.services import tickets as ticket_service
from online_contact.services.db import session_scope
from online_contact.services.errors import ServiceError
from online_contact.services.text import LIMITS, as_text, parse_id

from .guard import require_role
from .lang import tr, tr_error

INFO_FIELDS = ("name", "email", "memo", "cat1", "cat2", "cat3")


def offered_categories(session) -> list[dict[str, str]]:
    """The 처리유형 agents may choose, as the cascades read them (also what is pushed live)."""
    return [
        {"id": str(c["id"]), "name": c["name"], "parent": str(c["parent_id"] or "")}
        for c in category_service.active_tree(session)
    ]


def _category_value(value) -> str:
    """A cascade's value: a category id as text, or '' (anything else is not a category)."""
    chosen = parse_id(value)
    return str(chosen) if chosen else ""


class ChatInfoMixin(rx.State, mixin=True):
    """The edit form of a chat's info and its ticket dialog. The state using it says which
    chat (`_info_chat_id`) and which the caller may edit (`_info_chat`, checked on the server)."""

    info_name: str = ""
    info_email: str = ""
    info_memo: str = ""
    cat1: str = ""
    cat2: str = ""
    cat3: str = ""
    saved_info: dict[str, str] = {}
    active_name: str = ""
    info_ip: str = ""
    info_device: str = ""
    info_channel: str = ""
    # The 처리유형 offered (active ones) and the deactivated ones on the chat's path, still shown
    # for that chat.
    categories: list[dict[str, str]] = []
    inactive_path: list[dict[str, str]] = []
    notice: str = ""
    error: str = ""
    ticket_open: bool = False
    ticket_subject: str = ""
    ticket_body: str = ""
    ticket_error: str = ""
    _ticket_chat_id: int = 0

    def _info_chat_id(self) -> int:
        raise NotImplementedError

    def _info_chat(self, session, agent) -> Chat:
        """The chat being edited if `agent` may edit it, else NotAllowed."""
        raise NotImplementedError

    async def _info_saved(self, chat_id: int, agent_id: int) -> None:
        """After 저장 (e.g. push the change to the chat's other tabs)."""

    @rx.var
    def info_dirty(self) -> bool:
        """True when 고객정보 / 상담정보 differ from what was saved."""
        if not self._info_chat_id():
            return False
        current = self._current_info()
        return any(current[k] != self.saved_info.get(k, "") for k in INFO_FIELDS)

    def _current_info(self) -> dict[str, str]:
        return {
            "name": self.info_name,
            "email": self.info_email,
            "memo": self.info_memo,
            "cat1": self.cat1,
            "cat2": self.cat2,
            "cat3": self.cat3,
        }

    def _category_id(self) -> int | None:
        for value in (self.cat3, self.cat2, self.cat1):
            if value:
                return parse_id(value) or None
        return None

    def _fill_path(self, session, chat: Chat) -> list[int]:
        """The chat's 처리유형 path; the deactivated ones on it, shown for this chat only."""
        ids = category_service.path_ids(session, chat.category_id)
        offered = {c["id"] for c in self.categories}
        self.inactive_path = [
            {"id": str(c.id), "name": c.name, "parent": str(c.parent_id or "")}
            for c in (session.get(Category, i) for i in ids)
            if str(c.id) not in offered
        ]
        return ids

    def _fill_info(self, session, chat: Chat) -> None:
        self.categories = offered_categories(session)
        path = [str(i) for i in self._fill_path(session, chat)] + ["", "", ""]
        self.info_name, self.info_email, self.info_memo = chat.customer_name, chat.customer_email, chat.memo
        self.cat1, self.cat2, self.cat3 = path[0], path[1], path[2]
        self.saved_info = self._current_info()
        self.active_name = chat.customer_name or f"#{chat.id}"
        self.info_ip, self.info_device = chat.ip, chat.device
        self.info_channel = chat.channel

    def _clear_info_fields(self) -> None:
        self.info_name = self.info_email = self.info_memo = ""
        self.cat1 = self.cat2 = self.cat3 = ""
        self.saved_info = {}
        self.active_name = ""
        self.info_ip = self.info_device = self.info_channel = ""
        self.inactive_path = []

    def _forget_info(self) -> None:
        self._clear_info_fields()
        self.categories = []
        self.notice = self.error = ""
        self.ticket_open = False
        self.ticket_subject = self.ticket_body = self.ticket_error = ""
        self._ticket_chat_id = 0

    async def _set_text(self, name: str, value, field: str, error: str, error_field: str = "error") -> None:
        """A text field's setter: too long (or not text) is refused with a message, and the
        field keeps what it had (nothing that size is kept in the tab's state)."""
        text = as_text(value)
        if len(text) > LIMITS[field] or (value is not None and not isinstance(value, str)):
            setattr(self, error_field, await tr(self, error, max=LIMITS[field]))
            return
        if getattr(self, error_field) and getattr(self, error_field) == await tr(self, error, max=LIMITS[field]):
            setattr(self, error_field, "")
        setattr(self, name, text)

    @rx.event
    @require_role(ROLE_AGENT)
    async def set_info_name(self, value: str = ""):
        await self._set_text("info_name", value, "name", "error.name_too_long")

    @rx.event
    @require_role(ROLE_AGENT)
    async def set_info_email(self, value: str = ""):
        await self._set_text("info_email", value, "email", "error.email_too_long")

    @rx.event
    @require_role(ROLE_AGENT)
    async def set_info_memo(self, value: str = ""):
        await self._set_text("info_memo", value, "memo", "error.memo_too_long")

    @rx.event
    @require_role(ROLE_AGENT)
    def set_cat1(self, value: str = ""):
        self.cat1, self.cat2, self.cat3 = _category_value(value), "", ""

    @rx.event
    @require_role(ROLE_AGENT)
    def set_cat2(self, value: str = ""):
        self.cat2, self.cat3 = _category_value(value), ""

    @rx.event
    @require_role(ROLE_AGENT)
    def set_cat3(self, value: str = ""):
        self.cat3 = _category_value(value)

    async def _save(self) -> bool:
        try:
            with session_scope() as session:
                agent = self._agent(session)
                if agent is None or not self._info_chat_id():
                    return False
                chat = self._info_chat(session, agent)
                chat = chat_service.save_info(
                    session,
                    chat,
                    agent,
                    name=self.info_name,
                    email=self.info_email,
                    memo=self.info_memo,
                    category_id=self._category_id(),
                )
                self._fill_info(session, chat)
                chat_id, agent_id = chat.id, agent.id
        except ServiceError as exc:
            self.error = await tr_error(self, exc)
            self.notice = ""
            return False
        self.error = ""
        self.notice = await tr(self, "saved")
        await self._info_saved(chat_id, agent_id)
        return True

    @rx.event
    @require_role(ROLE_AGENT)
    async def save_info(self):
        """저장."""
        await self._save()

    # ---- 티켓 만들기 -------------------------------------------------------------------------
    @rx.event
    @require_role(ROLE_AGENT)
    async def open_ticket_dialog(self):
        chat_id = self._info_chat_id()
        if not chat_id:
            return
        if self._ticket_chat_id == chat_id and self.ticket_subject:
            self.ticket_open = True  # reopened: keep what was typed
            return
        self._ticket_chat_id = chat_id
        name = self.info_name or f"#{chat_id}"
        self.ticket_subject = await tr(self, "ticket_subject_default", id=chat_id, name=name)
        self.ticket_body = self.info_memo
        self.ticket_error = ""
        self.ticket_open = True

    @rx.event
    @require_role(ROLE_AGENT)
    def close_ticket_dialog(self):
        self.ticket_open = False

    @rx.event
    @require_role(ROLE_AGENT)
    def set_ticket_open(self, value: bool = False):
        self.ticket_open = value is True

    @rx.event
    @require_role(ROLE_AGENT)
    async def set_ticket_subject(self, value: str = ""):
        await self._set_text("ticket_subject", value, "subject", "error.subject_too_long", error_field="ticket_error")

    @rx.event
    @require_role(ROLE_AGENT)
    async def set_ticket_body(self, value: str = ""):
        await self._set_text("ticket_body", value, "body", "error.body_too_long", error_field="ticket_error")

    async def _ticket_created(self, ticket) -> None:
        """After 티켓 만들기 (e.g. list it)."""

    @rx.event
    @require_role(ROLE_AGENT)
    async def create_ticket(self):
        """티켓 만들기: a ticket linked to the chat and its customer."""
        try:
            with session_scope() as session:
                agent = self._agent(session)
                if agent is None:
                    return
                chat = self._info_chat(session, agent)
                ticket = ticket_service.create_from_chat(session, chat, agent, self.ticket_subject, self.ticket_body)
                session.expunge(ticket)
        except ServiceError as exc:
            self.ticket_error = await tr_error(self, exc)
            return
        self.ticket_open = False
        self.ticket_subject = self.ticket_body = ""
        self._ticket_chat_id = 0
        self.notice = await tr(self, "ticket_created", id=ticket.id)
        await self._ticket_created(ticket)
