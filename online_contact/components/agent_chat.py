"""The agent's chat icon, status switch, chat list and chat window."""

from __future__ import annotations

import reflex as rx

from online_contact import routes
from online_contact.realtime import AgentDesk, ChatRoom
from online_contact.states.agent_console import AgentConsoleState as S

from .chat_info import info_fields
from .common import T, composer, error_text, language_switch, mask_dialog, message_log, notice_text, unsaved_badge


def status_switch() -> rx.Component:
    """온라인 / 휴식 / 오프라인 at the top left."""
    return rx.segmented_control.root(
        rx.segmented_control.item(T["online"], value="online"),
        rx.segmented_control.item(T["break"], value="break"),
        rx.segmented_control.item(T["offline"], value="offline"),
        value=AgentDesk.status,
        on_change=S.set_status,
        aria_label=T["status"],
    )


def _notify_item(label, checked, kind: str, attrs: dict | None = None) -> rx.Component:
    """An on/off item of 알림 설정 (a menu item checkbox)."""
    return rx.menu.item(
        rx.hstack(rx.cond(checked, rx.icon("check", size=14), rx.box(width="14px")), rx.text(label), spacing="2", align="center"),
        on_click=S.set_notify(kind, ~checked),
        custom_attrs={"role": "menuitemcheckbox", "aria-checked": rx.cond(checked, "true", "false"), **(attrs or {})},
    )


def top_bar() -> rx.Component:
    return rx.hstack(
        status_switch(),
        rx.badge(T["in_conversation"], " ", AgentDesk.open_count, size="2", id="open-count", role="status"),
        rx.spacer(),
        rx.link(T["chat"], href=routes.AGENT, size="2"),
        rx.link(T["tickets"], href=routes.TICKETS, size="2"),
        rx.link(T["nav_history"], href=routes.HISTORY, size="2"),
        rx.link(T["nav_stats"], href=routes.STATS, size="2"),
        language_switch(),
        rx.cond(S.agent_role == "admin", rx.link(T["settings"], href=routes.SETTINGS, size="2")),
        rx.menu.root(
            rx.menu.trigger(rx.button(S.agent_name, rx.icon("chevron-down", size=14), size="1", variant="ghost")),
            rx.menu.content(
                rx.text(T["notify_settings"], size="1", color=rx.color("gray", 10), padding="4px 8px"),
                _notify_item(T["notify_sound"], S.notify_sound, "sound"),
                _notify_item(T["notify_desktop"], S.notify_desktop, "desktop", {"data-request-notifications": "true"}),
                rx.menu.separator(),
                rx.menu.item(T["logout_everywhere"], on_click=S.logout_everywhere),
            ),
        ),
        rx.button(T["logout"], size="1", variant="soft", on_click=S.logout),
        padding="10px 16px",
        align="center",
        spacing="4",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        width="100%",
    )


def agent_chat_icon() -> rx.Component:
    """Bottom right: opens the chat screen; blinks while a chat waits to be opened."""
    return rx.box(
        rx.icon_button(
            rx.icon("message-circle", size=28),
            aria_label=T["chat"],
            title=T["chat"],
            size="4",
            radius="full",
            on_click=S.toggle_screen,
            class_name=rx.cond(AgentDesk.has_unopened, "oc-blink", ""),
            color_scheme=rx.cond(AgentDesk.has_unopened, "red", "indigo"),
            custom_attrs={"data-blinking": rx.cond(AgentDesk.has_unopened, "true", "false")},
        ),
        rx.cond(
            AgentDesk.open_count > 0,
            rx.badge(AgentDesk.open_count, color_scheme="red", variant="solid", radius="full", position="absolute", top="-4px", right="-4px", aria_hidden="true"),
        ),
        position="fixed",
        bottom="24px",
        right="24px",
        z_index="50",
    )


def chat_list() -> rx.Component:
    def row(c) -> rx.Component:
        return rx.button(
            rx.vstack(
                rx.hstack(
                    rx.text(c["name"], weight="bold", size="2"),
                    rx.cond(~c["opened"].to(bool), rx.badge(T["new_badge"], color_scheme="red", size="1")),
                    rx.cond(c["customer_ended"].to(bool), rx.badge(T["customer_ended_short"], color_scheme="gray", size="1")),
                    rx.cond(c["awaiting_reply"].to(bool) & ~c["customer_ended"].to(bool), rx.badge(T["awaiting_reply"], color_scheme="amber", size="1")),
                    spacing="1",
                    wrap="wrap",
                ),
                rx.text(c["preview"], size="1", color=rx.color("gray", 10), trim="both", truncate=True, max_width="200px"),
                align="start",
                spacing="0",
            ),
            variant=rx.cond(S.active_chat_id == c["id"].to(int), "surface", "ghost"),
            on_click=S.select_chat(c["id"].to(int)),
            width="100%",
            height="auto",
            padding="8px",
            justify="start",
            aria_label=c["name"],
        )

    return rx.vstack(
        rx.text(T["chat_list"], " · ", T["in_conversation"], " ", AgentDesk.open_count, weight="bold", size="2"),
        rx.cond(AgentDesk.open_count == 0, rx.text(T["no_chats"], size="2", color=rx.color("gray", 10))),
        rx.foreach(AgentDesk.chats, row),
        width="240px",
        min_width="240px",
        padding="10px",
        spacing="2",
        overflow_y="auto",
        border_right=f"1px solid {rx.color('gray', 5)}",
        role="navigation",
        aria_label=T["chat_list"],
    )


