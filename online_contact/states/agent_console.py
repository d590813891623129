"""The agent's screens: status, chat list, chat window with 고객정보 / 상담정보."""

from __future__ import annotations

import reflex as rx

from online_contact import routes
from online_contact.config import local_time
from online_contact.models.agent import ROLE_AGENT
from online_contact.models import Category
from online_contact.models.chat import AUTHOR_AGENT, Chat
from online_contact.realtime import publish_assignments, publish_chat_from
from online_contact.realtime.publish import (
    link_desk,
    link_room,
    publish_message_from,
    publish_status_change,
    refresh_desk_here,
)
from online_contact.services import agents as agent_service
from online_contact.services import categories as category_service
from online_contact.services import chats as chat_service
from online_contact.services import tickets as ticket_service
from online_contact.services.db import session_scope
from online_contact.services.errors import ServiceError
from online_contact.services.text import LIMITS, as_text, form_text, parse_id

from .auth import AuthState
from .guard import require_role
from .lang import tr, tr_error
from .transcript import TranscriptMixin, put_back

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


class AgentConsoleState(TranscriptMixin, AuthState):
    """One agent tab. Shared parts (chat list, the open chat) live in AgentDesk / ChatRoom."""

    screen_open: bool = False
    active_chat_id: int = 0
    # "<screen open 0|1>:<chat id>" kept by the browser tab, so a restarted server (fresh state)
    # puts the agent back where they were.
    view_memory: str = rx.SessionStorage("", name="oc_agent_view")
    # 고객정보 / 상담정보 being edited, and the values last saved (to mark unsaved edits).
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
    # The 처리유형 offered (active ones; admins' changes are pushed in live, see chat_wire.jsx) and
    # the deactivated ones on the open chat's path, still shown for that chat.
    categories: list[dict[str, str]] = []
    inactive_path: list[dict[str, str]] = []
    # 알림 설정, kept with the agent's account.
    notify_sound: bool = True
    notify_desktop: bool = False
    notice: str = ""
    error: str = ""
    composer_error: str = ""
    ticket_open: bool = False
    ticket_subject: str = ""
    ticket_body: str = ""
    ticket_error: str = ""
    confirm_open: bool = False
    _pending: str = ""
    _ticket_chat_id: int = 0

    # ---- derived ---------------------------------------------------------------------------
    @rx.var
    def info_dirty(self) -> bool:
        """True when 고객정보 / 상담정보 differ from what was saved."""
        if not self.active_chat_id:
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

    # ---- helpers ---------------------------------------------------------------------------
    def _require(self, session):
        agent = self._agent(session)
        if agent is None:
            return None, rx.redirect(routes.LOGIN)
        return agent, None

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

    def _forget_screen(self) -> None:
        """The login ended (realtime.logins): nothing of the chats stays in this tab."""
        self._clear_info()
        self.screen_open = False
        self.categories = []
        self.notice = self.error = self.composer_error = ""
        self.ticket_open = self.confirm_open = False
        self.ticket_subject = self.ticket_body = self.ticket_error = ""
        self._pending = ""
        self._ticket_chat_id = 0
        self._reset_older()

    def _clear_info(self) -> None:
        self.active_chat_id = 0
        self._remember_view()
        self.info_name = self.info_email = self.info_memo = ""
        self.cat1 = self.cat2 = self.cat3 = ""
        self.saved_info = {}
        self.active_name = ""
        self.info_ip = self.info_device = self.info_channel = ""
        self.inactive_path = []

    # ---- loading ---------------------------------------------------------------------------
    @rx.event
    @require_role(ROLE_AGENT)
    async def load_console(self):
        """on_load of /agent: check the login, link this tab to the agent's desk."""
        with session_scope() as session:
            agent, redirect = self._require(session)
            if not redirect:
                agent_id = agent.id
                self.categories = offered_categories(session)
                self.notify_sound, self.notify_desktop = agent.notify_sound, agent.notify_desktop
                restored = False
                if not self.active_chat_id and not self.screen_open and self.view_memory:
                    self._restore_view()
                    restored = True
                if self.active_chat_id:
                    chat = session.get(Chat, self.active_chat_id)
                    if chat is None or chat.agent_id != agent.id or chat.agent_ended_at is not None:
                        self._clear_info()
                    elif restored or not self.saved_info:
                        self._fill_info(session, chat)
        if redirect:
            self._clear_info()
            return [*(await self._drop_links()), redirect]
        await link_desk(self, agent_id, self._login_id)
        if self.active_chat_id:
            await link_room(self, self.active_chat_id, self._login_id)

    @rx.event
    @require_role(ROLE_AGENT)
    async def load_older(self):
        """이전 메시지 보기 on the open chat (only the agent's own)."""
        await self._load_older()

    def _transcript_chat_id(self, session) -> int:
        agent = self._agent(session)
        if agent is None or not self.active_chat_id:
            return 0
        chat = session.get(Chat, self.active_chat_id)
        return chat.id if chat is not None and chat.agent_id == agent.id else 0

    def _restore_view(self) -> None:
        screen, _, chat_id = as_text(self.view_memory, 40).partition(":")
        self.screen_open = screen == "1"
        self.active_chat_id = parse_id(chat_id)

    def _remember_view(self) -> None:
        self.view_memory = f"{int(self.screen_open)}:{self.active_chat_id}"

    # ---- status ----------------------------------------------------------------------------
    @rx.event
    @require_role(ROLE_AGENT)
    async def set_status(self, status: str | list[str] = ""):
        """온라인 / 휴식 / 오프라인. Going Online takes waiting chats."""
        status = as_text(status[0] if isinstance(status, list) and status else status, 16)
        try:
            with session_scope() as session:
                agent, redirect = self._require(session)
                if redirect:
                    return redirect
                change = agent_service.set_status(session, agent, status)
                agent_id = agent.id
        except ServiceError as exc:
            self.error = await tr_error(self, exc)
            return
        await refresh_desk_here(self, agent_id)
        publish_status_change(change, desk_here=True)

    @rx.event
    @require_role(ROLE_AGENT)
    def refresh_categories(self):
        """An admin changed the 처리유형 (pushed by the message path): read them again, and the open
        chat's path (a category deactivated meanwhile still shows on it)."""
        with session_scope() as session:
            self.categories = offered_categories(session)
            chat = session.get(Chat, self.active_chat_id) if self.active_chat_id else None
            if chat is not None and chat.agent_id == self.agent_id:
                self._fill_path(session, chat)

    @rx.event
    @require_role(ROLE_AGENT)
    async def set_notify(self, kind: str = "", value: bool = False):
        """알림 설정: the sound and the browser notification, kept with the account."""
        if kind not in ("sound", "desktop") or not isinstance(value, bool):
            return
        with session_scope() as session:
            agent = self._agent(session)
            if agent is None:
                return
            agent_service.set_notifications(session, agent, **{kind: value})
            self.notify_sound, self.notify_desktop = agent.notify_sound, agent.notify_desktop

    # ---- chat screen and navigation (with the unsaved-edits guard) -------------------------
    @rx.event
    @require_role(ROLE_AGENT)
    def toggle_screen(self):
        """The chat icon opens / closes the chat screen."""
        if self.screen_open and self.info_dirty:
            self._pending = "close"
            self.confirm_open = True
            return
        self.screen_open = not self.screen_open
        self._remember_view()

    @rx.event
    @require_role(ROLE_AGENT)
    async def select_chat(self, chat_id: int = 0):
        """Clicking a customer's name opens their chat."""
        chat_id = parse_id(chat_id)
        if not chat_id:
            self.error = await tr(self, "error.not_allowed")
            return
        if chat_id == self.active_chat_id:
            return
        if self.info_dirty:
            self._pending = f"select:{chat_id}"
            self.confirm_open = True
            return
        return await self._open_chat(chat_id)

    async def _open_chat(self, chat_id: int):
        try:
            with session_scope() as session:
                agent, redirect = self._require(session)
                if redirect:
                    return redirect
                chat = chat_service.chat_for_agent(session, chat_id, agent)
                chat_service.mark_opened(session, chat, agent)
                previous = self.active_chat_id
                self.active_chat_id = chat.id
                self.screen_open = True  # also when opened from a notification
                self._remember_view()
                self._fill_info(session, chat)
                agent_id = agent.id
        except ServiceError as exc:
            self.error = await tr_error(self, exc)
            return
        self.composer_error = self.notice = self.error = ""
        if previous != chat_id:
            self._reset_older()
        await link_room(self, chat_id, self._login_id)
        await refresh_desk_here(self, agent_id)
        return rx.set_focus("agent-input")

    @rx.event
    @require_role(ROLE_AGENT)
    async def discard_and_continue(self):
        """Unsaved-edits dialog: drop the edits and do what was asked."""
        pending, self._pending, self.confirm_open = self._pending, "", False
        self.saved_info = self._current_info()  # nothing unsaved any more
        return await self._run_pending(pending)

    @rx.event
    @require_role(ROLE_AGENT)
    async def save_and_continue(self):
        pending, self._pending, self.confirm_open = self._pending, "", False
        if not await self._save():
            return
        return await self._run_pending(pending)

    @rx.event
    @require_role(ROLE_AGENT)
    def cancel_pending(self):
        self._pending, self.confirm_open = "", False

    async def _run_pending(self, pending: str):
        if pending == "close":
            self.screen_open = False
            self._remember_view()
        elif pending.startswith("select:"):
            return await self._open_chat(int(pending.split(":", 1)[1]))
        elif pending == "end":
            return await self._end()

    # ---- 고객정보 / 상담정보 ---------------------------------------------------------------
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
                if agent is None or not self.active_chat_id:
                    return False
                chat = chat_service.chat_for_agent(session, self.active_chat_id, agent)
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
        await publish_chat_from(self, chat_id, agent_id)
        return True

    @rx.event
    @require_role(ROLE_AGENT)
    async def save_info(self):
        """저장."""
        await self._save()

    # ---- messages, rating, end -------------------------------------------------------------
    @rx.event
    @require_role(ROLE_AGENT)
    async def send(self, form_data: dict | None = None):
        text = form_text(form_data, "text")
        client_id = form_text(form_data, "client_id", LIMITS["client_id"]) or None
        if not self.active_chat_id and self.view_memory:
            # A message queued while the server restarted can arrive before the page reloads.
            self._restore_view()
        try:
            with session_scope() as session:
                # One query checks the login and that the chat is this agent's; when it finds
                # nothing, the full checks below say why (login page, or not allowed).
                chat = chat_service.chat_for_agent_token(session, self.active_chat_id, self.auth_token)
                agent_id = chat.agent_id if chat is not None else None
                if chat is None:
                    agent, redirect = self._require(session)
                    if redirect:
                        return redirect
                    chat = chat_service.chat_for_agent(session, self.active_chat_id, agent)
                    agent_id = agent.id
                message, _ = chat_service.post_message(session, chat, AUTHOR_AGENT, text, client_id, agent_id=agent_id)
        except ServiceError as exc:
            self.composer_error = await tr_error(self, exc)
            return put_back("agent-input", text)
        if self.composer_error:
            self.composer_error = ""
        await publish_message_from(self, chat.id, agent_id, chat_service.view(message).as_dict())

    @rx.event
    @require_role(ROLE_AGENT)
    async def request_rating(self):
        """평가: send the satisfaction guide message; the customer gets the rating form."""
        try:
            with session_scope() as session:
                agent, redirect = self._require(session)
                if redirect:
                    return redirect
                chat = chat_service.chat_for_agent(session, self.active_chat_id, agent)
                chat_service.request_rating(session, chat, agent)
        except ServiceError as exc:
            self.error = await tr_error(self, exc)
            return
        self.notice = await tr(self, "rating_requested")
        await publish_chat_from(self, chat.id, agent.id)

    @rx.event
    @require_role(ROLE_AGENT)
    async def end_chat(self):
        """대화 종료 by the agent (asks first when info is unsaved)."""
        if self.info_dirty:
            self._pending = "end"
            self.confirm_open = True
            return
        return await self._end()

    async def _end(self):
        try:
            with session_scope() as session:
                agent, redirect = self._require(session)
                if redirect:
                    return redirect
                chat = chat_service.chat_for_agent(session, self.active_chat_id, agent)
                assignments = chat_service.end_by_agent(session, chat, agent)
                chat_id, agent_id = chat.id, agent.id
        except ServiceError as exc:
            self.error = await tr_error(self, exc)
            return
        await refresh_desk_here(self, agent_id)
        self._clear_info()
        self.notice = await tr(self, "chat_ended_ok")
        self.error = ""
        await publish_chat_from(self, chat_id, None)
        publish_assignments(assignments)

    # ---- tickets ---------------------------------------------------------------------------
    @rx.event
    @require_role(ROLE_AGENT)
    async def open_ticket_dialog(self):
        if self._ticket_chat_id == self.active_chat_id and self.ticket_subject:
            self.ticket_open = True  # reopened: keep what was typed
            return
        self._ticket_chat_id = self.active_chat_id
        name = self.info_name or f"#{self.active_chat_id}"
        self.ticket_subject = await tr(self, "ticket_subject_default", id=self.active_chat_id, name=name)
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

    @rx.event
    @require_role(ROLE_AGENT)
    async def create_ticket(self):
        """티켓 만들기: a ticket linked to the chat and its customer."""
        try:
            with session_scope() as session:
                agent, redirect = self._require(session)
                if redirect:
                    return redirect
                chat = chat_service.chat_for_agent(session, self.active_chat_id, agent)
                ticket = ticket_service.create_from_chat(session, chat, agent, self.ticket_subject, self.ticket_body)
        except ServiceError as exc:
            self.ticket_error = await tr_error(self, exc)
            return
        self.ticket_open = False
        self.ticket_subject = self.ticket_body = ""
        self._ticket_chat_id = 0
        self.notice = await tr(self, "ticket_created", id=ticket.id)


class TicketListState(AuthState):
    """/agent/tickets: the newest tickets."""

    tickets: list[dict[str, str | int]] = []

    @rx.event
    @require_role(ROLE_AGENT)
    async def load_tickets(self):
        with session_scope() as session:
            agent = self._agent(session)
            agent_id = agent.id if agent is not None else 0
            tickets = [] if agent is None else ticket_service.recent_tickets(session)
        if not agent_id:
            return [*(await self._drop_links()), rx.redirect(routes.LOGIN)]
        # The top bar shows the agent's status and 대화중 here too.
        await link_desk(self, agent_id, self._login_id)
        self.tickets = [
            {
                "id": t.id,
                "source": t.source,
                "subject": t.subject,
                "requester": t.requester_name or t.requester_email,
                "email": t.requester_email,
                "chat_id": t.chat_id or 0,
                "status": t.status,
                "created_at": local_time(t.created_at, "%Y-%m-%d %H:%M"),
            }
            for t in tickets
        ]
