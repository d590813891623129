"""The agent's screens: status, chat list, chat window with 고객정보 / 상담정보."""

from __future__ import annotations

import reflex as rx

from online_contact import routes
from online_contact.config import local_time
from online_contact.models.agent import ROLE_AGENT
from online_contact.models.chat import AUTHOR_AGENT, Chat
from online_contact.realtime import publish_assignments, publish_chat_from
from online_contact.realtime.publish import (
    link_desk,
    link_room,
    publish_message_from,
    publish_status_change,
    refresh_desk_here,
    unlink_room,
)
from online_contact.services import agents as agent_service
from online_contact.services import chats as chat_service
from online_contact.services import messages as message_service
from online_contact.services import tickets as ticket_service
from online_contact.services.db import session_scope
from online_contact.services.errors import NotAllowed, ServiceError
from online_contact.services.text import LIMITS, as_text, form_text, parse_id

from .auth import AuthState
from .guard import require_role
from .lang import tr, tr_error
from .chat_info import ChatInfoMixin, offered_categories
from .masking import MaskingMixin
from .transcript import put_back

class AgentConsoleState(MaskingMixin, ChatInfoMixin, AuthState):
    """One agent tab. Shared parts (chat list, the open chat) live in AgentDesk / ChatRoom."""

    screen_open: bool = False
    active_chat_id: int = 0
    # "<screen open 0|1>:<chat id>" kept by the browser tab, so a restarted server (fresh state)
    # puts the agent back where they were.
    view_memory: str = rx.SessionStorage("", name="oc_agent_view")
    # 알림 설정, kept with the agent's account.
    notify_sound: bool = True
    notify_desktop: bool = False
    composer_error: str = ""
    confirm_open: bool = False
    _pending: str = ""

    # ---- the chat whose info is edited (ChatInfoMixin) ---------------------------------------
    def _info_chat_id(self) -> int:
        return self.active_chat_id

    def _info_chat(self, session, agent) -> Chat:
        return chat_service.chat_for_agent(session, self.active_chat_id, agent)

    async def _info_saved(self, chat_id: int, agent_id: int) -> None:
        await publish_chat_from(self, chat_id, agent_id)

    # ---- helpers ---------------------------------------------------------------------------
    def _require(self, session):
        agent = self._agent(session)
        if agent is None:
            return None, rx.redirect(routes.LOGIN)
        return agent, None

    def _forget_screen(self) -> None:
        """The login ended (realtime.logins): nothing of the chats stays in this tab."""
        self._clear_info()
        self._forget_info()
        self._close_mask()
        self.screen_open = False
        self.composer_error = ""
        self.confirm_open = False
        self._pending = ""

    def _clear_info(self) -> None:
        self.active_chat_id = 0
        self._remember_view()
        self._clear_info_fields()

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
                    # The view memory is the browser's (a client sets it to anything): the chat
                    # comes back only by the rule that opens a chat, and coming back opens it.
                    chat = self._open_here(session, agent, self.active_chat_id)
                    if chat is None:
                        self._clear_info()
                    elif restored or not self.saved_info:
                        self._fill_info(session, chat)
        if redirect:
            self._clear_info()
            return [*(await self._drop_links()), redirect]
        await link_desk(self, agent_id, self._login_id)
        if self.active_chat_id:
            await link_room(self, self.active_chat_id, self._login_id, agent_id)
        else:
            # Linked to a chat it may no longer show (handed on while this tab was elsewhere).
            return await unlink_room(self)

    def _mask_chat_id(self) -> int:
        return self.active_chat_id

    def _open_here(self, session, agent, chat_id: int) -> Chat | None:
        """The chat by chat_service.open_for_agent (the one rule that opens a chat and lets a tab
        show it), or None when this agent may not show it."""
        try:
            return chat_service.open_for_agent(session, chat_id, agent)
        except ServiceError:
            return None

    async def _chat_moved_away(self, chat_id: int) -> bool:
        """realtime.publish.chat_moved: the chat went to another agent. Nothing of it stays in
        this tab (what was typed for it included), and the agent is told why it closed.
        Returns whether this tab was showing it."""
        if self._ticket_chat_id == chat_id:
            self.ticket_open = False
            self.ticket_subject = self.ticket_body = self.ticket_error = ""
            self._ticket_chat_id = 0
        if self.active_chat_id != chat_id:
            return False
        self._clear_info()
        self._close_mask()
        self.confirm_open, self._pending, self.composer_error = False, "", ""
        self.error = ""
        self.notice = await tr(self, "chat_moved_away")
        return True

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
                chat = chat_service.open_for_agent(session, chat_id, agent)
                self.active_chat_id = chat.id
                self.screen_open = True  # also when opened from a notification
                self._remember_view()
                self._fill_info(session, chat)
                agent_id = agent.id
        except ServiceError as exc:
            self.error = await tr_error(self, exc)
            return
        self.composer_error = self.notice = self.error = ""
        await link_room(self, chat_id, self._login_id, agent_id)
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

    # ---- messages, rating, end -------------------------------------------------------------
    @rx.event
    @require_role(ROLE_AGENT)
    async def send(self, form_data: dict | None = None):
        text = form_text(form_data, "text")
        client_id = form_text(form_data, "client_id", LIMITS["client_id"]) or None
        restoring = not self.active_chat_id and bool(self.view_memory)
        if restoring:
            # A message queued while the server restarted can arrive before the page reloads.
            self._restore_view()
        try:
            with session_scope() as session:
                if restoring:
                    # As in load_console: the remembered chat only by the rule that opens one.
                    agent, redirect = self._require(session)
                    if redirect:
                        return redirect
                    if self._open_here(session, agent, self.active_chat_id) is None:
                        self._clear_info()
                # One query checks the login and that the chat is this agent's and opened; when
                # it finds nothing, the full checks below say why (login page, or not allowed).
                chat = message_service.chat_for_agent_token(session, self.active_chat_id, self.auth_token)
                agent_id = chat.agent_id if chat is not None else None
                if chat is None:
                    agent, redirect = self._require(session)
                    if redirect:
                        return redirect
                    chat = chat_service.chat_for_agent(session, self.active_chat_id, agent)
                    if chat.agent_opened_at is None:
                        raise NotAllowed(chat_service.NOT_OPENED)
                    agent_id = agent.id
                message, _ = message_service.post_message(session, chat, AUTHOR_AGENT, text, client_id, agent_id=agent_id)
        except ServiceError as exc:
            self.composer_error = await tr_error(self, exc)
            return put_back("agent-input", text)
        if self.composer_error:
            self.composer_error = ""
        await publish_message_from(self, chat.id, agent_id, message_service.view(message).as_dict())

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

    @rx.event
    @require_role(ROLE_AGENT)
    async def end_chat_after_edits(self, save: bool = True):
        """The 대화 종료 dialog with unsaved 고객정보 / 상담정보: 저장하고 종료 (a refused save
        keeps the chat and the edits, with the reason) or 저장하지 않고 종료."""
        if save is True:
            if not await self._save():
                return
        elif save is False:
            self.saved_info = self._current_info()  # nothing unsaved any more
        else:
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


class TicketListState(AuthState):
    """/agent/tickets: the newest tickets the agent may see (services.tickets.visible_to)."""

    tickets: list[dict[str, str | int]] = []

    def _forget_screen(self) -> None:
        """The login ended (realtime.logins): no requester stays in this tab."""
        self.tickets = []

    @rx.event
    @require_role(ROLE_AGENT)
    async def load_tickets(self):
        with session_scope() as session:
            agent = self._agent(session)
            agent_id = agent.id if agent is not None else 0
            tickets = [] if agent is None else ticket_service.recent_tickets(session, agent)
        if not agent_id:
            self.tickets = []
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
