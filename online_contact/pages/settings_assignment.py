"""/settings/assignment — 상담원 할당 설정."""

from __future__ import annotations

import reflex as rx

from online_contact import routes
from online_contact.components.admin_layout import admin_layout, field_error, form_footer, switch_field
from online_contact.components.common import T
from online_contact.models.agent import ROLE_ADMIN
from online_contact.states.settings_assignment import AssignmentSettingsState as S

from .registry import page


@page(route=routes.SETTINGS_ASSIGNMENT, title="상담원 할당 설정", role=ROLE_ADMIN, on_load=S.load_assignment)
def settings_assignment() -> rx.Component:
    return admin_layout(
        routes.SETTINGS_ASSIGNMENT,
        "nav_assignment",
        rx.card(
            rx.vstack(
                switch_field(S, "prefer_recent", "prefer_recent_label", "prefer_recent_help"),
                rx.divider(),
                rx.text(T["method_label"], font_weight="500", id="method-label"),
                rx.radio_group.root(
                    rx.vstack(
                        rx.radio_group.item(T["method_random"], value="random"),
                        rx.radio_group.item(T["method_balanced"], value="balanced"),
                        spacing="2",
                    ),
                    value=S.form.get("method", ""),
                    on_change=lambda v: S.edit("method", v),
                    aria_labelledby="method-label",
                ),
                rx.text(T["method_help"], size="1", color=rx.color("gray", 10)),
                field_error(S.errors, "method"),
                rx.divider(),
                rx.el.label(T["default_max_label"], html_for="field-default-max", font_weight="500"),
                rx.input(id="field-default-max", value=S.form.get("default_max", ""), on_change=lambda v: S.edit("default_max", v),
                         input_mode="numeric", width="120px", max_length=4),
                rx.text(T["default_max_help"], size="1", color=rx.color("gray", 10)),
                field_error(S.errors, "default_max"),
                rx.divider(),
                rx.el.label(T["queue_timeout_label"], html_for="field-queue-timeout", font_weight="500"),
                rx.hstack(
                    rx.input(id="field-queue-timeout", value=S.form.get("queue_timeout", ""),
                             on_change=lambda v: S.edit("queue_timeout", v), input_mode="numeric", width="120px", max_length=5,
                             aria_describedby="queue-timeout-help"),
                    rx.text(T["minutes_unit"], size="2"),
                    align="center",
                ),
                rx.text(T["queue_timeout_help"], size="1", color=rx.color("gray", 10), id="queue-timeout-help"),
                field_error(S.errors, "queue_timeout"),
                form_footer(S),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
    )
