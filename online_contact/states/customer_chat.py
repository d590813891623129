"""The customer's side: chat icon, 상담원 부재중 popup, consent, messages, rating, end."""

from __future__ import annotations

import uuid

import reflex as rx

from online_contact.i18n import LANGUAGES
from online_contact.models.chat import AUTHOR_CUSTOMER, CHANNEL_HELP_CENTER, Chat
from online_contact.realtime import ChatRoom, publish_assignments, publish_chat_from
from online_contact.realtime.publish import is_linked, link_room, publish_message_from, publish_queue, room_token
from online_contact.services import chats as chat_service
from online_contact.services import messages as message_service
from online_contact.services import embed as embed_service
from online_contact.services import customers as customer_service
from online_contact.services.customers import MADE_VISITOR_KEY_RE, VISITOR_KEY_RE
from online_contact.services import limits, masking, privacy, routing
from online_contact.services.db import session_scope
from online_contact.services.errors import ServiceError
from online_contact.services import settings as settings_service
from online_contact.services.settings import get_settings
from online_contact.services.text import LIMITS, as_text, form_text

from .lang import LangState, shown_lang, tr, tr_error
from .transcript import put_back

PHASE_IDLE = "idle"
PHASE_UNAVAILABLE = "unavailable"
PHASE_CONSENT = "consent"
PHASE_CHAT = "chat"


def _embedding_page(url: str) -> str:
    """The embedding page of /widget?page= as its chat's 채널 (origin + path: its query and
    fragment may hold the visitor's email or tokens), '' when it is not an http(s) page."""
    return embed_service.page_channel(url)


