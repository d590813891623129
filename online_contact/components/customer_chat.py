"""The customer's chat icon, 상담원 부재중 popup, and chat window."""

from __future__ import annotations

import reflex as rx

from online_contact import routes
from online_contact.realtime import ChatRoom
from online_contact.states.customer_chat import CustomerChatState as S

from .common import T, composer, error_text, message_log


def chat_icon() -> rx.Component:
    """The round chat button at the bottom right (accessible name "채팅")."""
    # Switched off, the icon goes (live: chat_wire.jsx); a chat already open continues.
    return rx.cond(
        S.chat_enabled | (S.phase == "chat"),
        rx.icon_button(
            rx.icon("message-circle", size=28),
            aria_label=T["chat"],
            title=T["chat"],
            size="4",
            radius="full",
            on_click=S.open_chat,
            position="fixed",
            bottom="24px",
            right="24px",
            z_index="50",
            box_shadow="0 4px 14px rgba(0,0,0,.25)",
        ),
    )


def unavailable_dialog() -> rx.Component:
    """상담원 부재중, with 문의하기 to the 1:1 inquiry form."""
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(T["no_agent"]),
            rx.alert_dialog.description(T["no_agent_body"]),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button(T["close"], variant="soft", color_scheme="gray", on_click=S.dismiss_unavailable)),
                rx.link(rx.button(T["contact_us"]), href=routes.INQUIRY),
                justify="end",
                spacing="3",
                margin_top="16px",
            ),
        ),
        open=S.phase == "unavailable",
    )


def consent_step() -> rx.Component:
    """개인정보 수집 동의: nothing starts before the box is ticked."""
    return rx.form(
        rx.vstack(
            rx.heading(T["consent_title"], size="3", as_="h2"),
            rx.box(
                rx.unordered_list(rx.foreach(S.consent_lines, rx.list_item)),
                font_size="0.85em",
                background=rx.color("gray", 2),
                padding="8px 12px",
                border_radius="8px",
            ),
            rx.el.label(
                rx.hstack(rx.checkbox(name="agree", id="consent-agree"), rx.text(T["consent_agree"], size="2"), align="center"),
                html_for="consent-agree",
            ),
            rx.el.label(T["name_optional"], html_for="consent-name", font_size="0.85em"),
            # Prefilled by the site that embeds the chat (OnlineContact.setUser).
            rx.input(name="name", id="consent-name", width="100%", max_length=100,
                     default_value=S.prefill_name, key="name-" + S.prefill_name),
            rx.el.label(T["email_optional"], html_for="consent-email", font_size="0.85em"),
            rx.input(name="email", id="consent-email", input_mode="email", width="100%", max_length=254,
                     default_value=S.prefill_email, key="email-" + S.prefill_email),
            error_text(S.consent_error),
            rx.button(T["start_chat"], type="submit", width="100%"),
            spacing="2",
            padding="12px",
            overflow_y="auto",
        ),
        on_submit=S.give_consent,
        reset_on_submit=False,
    )


def rating_form() -> rx.Component:
    """평가: 1–5 and an optional comment."""
    return rx.form(
        rx.vstack(
            rx.text(T["rating_title"], weight="bold"),
            rx.text(T["rating_score"], size="2", id="rating-score-label"),
            rx.radio_group(["1", "2", "3", "4", "5"], name="score", direction="row", aria_labelledby="rating-score-label"),
            rx.el.label(T["rating_comment"], html_for="rating-comment", font_size="0.85em"),
            rx.text_area(name="comment", id="rating-comment", rows="2", width="100%", max_length=1000),
            error_text(S.rating_error),
            rx.hstack(
                rx.button(T["cancel"], type="button", variant="soft", color_scheme="gray", on_click=S.close_rating),
                rx.button(T["submit"], type="submit"),
                justify="end",
                width="100%",
            ),
            spacing="2",
            width="100%",
        ),
        on_submit=S.submit_rating,
        reset_on_submit=False,
        padding="10px",
        border_top=f"1px solid {rx.color('gray', 5)}",
        aria_label=T["rating_title"],
        role="region",
    )


def _queue_timed_out_line() -> rx.Component:
    """대기 시간 제한: the chat left the queue; the 1:1 문의 is where the customer goes on."""
    return rx.callout.root(
        rx.callout.icon(rx.icon("clock")),
        rx.vstack(
            rx.callout.text(T["queue_timed_out"], word_break="keep-all"),
            rx.link(rx.button(T["contact_us"], size="1"), href=routes.INQUIRY),
            spacing="2",
        ),
        size="1",
        role="status",
    )


def _status_line() -> rx.Component:
    return rx.cond(
        ChatRoom.queue_timed_out,
        _queue_timed_out_line(),
        rx.cond(
        ChatRoom.customer_ended,
        rx.callout(T["you_ended"], icon="info", size="1", role="status"),
        rx.cond(
            ChatRoom.agent_ended,
            rx.callout(T["agent_ended"], icon="info", size="1", role="status"),
            rx.cond(
                ChatRoom.status == "waiting",
                rx.callout.root(
                    rx.callout.icon(rx.icon("clock")),
                    rx.vstack(
                        rx.callout.text(T["waiting_agent"], " ", T["queue_position"], ": ", ChatRoom.queue_position),
                        rx.link(T["waiting_inquiry"], href=routes.INQUIRY, size="1"),
                        spacing="1",
                    ),
                    size="1",
                    role="status",
                ),
                rx.cond(
                    ChatRoom.agent_name != "",
                    rx.text(T["connected_to"], ": ", ChatRoom.agent_name, size="1", color=rx.color("gray", 11)),
                ),
            ),
        ),
        ),
    )


