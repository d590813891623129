"""Pieces used on several screens."""

from __future__ import annotations

import reflex as rx

from online_contact.config import MAX_MESSAGE_LENGTH
from online_contact.states.lang import LangState
from online_contact.states.transcript import OlderMessagesState

T = LangState.t


def language_switch() -> rx.Component:
    """한국어 / English."""
    return rx.hstack(
        rx.button("한국어", size="1", variant=rx.cond(LangState.shown == "en", "soft", "solid"), on_click=LangState.set_lang("ko")),
        rx.button("English", size="1", variant=rx.cond(LangState.shown == "en", "solid", "soft"), on_click=LangState.set_lang("en")),
        aria_label=T["language"],
        spacing="1",
    )


def error_text(message, id: str | None = None) -> rx.Component:
    """A visible, announced error message (role=alert) when `message` is not empty."""
    return rx.cond(
        message != "",
        rx.callout(message, icon="triangle_alert", color_scheme="red", role="alert", size="1", id=id),
    )


def notice_text(message) -> rx.Component:
    return rx.cond(message != "", rx.callout(message, icon="info", color_scheme="green", role="status", size="1"))


def labelled(label, control: rx.Component) -> rx.Component:
    """A label above its control (the control carries the id that the label points at)."""
    return rx.vstack(rx.el.label(label, html_for=control.id, font_size="0.85em", font_weight="500"), control, spacing="1", width="100%")


def message_text(m) -> rx.Component:
    """A message's text (selectable for 마스킹), or 삭제된 메시지 when 고객 정보 삭제 blanked it."""
    return rx.cond(
        m["text"] == "",
        rx.text(T["message_erased"], size="2", color=rx.color("gray", 10), font_style="italic"),
        rx.text(m["text"], size="2", class_name="oc-bubble"),
    )


def mask_button(masking, m) -> rx.Component:
    """마스킹 beside a customer's or agent's message (`masking`: a state with MaskingMixin)."""
    from online_contact.components.wire import MaskAction

    return rx.cond(
        (m["author"] != "system") & (m["text"] != ""),
        MaskAction.create(rx.icon("eye-off", size=12), seq=m["seq"].to(int), label=T["mask_action"], on_pick=masking.start_mask),
    )


def mask_dialog(masking) -> rx.Component:
    """The confirmation of 마스킹: the message as it will read, then 선택 부분 / 메시지 전체."""
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(T["mask_title"]),
            rx.alert_dialog.description(rx.cond(masking.mask_part, T["mask_selected_help"], T["mask_whole_help"]), size="2"),
            rx.cond(
                masking.mask_preview != "",
                rx.vstack(
                    rx.text(T["mask_preview"], size="1", weight="medium"),
                    rx.text(masking.mask_preview, size="2", class_name="oc-bubble", id="mask-preview",
                            style={"background": rx.color("gray", 3), "padding": "6px 10px", "border_radius": "8px"}),
                    spacing="1",
                    width="100%",
                    padding_top="8px",
                ),
            ),
            rx.text(T["mask_audit_note"], size="1", color=rx.color("gray", 10), padding_top="8px"),
            error_text(masking.mask_error),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button(T["cancel"], variant="soft", color_scheme="gray", on_click=masking.cancel_mask)),
                rx.spacer(),
                rx.cond(masking.mask_part, rx.button(T["mask_selected"], on_click=masking.confirm_mask(False))),
                rx.button(T["mask_whole"], color_scheme="red", variant=rx.cond(masking.mask_part, "soft", "solid"),
                          on_click=masking.confirm_mask(True), disabled=masking.mask_preview == ""),
                width="100%",
                padding_top="12px",
            ),
        ),
        open=masking.mask_open,
        on_open_change=masking.mask_dialog_changed,
    )


