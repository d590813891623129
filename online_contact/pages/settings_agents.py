"""/settings/agents — 상담원 관리."""

from __future__ import annotations

import reflex as rx

from online_contact import routes
from online_contact.components.admin_layout import admin_layout, field_error
from online_contact.components.common import T, error_text, notice_text, unsaved_badge
from online_contact.models.agent import ROLE_ADMIN
from online_contact.states.settings_agents import AgentAdminState as S

from .registry import page


def _status(a) -> rx.Component:
    return rx.cond(
        ~a["active"].to(bool),
        rx.badge(T["inactive"], color_scheme="gray"),
        rx.cond(a["status"] == "online", rx.badge(T["online"], color_scheme="green"),
                rx.cond(a["status"] == "break", rx.badge(T["break"], color_scheme="amber"), rx.badge(T["offline"], color_scheme="gray"))),
    )


def _row(a) -> rx.Component:
    email = a["email"].to(str)
    return rx.table.row(
        rx.table.cell(a["name"]),
        rx.table.cell(a["email"]),
        rx.table.cell(rx.cond(a["role"] == "admin", T["role_admin"], T["role_agent"])),
        rx.table.cell(_status(a)),
        rx.table.cell(a["open_chats"]),
        rx.table.cell(rx.cond(a["last_login_at"] == "", "—", a["last_login_at"])),
        rx.table.cell(
            rx.hstack(
                rx.button(T["edit"], size="1", variant="soft", on_click=S.open_edit(a["id"]), aria_label=T["edit"] + " " + email),
                rx.button(T["reset_password"], size="1", variant="soft", on_click=S.ask("reset", a["id"]),
                          aria_label=T["reset_password"] + " " + email),
                rx.cond(
                    a["active"].to(bool),
                    rx.button(T["deactivate"], size="1", variant="soft", color_scheme="red", on_click=S.ask("deactivate", a["id"]),
                              aria_label=T["deactivate"] + " " + email),
                    rx.button(T["activate"], size="1", variant="soft", color_scheme="green", on_click=S.activate(a["id"]),
                              aria_label=T["activate"] + " " + email),
                ),
                spacing="1",
                wrap="wrap",
            )
        ),
        custom_attrs={"data-account": a["email"]},
    )


def _field(field: str, label, **props) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=f"account-{field}", font_size="0.9em", font_weight="500"),
        rx.input(id=f"account-{field}", value=S.form.get(field, ""), on_change=lambda v: S.edit(field, v), width="100%", **props),
        field_error(S.errors, field),
        spacing="1",
        width="100%",
    )


def _dialog() -> rx.Component:
    new = S.editing == 0
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(new, T["add_agent"], T["edit_agent"])),
            rx.vstack(
                _field("name", T["name"], max_length=100),
                rx.cond(new, _field("email", T["email"], max_length=254, input_mode="email"),
                        rx.text(S.form.get("email", ""), size="2", color=rx.color("gray", 11))),
                rx.el.label(T["role"], html_for="account-role", font_size="0.9em", font_weight="500"),
                rx.el.select(
                    rx.el.option(T["role_agent"], value="agent"),
                    rx.el.option(T["role_admin"], value="admin"),
                    id="account-role",
                    value=S.form.get("role", "agent"),
                    on_change=lambda v: S.edit("role", v),
                    style={"width": "100%", "padding": "4px"},
                ),
                field_error(S.errors, "role"),
                rx.cond(new, _field("password", T["initial_password"], type="password", auto_complete="new-password", max_length=128)),
                rx.cond(new, rx.text(T["initial_password_help"], size="1", color=rx.color("gray", 10))),
                rx.hstack(
                    rx.switch(id="account-can-chat", checked=S.form.get("can_chat", "") == "1", on_change=lambda v: S.edit("can_chat", v)),
                    rx.el.label(T["can_chat"], html_for="account-can-chat"),
                    align="center",
                ),
                _field("max_open_chats", T["max_open_chats"], input_mode="numeric", max_length=4),
                rx.text(T["max_open_chats_help"], size="1", color=rx.color("gray", 10)),
                field_error(S.errors, "form"),
                rx.hstack(
                    unsaved_badge(S.dirty),
                    rx.spacer(),
                    rx.button(T["cancel"], variant="soft", color_scheme="gray", on_click=S.close_dialog),
                    rx.button(T["save"], on_click=S.save),
                    width="100%",
                    align="center",
                ),
                spacing="2",
                width="100%",
            ),
        ),
        open=S.editing >= 0,
        on_open_change=lambda _open: S.close_dialog(),
    )


def _confirm_dialog() -> rx.Component:
    """비밀번호 초기화 and 비활성화 ask before they act."""
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(rx.cond(S.confirm == "reset", T["confirm_reset_title"], T["confirm_deactivate_title"])),
            rx.alert_dialog.description(rx.cond(S.confirm == "reset", T["confirm_reset_body"], T["confirm_deactivate_body"])),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button(T["cancel"], variant="soft", color_scheme="gray", on_click=S.cancel_confirm)),
                rx.alert_dialog.action(rx.button(T["confirm"], color_scheme="red", on_click=S.confirm_yes)),
                justify="end",
                spacing="3",
                margin_top="16px",
            ),
        ),
        open=S.confirm != "",
    )


def _password_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T["new_password_title"]),
            rx.text(T["new_password_help"], " ", S.shown_password_for, size="2"),
            rx.code(S.shown_password, size="5", id="shown-password"),
            rx.hstack(
                rx.button(T["copy"], variant="soft", on_click=[rx.set_clipboard(S.shown_password), rx.toast(T["copied"])]),
                rx.button(T["close"], on_click=S.close_password),
                justify="end",
                width="100%",
            ),
        ),
        open=S.shown_password != "",
        on_open_change=lambda _open: S.close_password(),
    )


@page(route=routes.SETTINGS_AGENTS, title="상담원 관리", role=ROLE_ADMIN, on_load=S.load_agents)
def settings_agents() -> rx.Component:
    return admin_layout(
        routes.SETTINGS_AGENTS,
        "nav_agents",
        rx.vstack(
            rx.hstack(rx.spacer(), rx.button(T["add_agent"], on_click=S.open_new), width="100%"),
            error_text(S.error),
            notice_text(S.notice),
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(T[k]) for k in (
                    "name", "email", "role", "status", "in_conversation", "last_login", "actions")])),
                rx.table.body(rx.foreach(S.accounts, _row)),
                width="100%",
            ),
            _dialog(),
            _confirm_dialog(),
            _password_dialog(),
            spacing="3",
            width="100%",
        ),
    )