def info_panel() -> rx.Component:
    """고객정보 and 상담정보; 저장 stays in view at the bottom, unsaved edits are marked."""
    return rx.vstack(
        rx.vstack(
            *info_fields(S),
            spacing="2",
            width="100%",
            flex="1",
            overflow_y="auto",
            padding="12px",
        ),
        rx.vstack(
            error_text(S.error),
            notice_text(S.notice),
            rx.hstack(
                unsaved_badge(S.info_dirty),
                rx.spacer(),
                rx.button(T["save"], on_click=S.save_info, variant=rx.cond(S.info_dirty, "solid", "soft")),
                width="100%",
                align="center",
            ),
            padding="10px 12px",
            width="100%",
            spacing="2",
            border_top=f"1px solid {rx.color('gray', 5)}",
        ),
        width="300px",
        min_width="300px",
        height="100%",
        spacing="0",
        border_left=f"1px solid {rx.color('gray', 5)}",
        role="region",
        aria_label=T["customer_info"],
    )


def chat_header() -> rx.Component:
    """The open chat's customer and the actions on it: 티켓 만들기, 평가, 대화 종료."""
    return rx.hstack(
        rx.heading(S.active_name, size="3", as_="h2"),
        rx.spacer(),
        rx.button(T["create_ticket"], size="2", variant="soft", on_click=S.open_ticket_dialog),
        rx.button(T["rate"], size="2", variant="soft", on_click=S.request_rating, disabled=ChatRoom.agent_ended | ChatRoom.customer_ended),
        end_chat_dialog(),
        width="100%",
        align="center",
        padding="10px 12px",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
    )


def end_chat_dialog() -> rx.Component:
    """대화 종료 asks once, saying what ending does (the chat leaves this screen; from then on it
    is edited only in 채팅 기록). Unsaved 고객정보 / 상담정보 are settled in the same question.
    The dialog is the browser's own (no round trip to open it; Escape and 취소 close it); the
    server still checks every end (AgentConsoleState.end_chat)."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(rx.button(T["end_chat"], size="2", color_scheme="red", variant="soft")),
        rx.alert_dialog.content(
            rx.alert_dialog.title(T["end_confirm_title"]),
            rx.alert_dialog.description(T["end_confirm_agent"], size="2", word_break="keep-all"),
            rx.cond(S.info_dirty, rx.callout(T["end_confirm_unsaved"], icon="triangle_alert", color_scheme="amber", size="1", margin_top="12px")),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button(T["cancel"], variant="soft", color_scheme="gray")),
                rx.cond(
                    S.info_dirty,
                    rx.fragment(
                        rx.alert_dialog.action(rx.button(T["end_discard_and_end"], color_scheme="red", variant="soft", on_click=S.end_chat_after_edits(False))),
                        rx.alert_dialog.action(rx.button(T["end_save_and_end"], color_scheme="red", on_click=S.end_chat_after_edits(True))),
                    ),
                    rx.alert_dialog.action(rx.button(T["end_chat"], color_scheme="red", on_click=S.end_chat)),
                ),
                justify="end",
                spacing="2",
                margin_top="16px",
                wrap="wrap",
            ),
            max_width="440px",
        ),
    )


def chat_window() -> rx.Component:
    return rx.vstack(
        chat_header(),
        message_log(ChatRoom, "agent", "agent-log", masking=S),
        mask_dialog(S),
        # The customer left: nobody would read a reply (the service refuses it too). The composer
        # closes with the reason beside it; what was typed stays in view.
        rx.cond(ChatRoom.customer_ended, rx.box(rx.callout(T["customer_ended"], icon="info", size="1", role="status", word_break="keep-all"), padding="0 8px", width="100%")),
        rx.box(composer(S.send, "agent-input", S.composer_error, disabled=ChatRoom.agent_ended | ChatRoom.customer_ended, draft_key="agent-" + S.active_chat_id.to_string()), width="100%", padding="8px"),
        flex="1",
        min_width="0",
        height="100%",
        spacing="1",
    )


def chat_screen() -> rx.Component:
    """The chat screen: list | conversation | info."""
    return rx.cond(
        S.screen_open,
        rx.hstack(
            chat_list(),
            rx.cond(
                S.active_chat_id > 0,
                rx.hstack(chat_window(), info_panel(), flex="1", height="100%", spacing="0", min_width="0"),
                # What closed the last chat shown here (ended, handed on to another agent) says so.
                rx.center(
                    rx.vstack(notice_text(S.notice), rx.text(T["select_chat"], color=rx.color("gray", 10)), align="center", word_break="keep-all"),
                    flex="1",
                ),
            ),
            position="fixed",
            top="60px",
            left="16px",
            right="16px",
            bottom="96px",
            background=rx.color("gray", 1),
            border=f"1px solid {rx.color('gray', 6)}",
            border_radius="12px",
            box_shadow="0 8px 30px rgba(0,0,0,.2)",
            z_index="40",
            spacing="0",
            overflow="hidden",
            role="region",
            aria_label=T["chat_screen"],
        ),
    )