def message_log(room, me: str, id: str, masking=None) -> rx.Component:
    """The transcript of the ChatRoom `room`: a screen-reader friendly live log, own messages on
    the right (with 마스킹 beside each message when `masking` is the state that does it).

    `room.messages` is the room's bounded window, `room.recent` the messages appended since and
    `room.live` what arrived over the message path after them (only entries of this chat newer
    than `room.last_seq`, so nothing shows twice); OlderMessagesState.older are earlier messages
    this tab loaded with 이전 메시지 보기 (assets/chat_wire.jsx answers the buttons marked
    data-oc-older; shown only for this chat and where they precede the window).
    """
    messages, recent = room.messages, room.recent

    def bubble(m) -> rx.Component:
        author = m["author"]
        is_me = author == me
        is_system = author == "system"
        return rx.box(
            rx.cond(
                is_system,
                rx.text(m["text"], size="2", color=rx.color("gray", 11), class_name="oc-bubble", text_align="center"),
                rx.box(
                    message_text(m),
                    rx.hstack(
                        rx.text(m["time"], size="1", color=rx.color("gray", 10)),
                        mask_button(masking, m) if masking is not None else rx.fragment(),
                        spacing="2",
                        align="center",
                    ),
                    background=rx.cond(is_me, rx.color("accent", 4), rx.color("gray", 3)),
                    padding="6px 10px",
                    border_radius="10px",
                    max_width="80%",
                ),
            ),
            display="flex",
            justify_content=rx.cond(is_system, "center", rx.cond(is_me, "flex-end", "flex-start")),
            data_author=author,
            data_seq=m["seq"],
            custom_attrs={"data-client-id": m["client_msg_id"]},
            class_name="oc-message",
        )

    first_seq = rx.cond(messages.length() > 0, messages[0]["seq"].to(int), 2**31)

    def load_older(kind: str) -> rx.Component:
        return rx.center(rx.button(T["load_older"], size="1", variant="ghost", type="button",
                                   custom_attrs={"data-oc-older": kind, "data-before": first_seq}))

    pages = OlderMessagesState
    this_chat = pages.older_chat == room.chat_id
    return rx.auto_scroll(
        # More before the oldest loaded message: the next page back.
        rx.cond(this_chat & pages.older_more & (pages.older.length() > 0), load_older("top")),
        rx.foreach(
            pages.older,
            lambda m: rx.cond((m["seq"].to(int) < first_seq) & (m["chat_id"].to(int) == room.chat_id), bubble(m)),
        ),
        # Where the loaded history stops short of the live window (at the top at first).
        rx.cond((messages.length() > 0) & (first_seq > rx.cond(this_chat, pages.older_next, 1)), load_older("gap")),
        rx.foreach(messages, bubble),
        rx.foreach(recent, bubble),
        rx.foreach(
            room.live,
            lambda m: rx.cond((m["seq"].to(int) > room.last_seq) & (m["chat_id"].to(int) == room.chat_id), bubble(m)),
        ),
        role="log",
        aria_live="polite",
        aria_label=T["chat_log"],
        id=id,
        class_name="oc-log",
        flex="1",
        padding="8px",
        min_height="0",
    )


def composer(on_submit, input_id: str, error, disabled=False, draft_key="") -> rx.Component:
    """Message input: Enter sends (IME-safe, see assets/chat_input.js), errors keep the text,
    and the draft is kept per `draft_key` (e.g. the chat id) across chat switches and reloads."""
    return rx.form(
        rx.el.input(type="hidden", name="client_id", value=""),
        rx.hstack(
            rx.text_area(
                name="text",
                id=input_id,
                placeholder=T["message_placeholder"],
                aria_label=T["message_label"],
                rows="2",
                resize="none",
                width="100%",
                disabled=disabled,
                custom_attrs={
                    "data-enter-send": "true",
                    "data-max-length": str(MAX_MESSAGE_LENGTH),
                    "data-draft-key": draft_key,
                },
            ),
            rx.button(T["send"], type="submit", disabled=disabled),
            width="100%",
            align="end",
        ),
        error_text(error),
        on_submit=on_submit,
        reset_on_submit=False,
        width="100%",
    )


def reconnecting_banner() -> rx.Component:
    """재연결 중… while the websocket is down; events typed meanwhile wait in Reflex's queue."""
    from reflex_components_core.core.banner import has_connection_errors

    return rx.cond(
        has_connection_errors,
        rx.box(
            rx.hstack(rx.spinner(size="1"), rx.text(T["reconnecting"], size="2", weight="medium"), align="center", spacing="2"),
            role="status",
            aria_live="assertive",
            position="fixed",
            top="8px",
            left="50%",
            transform="translateX(-50%)",
            z_index="1000",
            background=rx.color("amber", 4),
            border=f"1px solid {rx.color('amber', 7)}",
            padding="6px 14px",
            border_radius="999px",
            id="reconnecting",
        ),
    )


def unsaved_badge(dirty) -> rx.Component:
    """저장되지 않은 변경: shown while `dirty`; leaving the page (or an in-app link) asks first
    (assets/chat_input.js reads data-unsaved and data-leave-message)."""
    return rx.cond(
        dirty,
        rx.badge(T["unsaved"], color_scheme="amber", size="2", role="status",
                 custom_attrs={"data-unsaved": "true", "data-leave-message": T["leave_unsaved"]}),
    )
