"""/settings/embed — 채팅화면 삽입 코드: the code per language, 복사, and a live preview."""

from __future__ import annotations

import reflex as rx

from online_contact import routes
from online_contact.components.admin_layout import admin_layout, field_error, form_footer, switch_field
from online_contact.components.common import T
from online_contact.models.agent import ROLE_ADMIN
from online_contact.states.settings_embed import EmbedSettingsState as S

from .registry import page


def _snippet(lang: str, name: str) -> rx.Component:
    code = S.snippets.get(lang, "")
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(name, size="3", as_="h2"),
                rx.spacer(),
                rx.button(T["copy"], size="2", on_click=[rx.set_clipboard(code), rx.toast(T["copied"])],
                          aria_label=f"{name} {T['copy']}"),
                width="100%",
                align="center",
            ),
            rx.el.pre(rx.el.code(code), style={"white_space": "pre-wrap", "word_break": "break-all", "font_size": "0.8em",
                                               "background": rx.color("gray", 2), "padding": "10px", "border_radius": "8px",
                                               "width": "100%", "margin": "0"}),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def _sites() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(T["embed_sites"], size="3", as_="h2"),
            rx.el.label(T["embed_origins_label"], html_for="field-origins", font_weight="500"),
            rx.text_area(id="field-origins", value=S.form.get("origins", ""), on_change=lambda v: S.edit("origins", v),
                         placeholder="https://www.example.com", rows="4", width="100%", spell_check=False),
            rx.text(T["embed_origins_help"], size="1", color=rx.color("gray", 10)),
            field_error(S.errors, "origins"),
            rx.divider(),
            switch_field(S, "hide_offline", "embed_hide_label", "embed_hide_help"),
            form_footer(S),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


@page(route=routes.SETTINGS_EMBED, title="채팅화면 삽입 코드", role=ROLE_ADMIN, on_load=S.load_embed)
def settings_embed() -> rx.Component:
    return admin_layout(
        routes.SETTINGS_EMBED,
        "nav_embed",
        rx.vstack(
            rx.text(T["embed_help"], size="2", color=rx.color("gray", 11)),
            _snippet("ko", "한국어"),
            _snippet("en", "English"),
            _sites(),
            rx.heading(T["preview"], size="3", as_="h2"),
            rx.el.iframe(src=S.preview_url, title=T["embed_preview"],
                         style={"width": "380px", "height": "560px", "border": f"1px solid {rx.color('gray', 6)}", "border_radius": "12px"}),
            spacing="4",
            width="100%",
        ),
    )
