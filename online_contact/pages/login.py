"""/login for agents and admins."""

from __future__ import annotations

import reflex as rx

from online_contact.components.common import T, error_text, language_switch, reconnecting_banner
from online_contact import routes
from online_contact.states.auth import LoginState

from .registry import page


@page(route=routes.LOGIN, title="상담원 로그인", on_load=LoginState.load_login)
def login() -> rx.Component:
    return rx.center(
        reconnecting_banner(),
        rx.card(
            rx.form(
                rx.vstack(
                    rx.hstack(rx.heading(T["login_title"], size="5", as_="h1"), rx.spacer(), language_switch(), width="100%"),
                    rx.el.label(T["email"], html_for="login-email"),
                    rx.input(name="email", id="login-email", width="100%", auto_complete="username"),
                    rx.el.label(T["password"], html_for="login-password"),
                    rx.input(name="password", id="login-password", type="password", width="100%", auto_complete="current-password"),
                    error_text(LoginState.error),
                    rx.button(T["login"], type="submit", width="100%"),
                    spacing="2",
                ),
                on_submit=LoginState.submit,
                reset_on_submit=False,
            ),
            width="360px",
        ),
        height="100vh",
    )
