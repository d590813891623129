"""/settings — 기본 설정: 채팅 사용, 인사말, 만족도 안내 메시지, 개인정보 수집 동의 (per language)."""

from __future__ import annotations

import reflex as rx

from online_contact import routes
from online_contact.components.admin_layout import admin_layout, field_error, form_footer, switch_field
from online_contact.components.common import T
from online_contact.models.agent import ROLE_ADMIN
from online_contact.states.settings_basic import BasicSettingsState as S

from .registry import page

LANGUAGE_NAMES = {"ko": "한국어", "en": "English"}


def _text(field: str, label, language: str, rows: str = "3", max_length: int = 1000) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, f" ({language})", html_for=f"field-{field}", font_weight="500", font_size="0.9em"),
        rx.text_area(id=f"field-{field}", value=S.form.get(field, ""), on_change=lambda v: S.edit(field, v), rows=rows,
                     width="100%", max_length=max_length),
        field_error(S.errors, field),
        spacing="1",
        width="100%",
    )


def _preview(field: str) -> rx.Component:
    """How the customer sees it: a system line of the chat."""
    return rx.box(
        rx.text(T["preview"], size="1", color=rx.color("gray", 10)),
        rx.text(S.form.get(field, ""), size="2", color=rx.color("gray", 11), text_align="center", white_space="pre-wrap",
                class_name="oc-bubble"),
        padding="8px 12px",
        border=f"1px dashed {rx.color('gray', 6)}",
        border_radius="8px",
        width="100%",
    )


def _language(lang: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(LANGUAGE_NAMES[lang], size="3", as_="h2"),
            _text(f"greeting_{lang}", T["greeting_label"], LANGUAGE_NAMES[lang]),
            _preview(f"greeting_{lang}"),
            _text(f"guide_{lang}", T["guide_label"], LANGUAGE_NAMES[lang]),
            _preview(f"guide_{lang}"),
            _text(f"consent_{lang}", T["consent_label"], LANGUAGE_NAMES[lang], rows="5", max_length=4000),
            rx.text(T["consent_help"], " ", T["consent_version"], ": ", S.consent_versions.get(lang, ""), size="1",
                    color=rx.color("gray", 10)),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


@page(route=routes.SETTINGS, title="기본 설정", role=ROLE_ADMIN, on_load=S.load_basic)
def settings_basic() -> rx.Component:
    return admin_layout(
        routes.SETTINGS,
        "nav_basic",
        rx.vstack(
            rx.card(switch_field(S, "chat_enabled", "chat_enabled_label", "chat_enabled_help"), width="100%"),
            _language("ko"),
            _language("en"),
            rx.card(switch_field(S, "export_password_required", "export_password_required_label",
                                 "export_password_required_help"), width="100%"),
            field_error(S.errors, "form"),
            form_footer(S),
            spacing="4",
            width="100%",
        ),
    )
