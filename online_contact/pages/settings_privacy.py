"""/settings/privacy — 개인정보: 자동 마스킹 per kind of number, 보관 기간, the last 정리."""

from __future__ import annotations

import reflex as rx

from online_contact import routes
from online_contact.components.admin_layout import admin_layout, field_error, form_footer, switch_field
from online_contact.components.common import T
from online_contact.models.agent import ROLE_ADMIN
from online_contact.services import privacy
from online_contact.services.retention import COUNTS
from online_contact.states.settings_privacy import PrivacySettingsState as S

from .registry import page

MASKS = (("mask_rrn", "privacy_mask_rrn"), ("mask_card", "privacy_mask_card"), ("mask_phone", "privacy_mask_phone"),
         ("mask_account", "privacy_mask_account"), ("mask_passport", "privacy_mask_passport"))
KEEPS = ("keep_chats_months", "keep_consents_months", "keep_inquiries_months", "keep_audit_months")


def _masking() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(T["privacy_masking"], size="3", as_="h2"),
            rx.text(T["privacy_masking_help"], size="2", color=rx.color("gray", 11)),
            *[switch_field(S, field, key, key + "_help") for field, key in MASKS],
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _months(field: str) -> rx.Component:
    control_id = "field-" + field.replace("_", "-")
    least, most = privacy.KEEP_LIMITS[field]
    return rx.vstack(
        rx.hstack(
            rx.el.label(T["privacy_" + field], html_for=control_id, font_weight="500"),
            rx.spacer(),
            rx.input(id=control_id, value=S.form.get(field, ""), on_change=lambda v: S.edit(field, v), input_mode="numeric",
                     width="80px", max_length=3, aria_describedby=f"{control_id}-help"),
            rx.text(T["privacy_months"], size="2"),
            align="center",
            width="100%",
        ),
        rx.text(T["privacy_" + field + "_help"], " (", least, "–", most, T["privacy_months"], ")", size="1",
                color=rx.color("gray", 10), id=f"{control_id}-help"),
        field_error(S.errors, field),
        spacing="1",
        width="100%",
    )


def _retention() -> rx.Component:
    def count(key: str) -> rx.Component:
        return rx.text(T["privacy_count_" + key], " ", S.last_counts[key], size="2")

    return rx.card(
        rx.vstack(
            rx.heading(T["privacy_retention"], size="3", as_="h2"),
            rx.text(T["privacy_retention_help"], size="2", color=rx.color("gray", 11)),
            *[_months(field) for field in KEEPS],
            rx.divider(),
            rx.heading(T["privacy_last_run"], size="2", as_="h3"),
            rx.cond(
                S.last_run != "",
                rx.vstack(
                    rx.text(S.last_run, size="2"),
                    rx.hstack(*[count(k) for k in COUNTS],
                              spacing="4", wrap="wrap"),
                    spacing="1",
                ),
                rx.text(T["privacy_never_run"], size="2", color=rx.color("gray", 10)),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


@page(route=routes.SETTINGS_PRIVACY, title="개인정보", role=ROLE_ADMIN, on_load=S.load_privacy)
def settings_privacy() -> rx.Component:
    return admin_layout(
        routes.SETTINGS_PRIVACY,
        "nav_privacy",
        rx.vstack(
            _masking(),
            _retention(),
            field_error(S.errors, "form"),
            form_footer(S),
            spacing="4",
            width="100%",
        ),
    )