def end_chat_dialog() -> rx.Component:
    """대화 종료 asks once, saying what ending does (no more messages; then 평가 or a new chat).
    The browser's own dialog (opens at once, one tap on a phone; Escape and 취소 keep the chat)."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(rx.button(T["end_chat"], variant="soft", color_scheme="red", size="1")),
        rx.alert_dialog.content(
            rx.alert_dialog.title(T["end_confirm_title"]),
            rx.alert_dialog.description(T["end_confirm_customer"], size="2", word_break="keep-all"),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button(T["cancel"], variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button(T["end_chat"], color_scheme="red", on_click=S.end_chat)),
                justify="end",
                spacing="3",
                margin_top="16px",
            ),
            max_width="min(400px, calc(100vw - 32px))",
        ),
    )


def chat_step() -> rx.Component:
    ended = ChatRoom.customer_ended | ChatRoom.agent_ended
    show_rating = S.rating_open | (ChatRoom.rating_request_seq > S.rating_dismissed_seq)
    return rx.vstack(
        rx.box(_status_line(), padding="6px 10px", width="100%"),
        message_log(ChatRoom, "customer", "customer-log"),
        rx.cond(S.rating_done, rx.callout(T["rating_thanks"], icon="heart", size="1", color_scheme="green", role="status")),
        rx.cond(show_rating, rating_form()),
        rx.hstack(
            rx.button(T["rate"], variant="soft", size="1", on_click=S.open_rating),
            rx.cond(
                ended,
                rx.button(T["new_chat"], size="1", on_click=S.new_chat),
                end_chat_dialog(),
            ),
            padding="0 10px",
            spacing="2",
        ),
        rx.box(
            composer(S.send, "customer-input", S.send_error, disabled=ended, draft_key="customer-" + ChatRoom.chat_id.to_string()),
            # services.masking: what the customer sends is masked before anyone sees it, them too.
            rx.cond(
                S.masked_kinds.length() > 0,
                rx.text(
                    rx.icon("shield-check", size=12), " ", T["masking_note"], " ",
                    rx.foreach(S.masked_kinds, lambda kind, i: rx.fragment(rx.cond(i > 0, T["list_separator"], ""), T["masking_kind_" + kind])),
                    size="1", color=rx.color("gray", 10),
                ),
            ),
            padding="8px 10px",
            width="100%",
        ),
        spacing="1",
        height="100%",
        width="100%",
        min_height="0",
    )


def idle_step() -> rx.Component:
    """Before a chat (e.g. in the embed after 상담원 부재중 was closed): try again or write in."""
    return rx.center(
        rx.vstack(
            rx.button(T["start_chat"], on_click=S.open_chat),
            rx.link(T["contact_us"], href=routes.INQUIRY, is_external=False, size="2"),
            align="center",
            spacing="3",
        ),
        flex="1",
        width="100%",
        padding="24px",
    )


def chat_window() -> rx.Component:
    """The chat panel: consent first, then the conversation."""
    return rx.vstack(
        rx.hstack(
            rx.text(T["chat_title"], weight="bold"),
            rx.spacer(),
            rx.cond(
                ~S.embedded,
                rx.icon_button(rx.icon("x"), variant="ghost", aria_label=T["minimize"], on_click=S.close_panel),
                # In the site's launcher (embed.js): the site hides the frame (assets/embed_bridge.jsx).
                rx.cond(S.hosted, rx.icon_button(rx.icon("x"), variant="ghost", aria_label=T["minimize"],
                                                  custom_attrs={"data-embed-close": ""})),
            ),
            padding="10px 12px",
            width="100%",
            background=rx.color("accent", 9),
            color="white",
            align="center",
        ),
        rx.cond(
            S.phase == "consent",
            consent_step(),
            rx.cond(S.phase == "chat", chat_step(), idle_step()),
        ),
        spacing="0",
        role="dialog",
        aria_label=T["chat_title"],
        background=rx.color("gray", 1),
        height="100%",
        width="100%",
    )


def floating_chat() -> rx.Component:
    """The help center's chat: icon + popup + panel at the bottom right."""
    return rx.fragment(
        chat_icon(),
        unavailable_dialog(),
        rx.cond(
            S.panel_open & (S.chat_enabled | (S.phase == "chat")),
            rx.box(
                chat_window(),
                position="fixed",
                bottom="96px",
                right="24px",
                width="min(380px, calc(100vw - 32px))",
                height="min(600px, calc(100vh - 120px))",
                z_index="60",
                border_radius="12px",
                overflow="hidden",
                box_shadow="0 8px 30px rgba(0,0,0,.25)",
            ),
        ),
    )
