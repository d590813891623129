"""The 고객정보 / 상담정보 fields, the 티켓 만들기 dialog and the unsaved-edits dialog of a chat,
for any state with states.chat_info.ChatInfoMixin (the chat screen, 채팅 기록's panel)."""

from __future__ import annotations

import reflex as rx

from .common import T, error_text


def readonly(label, value) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color=rx.color("gray", 10)),
        rx.text(value, size="2", word_break="break-all"),
        spacing="0",
        width="100%",
    )


def _select(S, label, id: str, value, parent, on_change, disabled=False) -> rx.Component:
    """One level of the 처리유형 cascade: the offered categories under `parent` ('' = top), and a
    deactivated one of the chat's path (still shown for that chat)."""

    def option(o, suffix=""):
        return rx.cond(o["parent"] == parent, rx.el.option(o["name"] + suffix, value=o["id"]))

    return rx.vstack(
        rx.el.label(label, html_for=id, font_size="0.8em"),
        rx.el.select(
            rx.el.option(T["select_placeholder"], value=""),
            rx.foreach(S.categories, lambda o: option(o)),
            rx.foreach(S.inactive_path, lambda o: option(o, T["category_inactive_suffix"])),
            id=id,
            value=value,
            on_change=on_change,
            disabled=disabled,
            style={"width": "100%", "padding": "4px", "border_radius": "6px", "border": f"1px solid {rx.color('gray', 7)}"},
        ),
        spacing="1",
        width="100%",
    )


def _text_field(label, id: str, value, on_change, max_length: int, area: bool = False) -> rx.Component:
    control = (rx.text_area(id=id, value=value, on_change=on_change, rows="3", width="100%", max_length=max_length)
               if area else rx.input(id=id, value=value, on_change=on_change, width="100%", max_length=max_length))
    return rx.vstack(rx.el.label(label, html_for=id, font_size="0.8em"), control, spacing="1", width="100%")


def info_fields(S) -> list[rx.Component]:
    """고객정보 (name, email, memo, IP, device) and 상담정보 (channel, the 처리유형 cascade)."""
    return [
        rx.heading(T["customer_info"], size="2", as_="h3"),
        _text_field(T["name"], "info-name", S.info_name, S.set_info_name, 100),
        _text_field(T["email"], "info-email", S.info_email, S.set_info_email, 254),
        _text_field(T["memo"], "info-memo", S.info_memo, S.set_info_memo, 2000, area=True),
        readonly(T["ip"], S.info_ip),
        readonly(T["device"], S.info_device),
        rx.divider(),
        rx.heading(T["consultation_info"], size="2", as_="h3"),
        readonly(T["channel"], rx.cond(S.info_channel == "helpcenter", T["helpcenter_channel"], S.info_channel)),
        rx.text(T["category"], size="1", color=rx.color("gray", 10)),
        _select(S, T["level_1"], "cat-1", S.cat1, "", S.set_cat1),
        _select(S, T["level_2"], "cat-2", S.cat2, S.cat1, S.set_cat2, disabled=S.cat1 == ""),
        _select(S, T["level_3"], "cat-3", S.cat3, S.cat2, S.set_cat3, disabled=S.cat2 == ""),
    ]


def ticket_dialog(S) -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T["create_ticket"]),
            rx.vstack(
                rx.el.label(T["subject"], html_for="ticket-subject", font_size="0.85em"),
                rx.input(id="ticket-subject", value=S.ticket_subject, on_change=S.set_ticket_subject, width="100%"),
                rx.el.label(T["body"], html_for="ticket-body", font_size="0.85em"),
                rx.text_area(id="ticket-body", value=S.ticket_body, on_change=S.set_ticket_body, rows="5", width="100%"),
                error_text(S.ticket_error),
                rx.hstack(
                    rx.button(T["cancel"], variant="soft", color_scheme="gray", on_click=S.close_ticket_dialog),
                    rx.button(T["create"], on_click=S.create_ticket),
                    justify="end",
                    width="100%",
                ),
                spacing="2",
            ),
        ),
        open=S.ticket_open,
        on_open_change=S.set_ticket_open,
    )


def unsaved_dialog(S) -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(T["unsaved_title"]),
            rx.alert_dialog.description(T["unsaved_body"]),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button(T["cancel"], variant="soft", color_scheme="gray", on_click=S.cancel_pending)),
                rx.button(T["discard_continue"], color_scheme="red", variant="soft", on_click=S.discard_and_continue),
                rx.button(T["save_continue"], on_click=S.save_and_continue),
                justify="end",
                spacing="2",
                margin_top="16px",
            ),
        ),
        open=S.confirm_open,
    )
