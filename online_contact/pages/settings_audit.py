"""/settings/audit — 감사 로그."""

from __future__ import annotations

import reflex as rx

from online_contact import routes
from online_contact.components.admin_layout import admin_layout
from online_contact.components.common import T
from online_contact.models.agent import ROLE_ADMIN
from online_contact.states.settings_audit import KINDS, AuditLogState as S

from .registry import page


@page(route=routes.SETTINGS_AUDIT, title="감사 로그", role=ROLE_ADMIN, on_load=S.load_audit)
def settings_audit() -> rx.Component:
    return admin_layout(
        routes.SETTINGS_AUDIT,
        "nav_audit",
        rx.vstack(
            rx.hstack(
                rx.el.label(T["audit_admin"], html_for="audit-actor", font_size="0.9em"),
                rx.el.select(
                    rx.el.option(T["all"], value=""),
                    rx.foreach(S.admins, lambda a: rx.el.option(a["name"], value=a["id"])),
                    id="audit-actor", value=S.actor_filter, on_change=S.filter_actor, style={"padding": "4px"},
                ),
                rx.el.label(T["audit_action"], html_for="audit-kind", font_size="0.9em"),
                rx.el.select(
                    rx.el.option(T["all"], value=""),
                    *[rx.el.option(T[f"audit_kind_{k.rstrip('.')}"], value=k) for k in KINDS],
                    id="audit-kind", value=S.kind_filter, on_change=S.filter_kind, style={"padding": "4px"},
                ),
                spacing="2",
                align="center",
            ),
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(T[k]) for k in (
                    "audit_when", "audit_who", "audit_action", "audit_target", "ip", "audit_detail")])),
                rx.table.body(rx.foreach(S.entries, lambda e: rx.table.row(
                    rx.table.cell(e["at"], white_space="nowrap"),
                    rx.table.cell(e["who"]),
                    rx.table.cell(rx.code(e["action"])),
                    rx.table.cell(e["target"]),
                    rx.table.cell(e["ip"]),
                    rx.table.cell(rx.text(e["detail"], size="1", white_space="pre-wrap", word_break="break-word")),
                ))),
                width="100%",
            ),
            rx.cond(S.more, rx.button(T["load_more"], variant="soft", on_click=S.load_more)),
            spacing="3",
            width="100%",
        ),
    )