class CustomerChatState(rx.State):
    """One customer's chat window. Identity is a random key kept in localStorage."""

    visitor_key: str = rx.LocalStorage("", name="oc_visitor", sync=True)
    chat_enabled: bool = False
    embedded: bool = False
    channel: str = CHANNEL_HELP_CENTER
    panel_open: bool = False
    phase: str = PHASE_IDLE
    consent_error: str = ""
    send_error: str = ""
    rating_open: bool = False
    rating_error: str = ""
    rating_done: bool = False
    rating_dismissed_seq: int = 0
    # The page has loaded (its message path may connect: settings are pushed to it live).
    loaded: bool = False
    # The 개인정보 수집 동의 text shown (one line per item) and its version, recorded with consent.
    consent_lines: list[str] = []
    _consent_version: str = ""
    _consent_language: str = ""
    # The admin's preview of the widget (설정 › 채팅화면 삽입 코드): it never starts a real chat.
    preview: bool = False
    # Inside a site's launcher (embed.js, /widget?embed=1): the site hides and shows the frame,
    # keeps the visitor key and may prefill the name and email (host_page).
    hosted: bool = False
    # Inside a launcher the customer's key is the one the site keeps (handed over in "init") or
    # the one made here at consent, never the frame's own storage: a page that frames the widget
    # must not learn, nor plant, the key this browser uses elsewhere.
    hosted_key: str = ""
    prefill_name: str = ""
    prefill_email: str = ""
    # The kinds of number masked automatically (services.privacy), named under the composer;
    # every kind until the settings are read (and pushed live when an admin changes them).
    masked_kinds: list[str] = list(masking.KINDS)
    _chat_id: int = 0

    def _visitor(self) -> str:
        """The browser's visitor key when it is one this app makes ('' otherwise: a client can
        put anything in its storage, and nothing that size or shape is kept)."""
        if self.hosted:
            return self.hosted_key
        key = self.visitor_key
        if isinstance(key, str) and VISITOR_KEY_RE.match(key):
            return key
        if key:
            self.visitor_key = ""
        return ""

    # ---- loading -------------------------------------------------------------------------
    async def _load(self, embedded: bool):
        self.embedded = embedded
        params = self.router.url.query_parameters
        self.preview = embedded and params.get("preview") == "1"
        page = _embedding_page(params.get("page", "")) if embedded else ""
        self.hosted = embedded and not self.preview and params.get("embed") == "1" and bool(page)
        if params.get("lang"):
            # This frame's language; the person's own choice (oc_lang, synced) stays as it was.
            (await self.get_state(LangState))._show_page_lang(params.get("lang"))
        self.channel = page or CHANNEL_HELP_CENTER
        with session_scope() as session:
            settings = get_settings(session)
            self.chat_enabled = settings.chat_enabled
            self.masked_kinds = list(privacy.kinds_of(settings))
            if self.hosted and not embed_service.site_allowed(settings, page):
                self.hosted = False  # a launcher only on the sites of 채팅화면 삽입 코드
            customer = customer_service.customer_for_visitor(session, self._visitor())
            chat = chat_service.open_chat_of_customer(session, customer) if customer else None
        self.loaded = True
        if chat is not None and self.chat_enabled:
            await self._link_room(chat.id)
            self.phase = PHASE_CHAT
            self.panel_open = True
        else:
            # The tab's state survives a reload: start from the icon again.
            self._chat_id = 0
            self.phase = PHASE_IDLE
            self.panel_open = embedded

    @rx.event
    async def load_help_center(self):
        """on_load of / : chat icon when enabled; resume an open chat."""
        await self._load(embedded=False)

    @rx.event
    async def load_widget(self):
        """on_load of /widget (inside the embed iframe)."""
        await self._load(embedded=True)
        if self.phase == PHASE_IDLE and self.chat_enabled:
            await self.open_chat()

    @rx.event
    async def host_page(self, kind: str = "", visitor: str = "", name: str = "", email: str = "", lang: str = ""):
        """What the site that embeds the chat hands over (embed.js, through postMessage from the
        embedding page only: assets/embed_bridge.jsx): on "init" the visitor key the site keeps
        (browsers partition or block a third-party frame's own storage, so the site's storage
        is where the customer's chat is found again after a reload), and the name, email and
        language it set (OnlineContact.setUser / setLanguage). Anything malformed is ignored."""
        if not self.hosted or kind not in ("init", "user", "lang"):
            return
        if kind in ("init", "lang") and isinstance(lang, str) and lang in LANGUAGES:
            if await shown_lang(self) != lang:
                (await self.get_state(LangState))._show_page_lang(lang)
                if self.phase == PHASE_CONSENT:
                    await self.open_chat()  # the consent text in the new language
        if kind in ("init", "user"):
            self.prefill_name = as_text(name, LIMITS["name"]).strip()
            self.prefill_email = as_text(email, LIMITS["email"]).strip()
        if kind != "init" or not isinstance(visitor, str) or not MADE_VISITOR_KEY_RE.fullmatch(visitor):
            return
        if visitor == self.hosted_key or (self.phase == PHASE_CHAT and self._chat_id):
            return  # the same customer, or a chat already open here (its key goes to the site)
        with session_scope() as session:
            customer = customer_service.customer_for_visitor(session, visitor)
            chat = chat_service.open_chat_of_customer(session, customer) if customer else None
        self.hosted_key = visitor
        if chat is not None and self.chat_enabled:
            await self._link_room(chat.id)
            self.phase, self.panel_open = PHASE_CHAT, True

    async def _link_room(self, chat_id: int) -> None:
        self._chat_id = chat_id
        await link_room(self, chat_id)

    def _own_chat(self, session) -> Chat | None:
        """The chat of this browser's customer, checked on the server (never trust the client).

        A tab whose server state is new (the server restarted) may send a queued message
        before its page has loaded again: the open chat is then found from the visitor key.
        """
        customer = customer_service.customer_for_visitor(session, self._visitor())
        if customer is None:
            return None
        if not self._chat_id:
            chat = chat_service.open_chat_of_customer(session, customer)
            if chat is None:
                return None
            self._chat_id = chat.id
            self.phase = PHASE_CHAT
        chat = session.get(Chat, self._chat_id)
        return chat if chat is not None and chat.customer_id == customer.id else None

    # ---- opening -------------------------------------------------------------------------
    @rx.event
    async def open_chat(self):
        """The chat icon: resume, ask for consent, or say that nobody is available."""
        self.send_error = self.consent_error = ""
        lang = await shown_lang(self)
        with session_scope() as session:
            settings = get_settings(session)
            self.chat_enabled = settings.chat_enabled
            self.masked_kinds = list(privacy.kinds_of(settings))
            if self.phase == PHASE_CHAT and self._own_chat(session) is not None:
                self.panel_open = True  # an open chat continues while chat is switched off
                return
            if not settings.chat_enabled:
                return
            if not routing.any_agent_online(session) and not self.preview:  # a preview shows the steps anyway
                self.phase = PHASE_UNAVAILABLE
                self.panel_open = False
                return
            consent = settings_service.current_consent(session, lang)
        self.consent_lines, self._consent_version, self._consent_language = list(consent.lines), consent.version, lang
        self.phase = PHASE_CONSENT
        self.panel_open = True

    @rx.event
    def close_panel(self):
        """Hide the chat window; the chat goes on and the icon brings it back."""
        self.panel_open = False
        if self.phase == PHASE_UNAVAILABLE:
            self.phase = PHASE_IDLE

    @rx.event
    def dismiss_unavailable(self):
        self.phase = PHASE_IDLE

    # ---- consent and start ---------------------------------------------------------------
    @rx.event
    async def give_consent(self, form_data: dict | None = None):
        """Record consent, create the chat, assign it and show the greeting."""
        agreed = form_text(form_data, "agree", 8).lower() in ("on", "true", "1", "yes")
        if self.preview:
            self.consent_error = await tr(self, "preview_no_chat")
            return
        lang = await shown_lang(self)
        if not self._visitor():
            if self.hosted:
                self.hosted_key = uuid.uuid4().hex  # handed to the site, which keeps it
            else:
                self.visitor_key = uuid.uuid4().hex
        try:
            with session_scope() as session:
                begun = chat_service.begin_chat(
                    session,
                    self._visitor(),
                    agreed=agreed,
                    name=form_text(form_data, "name"),
                    email=form_text(form_data, "email"),
                    channel=self.channel,
                    ip=self.router.session.client_ip or "",
                    user_agent=self.router.headers.user_agent or "",
                    language=lang,
                    consent_version=self._consent_version or None,
                    consent_language=self._consent_language or None,
                )
        except ServiceError as exc:
            self.consent_error = await tr_error(self, exc)
            return
        if begun.unavailable:
            # Everyone left while the customer read the consent text.
            self.phase, self.panel_open = PHASE_UNAVAILABLE, False
            return
        chat_id, agent_id = begun.chat_id, begun.agent_id
        if begun.resumed:
            await self._link_room(chat_id)
            self.phase, self.panel_open, self.consent_error = PHASE_CHAT, True, ""
            return
        await self._link_room(chat_id)
        self.consent_error = ""
        self.phase = PHASE_CHAT
        self.panel_open = True
        self.rating_done = False
        self.rating_open = False
        self.rating_dismissed_seq = 0
        if agent_id:
            await publish_chat_from(self, chat_id, agent_id)
        else:
            publish_queue()
        return rx.set_focus("customer-input")

    # ---- messages ------------------------------------------------------------------------
    @rx.event
    async def send(self, form_data: dict | None = None):
        """Store the message first, then show it on both sides. Bad input keeps the text."""
        text = form_text(form_data, "text")
        client_id = form_text(form_data, "client_id", LIMITS["client_id"]) or None
        ip = self.router.session.client_ip or ""
        # The same limits over a visitor's chats and an address's as the message path's; only a
        # message this send stores keeps its count (limits.message_not_stored).
        counted_at = limits.now() if text.strip() else 0.0
        if counted_at and not await limits.message_allowed(self._visitor(), ip, counted_at):
            self.send_error = await tr_error(self, ServiceError("error.too_fast"))
            return put_back("customer-input", text)
        created = False
        try:
            with session_scope() as session:
                # One query checks that this browser's customer owns the chat.
                chat = message_service.chat_for_visitor(session, self._chat_id, self._visitor())
                if chat is None:
                    # No chat in this tab's state yet (e.g. the server restarted): find it.
                    own = self._own_chat(session)
                    chat = message_service.chat_for_visitor(session, own.id, self._visitor()) if own else None
                if chat is None:
                    raise ServiceError("error.no_chat")
                message, created = message_service.post_message(session, chat, AUTHOR_CUSTOMER, text, client_id)
                chat_id, agent_id = chat.id, chat.agent_id
        except ServiceError as exc:
            self.send_error = await tr_error(self, exc)
            return put_back("customer-input", text)
        finally:
            if counted_at and not created:
                await limits.message_not_stored(self._visitor(), ip, counted_at)
        if not is_linked(self, ChatRoom, room_token(chat_id)):
            await self._link_room(chat_id)
        if self.send_error:
            self.send_error = ""
        await publish_message_from(self, chat_id, agent_id, message_service.view(message).as_dict())

    @rx.event
    async def end_chat(self):
        """대화 종료 by the customer."""
        with session_scope() as session:
            chat = self._own_chat(session)
            if chat is None:
                return
            # The agent's slot is free at once: the queue may have moved into it.
            assignments = chat_service.end_by_customer(session, chat)
            chat_id, agent_id = chat.id, chat.agent_id
        await publish_chat_from(self, chat_id, agent_id)
        publish_assignments(assignments)
        if not agent_id:
            publish_queue()

    @rx.event
    async def new_chat(self):
        """After an ended chat: start over with the consent step."""
        self._chat_id = 0
        self.phase = PHASE_IDLE
        self.rating_done = False
        self.rating_open = False
        await self.open_chat()

    # ---- rating --------------------------------------------------------------------------
    @rx.event
    def open_rating(self):
        """평가 by the customer."""
        self.rating_open = True
        self.rating_error = ""

    @rx.event
    async def close_rating(self):
        self.rating_open = False
        self.rating_error = ""
        room = await self.get_state(ChatRoom)
        self.rating_dismissed_seq = room.rating_request_seq

    @rx.event
    async def submit_rating(self, form_data: dict | None = None):
        """Store the score (1–5) and comment."""
        try:
            with session_scope() as session:
                chat = self._own_chat(session)
                if chat is None:
                    raise ServiceError("error.no_chat")
                score = form_data.get("score") if isinstance(form_data, dict) else None
                chat_service.rate(session, chat, score, form_text(form_data, "comment"))
        except ServiceError as exc:
            self.rating_error = await tr_error(self, exc)
            return
        room = await self.get_state(ChatRoom)
        self.rating_dismissed_seq = room.rating_request_seq
        self.rating_open = False
        self.rating_error = ""
        self.rating_done = True
