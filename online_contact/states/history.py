"""채팅 기록 (/history): the search in the URL, newest-first pages, and the side panel of one chat
(고객정보 / 상담정보 edited as on the chat screen, tickets, transcript, rating, timeline,
consent). Admins see every chat, agents the chats they handled (services.history.visible_to)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import reflex as rx
from sqlmodel import select

from online_contact import routes
from online_contact.config import local_time
from online_contact.models import Agent, Chat, ChatAssignment, ConsentRecord, Rating, Ticket
from online_contact.models.agent import ROLE_ADMIN, ROLE_AGENT
from online_contact.realtime.publish import link_desk, publish_chat_from
from online_contact.services import messages as message_service
from online_contact.services import history
from online_contact.services.db import session_scope
from online_contact.services.errors import ServiceError
from online_contact.services.text import parse_id

from .auth import AuthState
from .chat_info import ChatInfoMixin
from .history_export import HistoryExportMixin
from .history_privacy import HistoryPrivacyMixin
from .guard import require_role
from .lang import tr, tr_error

TRANSCRIPT_PAGE = 100
SEARCH_FIELDS = ("from", "to", "state", "agent", "category", "channel", "customer", "rating", "q")
# Conditions that only 통계's click-through sets: kept in the URL and on a new search (hidden
# fields), named on the screen, and dropped by 검색 초기화.
EXTRA_FIELDS = ("ticket", "wait", "replied", "hour", "dow", "assigned")
_WHEN = "%Y-%m-%d %H:%M"
# The search fields' labels, to say in the reader's language which ones were not understood.
INVALID_LABELS = {"from": "history_from", "to": "history_to", "state": "col_state", "agent": "history_agent",
                  "category": "col_category", "channel": "col_channel", "rating": "history_rating",
                  "wait": "col_wait", "ticket": "history_extra_ticket", "replied": "history_extra_replied",
                  "hour": "history_extra_hour_label", "dow": "history_extra_dow_label",
                  "assigned": "stats_col_assigned"}


def _when(moment) -> str:
    return local_time(moment, _WHEN) if moment is not None else ""


def _channel(chat: Chat) -> str:
    return "" if chat.channel == "helpcenter" else chat.channel


class HistoryState(HistoryPrivacyMixin, HistoryExportMixin, ChatInfoMixin, AuthState):
    # The search (as in the URL) and the page shown.
    search: dict[str, str] = {}
    invalid: list[str] = []
    extra_conditions: list[str] = []
    rows: list[dict[str, str | int]] = []
    total: int = 0
    page_no: int = 1
    older_url: str = ""
    newer_url: str = ""
    agent_options: list[dict[str, str]] = []
    category_options: list[dict[str, str]] = []
    is_admin: bool = False
    # The side panel.
    selected_id: int = 0
    panel_error: str = ""
    started: str = ""
    state_key: str = ""
    agent_label: str = ""
    rating: str = ""
    rating_comment: str = ""
    consent: dict[str, str] = {}
    timeline: list[dict[str, str]] = []
    tickets: list[dict[str, str | int]] = []
    transcript: list[dict[str, str | int]] = []
    transcript_more: bool = False
    confirm_open: bool = False
    _pending: int = -1
    _total_key: str = ""  # whose search the total was counted for (pages of it keep it)

    @rx.var
    def total_text(self) -> str:
        """The total as the list shows it ("12,371"); an ellipsis while it is being counted."""
        return "…" if self.total < 0 else f"{self.total:,}"

    @rx.var
    def search_key(self) -> str:
        """Changes with the search in the URL (the form is drawn again with its values)."""
        return urlencode(self.search)

    @rx.var
    def channel_page(self) -> str:
        """The one embedding page the search is for (통계's 채널별), else ''."""
        channel = self.search.get("channel", "")
        return channel if "://" in channel else ""

    @rx.var
    def transcript_newest_first(self) -> list[dict[str, str | int]]:
        return list(reversed(self.transcript))

    # ---- ChatInfoMixin ----------------------------------------------------------------------
    def _info_chat_id(self) -> int:
        return self.selected_id

    def _info_chat(self, session, agent) -> Chat:
        return history.chat_for(session, agent, self.selected_id)

    async def _info_saved(self, chat_id: int, agent_id: int) -> None:
        # The chat's other screens (its agent's list and chat screen) see the change.
        chat_agent = await self._reload_row(chat_id)
        await publish_chat_from(self, chat_id, chat_agent)

    async def _ticket_created(self, ticket) -> None:
        with session_scope() as session:
            self._fill_tickets(session, self.selected_id)

    def _forget_screen(self) -> None:
        self._forget_info()
        self._forget_export()
        self.rows, self.total, self.search, self.invalid = [], 0, {}, []
        self._total_key, self.extra_conditions = "", []
        self.agent_options, self.category_options = [], []
        self.older_url = self.newer_url = ""
        self._close_panel()

    # ---- the list ---------------------------------------------------------------------------
    def _url(self, query: dict[str, str]) -> str:
        return routes.HISTORY + "?" + urlencode(query)

    @rx.event
    @require_role(ROLE_AGENT)
    async def load_history(self):
        """on_load: read the search from the URL and show its page; then its total, counted once
        per search (turning pages keeps it) and sent after the rows so they never wait for it.
        The queries run in a worker thread: the event loop serves every other tab meanwhile."""
        params = self.router.url.query_parameters
        conditions = history.parse_conditions(dict(params))
        after = history.Cursor.decode(params.get("after", ""))
        before = history.Cursor.decode(params.get("before", ""))
        page_no = parse_id(params.get("page", "1")) or 1
        with session_scope() as session:
            agent = self._agent(session)
            if agent is None:
                return
            agent_id, is_admin = agent.id, agent.role == ROLE_ADMIN
        query = conditions.to_query()
        paging = after is not None or before is not None

        def read():
            with session_scope() as session:
                agent = session.get(Agent, agent_id)
                result = history.page(session, agent, conditions, after=after, before=before, count=False)
                labels = history.Labels.read(session)
                rows = [self._row(chat, labels) for chat in result.chats]
                agents = [{"id": str(a.id), "name": a.name} for a in session.exec(select(Agent).order_by(Agent.name))] if is_admin else []
                categories = [{"id": str(i), "name": path} for i, path in labels.categories.items()]
            return result, rows, agents, categories

        result, self.rows, self.agent_options, self.category_options = await asyncio.to_thread(read)
        self.is_admin = is_admin
        self.search = {k: query.get(k, "") for k in (*SEARCH_FIELDS, *EXTRA_FIELDS)}
        self.extra_conditions = await self._extra_labels(conditions)
        self.invalid = [await tr(self, INVALID_LABELS[k]) for k in conditions.invalid]
        self.page_no = 1 if not paging else max(1, page_no)
        self.older_url = self._url({**query, "after": result.older.encode(), "page": str(self.page_no + 1)}) if result.older else ""
        self.newer_url = (
            self._url({**query, "before": result.newer.encode(), "page": str(max(1, self.page_no - 1))})
            if result.newer and self.page_no > 2 else (self._url(query) if result.newer else "")
        )
        if not is_admin:
            await link_desk(self, agent_id, self._login_id)  # the agent's top bar (status, 대화중)
        total_key = f"{agent_id}|{urlencode(query)}"
        if paging and self._total_key == total_key and self.total >= 0:
            return  # another page of the same search
        if not paging and result.older is None:
            self.total, self._total_key = len(self.rows), total_key  # it all fits on this page
            return
        self.total, self._total_key = -1, ""
        yield  # the rows now; the total follows

        def total():
            with session_scope() as session:
                return history.count(session, session.get(Agent, agent_id), conditions)

        self.total, self._total_key = await asyncio.to_thread(total), total_key

    def _row(self, chat: Chat, labels: history.Labels) -> dict[str, str | int]:
        return {
            "id": chat.id,
            "started": _when(chat.created_at),
            "customer": chat.customer_name,
            "email": chat.customer_email,
            "agent": labels.agent(chat),
            "channel": _channel(chat),
            "category": labels.category(chat),
            "state": history.state_of(chat),
            "rating": str(chat.rating_score or ""),
            "messages": chat.last_seq,
            "duration": history.duration_text(history.chat_seconds(chat)),
        }

    async def _reload_row(self, chat_id: int) -> int | None:
        """Show the saved chat's row as stored; returns the chat's agent."""
        with session_scope() as session:
            chat = session.get(Chat, chat_id)
            if chat is None:
                return None
            row, chat_agent = self._row(chat, history.Labels.read(session)), chat.agent_id
        self.rows = [row if r["id"] == chat_id else r for r in self.rows]
        return chat_agent

    @rx.event
    @require_role(ROLE_AGENT)
    def run_search(self, form_data: dict | None = None):
        """검색: the conditions go into the URL (bookmarkable; Back returns to the last search)."""
        form = form_data if isinstance(form_data, dict) else {}
        conditions = history.parse_conditions({k: form.get(k, "") for k in (*SEARCH_FIELDS, *EXTRA_FIELDS)})
        return rx.redirect(self._url(conditions.to_query()))

    async def _extra_labels(self, c: history.Conditions) -> list[str]:
        """The conditions the form does not show, as the screen names them."""
        labels = []
        if c.ticket:
            labels.append(await tr(self, "history_extra_ticket"))
        if c.replied:
            labels.append(await tr(self, "history_extra_replied"))
        if c.wait >= 0:
            low, high = history.WAIT_BUCKETS[c.wait]
            labels.append(await tr(self, "history_extra_wait", range=f"{low}–{high}s" if high else f"> {low}s"))
        if c.dow >= 0:
            labels.append(await tr(self, f"stats_dow_{c.dow}"))
        if c.hour >= 0:
            labels.append(await tr(self, "history_extra_hour", hour=f"{c.hour:02d}"))
        if c.assigned:
            with session_scope() as session:
                name = history.agent_names(session).get(c.assigned, f"#{c.assigned}")
            labels.append(await tr(self, "history_extra_assigned", name=name))
        return labels

    @rx.event
    @require_role(ROLE_AGENT)
    def reset_search(self):
        return rx.redirect(routes.HISTORY)

    # ---- the side panel ---------------------------------------------------------------------
    def _close_panel(self) -> None:
        self.selected_id = 0
        self._clear_info_fields()
        self.panel_error = self.started = self.state_key = self.agent_label = ""
        self.rating = self.rating_comment = ""
        self.consent, self.timeline, self.tickets, self.transcript = {}, [], [], []
        self.transcript_more = False
        self.confirm_open, self._pending = False, -1
        self._clear_privacy()

    @rx.event
    @require_role(ROLE_AGENT)
    async def open_chat(self, chat_id: int = 0):
        """A click on a row: its side panel (asks first when the open one has unsaved edits)."""
        chat_id = parse_id(chat_id)
        if chat_id and chat_id == self.selected_id:
            return  # already open: keep what is being edited
        if self.info_dirty:
            self._pending, self.confirm_open = chat_id, True
            return
        await self._open(chat_id)

    @rx.event
    @require_role(ROLE_AGENT)
    async def close_panel(self):
        if self.info_dirty:
            self._pending, self.confirm_open = 0, True
            return
        self._close_panel()

    async def _open(self, chat_id: int, record: bool = True) -> None:
        """The side panel of a chat; `record`: written to the audit log as an access to its
        transcript and customer information (PIPA's access records)."""
        if not chat_id:
            self._close_panel()
            return
        try:
            with session_scope() as session:
                agent = self._agent(session)
                if agent is None:
                    return
                chat = history.chat_for(session, agent, chat_id)
                self._close_panel()
                self.selected_id = chat.id
                self._fill_info(session, chat)
                self._fill_privacy(session, chat)
                labels = history.Labels.read(session)
                self.started = _when(chat.created_at)
                self.state_key = history.state_of(chat)
                self.agent_label = labels.agent(chat)
                rating = session.exec(select(Rating).where(Rating.chat_id == chat.id).order_by(Rating.id.desc())).first()
                self.rating = str(rating.score) if rating else ""
                self.rating_comment = rating.comment if rating else ""
                consent = session.get(ConsentRecord, chat.consent_id) if chat.consent_id else None
                self.consent = (
                    {"version": consent.version, "at": local_time(consent.created_at, "%Y-%m-%d %H:%M:%S"), "ip": consent.ip,
                     "language": consent.language}
                    if consent else {}
                )
                self.timeline = self._timeline(session, chat, labels)
                self._fill_tickets(session, chat.id)
                messages = message_service.recent_messages(session, chat.id, TRANSCRIPT_PAGE + 1)
        except ServiceError as exc:
            self.panel_error = await tr_error(self, exc)
            return
        self.transcript_more = len(messages) > TRANSCRIPT_PAGE
        self.transcript = [m.as_dict() for m in messages[-TRANSCRIPT_PAGE:]]
        if record:
            self._record_view(agent.id, chat.id)

    def _reread_transcript(self) -> None:
        """The messages shown, read again (one was masked): those and no later ones (a message
        that came since shows when the chat is opened again, with its access record)."""
        if not self.selected_id or not self.transcript:
            return
        first, last = int(self.transcript[0]["seq"]), int(self.transcript[-1]["seq"])
        with session_scope() as session:
            messages = message_service.messages_after(session, self.selected_id, first - 1, last - first + 1)
        self.transcript = [m.as_dict() for m in messages if m.seq <= last]

    def _timeline(self, session, chat: Chat, labels: history.Labels) -> list[dict[str, str]]:
        """생성, 할당 (and why; a hand-back and why), 상담원 첫 확인, 첫 응답, 고객 종료, 상담원 종료."""
        events = [(chat.created_at, "timeline_created", "")]
        for a in session.exec(select(ChatAssignment).where(ChatAssignment.chat_id == chat.id).order_by(ChatAssignment.id)):
            events.append((a.assigned_at, "timeline_assigned", f"{labels.agents.get(a.agent_id, '')}|reason_{a.reason}"))
            if a.released_at is not None:
                events.append((a.released_at, "timeline_released", f"{labels.agents.get(a.agent_id, '')}|release_{a.release_reason}"))
        for moment, key in ((chat.agent_opened_at, "timeline_opened"), (chat.first_agent_reply_at, "timeline_first_reply"),
                            # 대기 시간 제한 ended it for the customer: named as such, not 고객 종료.
                            (chat.customer_ended_at,
                             "timeline_queue_timeout" if chat.queue_timeout_at is not None else "timeline_customer_ended"),
                            (chat.agent_ended_at, "timeline_agent_ended")):
            if moment is not None:
                events.append((moment, key, ""))
        events.sort(key=lambda e: e[0])
        out = []
        for moment, key, detail in events:
            who, _, reason = detail.partition("|")
            out.append({"at": local_time(moment, "%Y-%m-%d %H:%M:%S"), "what": key, "who": who, "reason": reason})
        return out

    def _fill_tickets(self, session, chat_id: int) -> None:
        self.tickets = [
            {"id": t.id, "subject": t.subject, "status": t.status, "at": _when(t.created_at)}
            for t in session.exec(select(Ticket).where(Ticket.chat_id == chat_id).order_by(Ticket.id))
        ]

    @rx.event
    @require_role(ROLE_AGENT)
    async def load_older_messages(self):
        """The transcript's older messages (asked for as the reader scrolls up to them)."""
        if not self.selected_id or not self.transcript_more or not self.transcript:
            return
        first = int(self.transcript[0]["seq"])
        with session_scope() as session:
            agent = self._agent(session)
            if agent is None:
                return
            try:
                chat = history.chat_for(session, agent, self.selected_id)
            except ServiceError:
                return
            older = message_service.messages_before(session, chat.id, first, TRANSCRIPT_PAGE + 1)
        self.transcript_more = len(older) > TRANSCRIPT_PAGE
        self.transcript = [m.as_dict() for m in older[-TRANSCRIPT_PAGE:]] + self.transcript

    # ---- the unsaved-edits guard ------------------------------------------------------------
    @rx.event
    @require_role(ROLE_AGENT)
    async def discard_and_continue(self):
        pending, self._pending, self.confirm_open = self._pending, -1, False
        self.saved_info = self._current_info()
        await self._continue(pending)

    @rx.event
    @require_role(ROLE_AGENT)
    async def save_and_continue(self):
        pending, self._pending, self.confirm_open = self._pending, -1, False
        if await self._save():
            await self._continue(pending)

    @rx.event
    @require_role(ROLE_AGENT)
    def cancel_pending(self):
        self._pending, self.confirm_open = -1, False

    async def _continue(self, pending: int) -> None:
        if pending == 0:
            self._close_panel()
        elif pending > 0:
            await self._open(pending)
