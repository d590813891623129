"""ChatWire: the page's side of the message path (assets/chat_wire.jsx, realtime/wire.py)."""

from __future__ import annotations

import reflex as rx

from online_contact.realtime import AgentDesk, ChatRoom


class ChatWire(rx.Component):
    """Joins the shown chat on /_wire and writes arriving messages into ChatRoom.live (and, for an
    agent, chat-list previews into AgentDesk.chats). Renders nothing."""

    library = "$/public/chat_wire.jsx"
    tag = "ChatWire"

    role: rx.Var[str]
    ready: rx.Var[bool]
    chat_id: rx.Var[int]
    last_seq: rx.Var[int]
    live: rx.Var[list]
    older: rx.Var[list]
    older_chat: rx.Var[int]
    older_next: rx.Var[int]
    older_state: rx.Var[str]
    room_state: rx.Var[str]
    desk_state: rx.Var[str]
    desk_chats: rx.Var[list]
    site_state: rx.Var[str]
    categories_event: rx.Var[str]
    credential: rx.Var[str]


def chat_wire(role: str) -> rx.Component:
    """The wire of a customer page (ready once the page has loaded: settings are pushed to it
    even before it has a chat) or of an agent page (ready once the agent's desk is linked:
    previews of every chat arrive, not only the open one)."""
    from online_contact.states.agent_console import AgentConsoleState
    from online_contact.states.customer_chat import CustomerChatState
    from online_contact.states.transcript import OlderMessagesState

    agent = role == "agent"
    return ChatWire.create(
        role=role,
        ready=(AgentDesk.agent_id > 0) if agent else CustomerChatState.loaded,
        chat_id=ChatRoom.chat_id,
        last_seq=ChatRoom.last_seq,
        live=ChatRoom.live,
        older=OlderMessagesState.older,
        older_chat=OlderMessagesState.older_chat,
        older_next=OlderMessagesState.older_next,
        older_state=OlderMessagesState.get_full_name(),
        room_state=ChatRoom.get_full_name(),
        desk_state=AgentDesk.get_full_name() if agent else "",
        desk_chats=AgentDesk.chats if agent else [],
        site_state="" if agent else CustomerChatState.get_full_name(),
        categories_event=f"{AgentConsoleState.get_full_name()}.refresh_categories" if agent else "",
        credential="" if agent else CustomerChatState.hosted_key,
    )


class HistoryWire(rx.Component):
    """채팅 기록's panel watches its chat on /_wire: a 마스킹 or a 고객 정보 삭제 done elsewhere
    makes it read the chat again (assets/history_wire.jsx). Renders nothing."""

    library = "$/public/history_wire.jsx"
    tag = "HistoryWire"

    ready: rx.Var[bool]
    chat_id: rx.Var[int]
    changed_event: rx.Var[str]


def history_wire() -> rx.Component:
    from online_contact.states.history import HistoryState

    return HistoryWire.create(
        ready=HistoryState.agent_id > 0,
        chat_id=HistoryState.selected_id,
        changed_event=f"{HistoryState.get_full_name()}.transcript_changed",
    )


class AgentAlerts(rx.Component):
    """The page title's count, the sound and the browser notification of an agent's page
    (assets/agent_alerts.jsx). Renders nothing."""

    library = "$/public/agent_alerts.jsx"
    tag = "AgentAlerts"

    chats: rx.Var[list]
    active_chat_id: rx.Var[int]
    screen_open: rx.Var[bool]
    sound: rx.Var[bool]
    desktop: rx.Var[bool]
    title: rx.Var[str]
    new_chat_text: rx.Var[str]
    new_message_text: rx.Var[str]
    select_event: rx.Var[str]


def agent_alerts() -> rx.Component:
    from online_contact.components.common import T
    from online_contact.states.agent_console import AgentConsoleState as S

    return AgentAlerts.create(
        chats=AgentDesk.chats,
        active_chat_id=S.active_chat_id,
        screen_open=S.screen_open,
        sound=S.notify_sound,
        desktop=S.notify_desktop,
        title=T["agent_page_title"],
        new_chat_text=T["alert_new_chat"],
        new_message_text=T["alert_new_message"],
        select_event=f"{S.get_full_name()}.select_chat",
    )


class EmbedBridge(rx.Component):
    """The /widget's side of the site's launcher (assets/embed_bridge.jsx, embed.js). Renders
    nothing."""

    library = "$/public/embed_bridge.jsx"
    tag = "EmbedBridge"

    enabled: rx.Var[bool]
    ready: rx.Var[bool]
    host_event: rx.Var[str]
    visitor_key: rx.Var[str]
    live: rx.Var[list]
    last_seq: rx.Var[int]


def embed_bridge() -> rx.Component:
    from online_contact.states.customer_chat import CustomerChatState

    return EmbedBridge.create(
        enabled=CustomerChatState.hosted,
        ready=CustomerChatState.loaded,
        host_event=f"{CustomerChatState.get_full_name()}.host_page",
        visitor_key=CustomerChatState.hosted_key,
        live=ChatRoom.live,
        last_seq=ChatRoom.last_seq,
    )


class Ticker(rx.Component):
    """An event every few seconds while the page is visible (assets/ticker.jsx)."""

    library = "$/public/ticker.jsx"
    tag = "Ticker"

    event: rx.Var[str]
    seconds: rx.Var[int]
    enabled: rx.Var[bool]


def _picked(seq: rx.Var, start: rx.Var, end: rx.Var) -> tuple[rx.Var[int], rx.Var[int], rx.Var[int]]:
    return (seq.to(int), start.to(int), end.to(int))


class MaskAction(rx.Component):
    """마스킹 beside a message: hands the server the selected part of it (character offsets), or
    -1, -1 for the whole message (assets/mask_action.jsx)."""

    library = "$/public/mask_action.jsx"
    tag = "MaskAction"

    seq: rx.Var[int]
    label: rx.Var[str]
    on_pick: rx.EventHandler[_picked]


def _bar_item(item: rx.Var) -> tuple[rx.Var[dict]]:
    """Recharts calls a bar's onClick with the bar's rectangle, whose `payload` is the row."""
    return (item.to(dict),)


class Bar(rx.recharts.Bar):
    """A Recharts bar whose click hands its row to the server (Reflex's own Bar passes nothing),
    so that a bar of 통계 can open 채팅 기록 on its chats. (Named Bar: the charts accept children
    by their class's name.)"""

    on_click: rx.EventHandler[_bar_item]


LinkedBar = Bar
