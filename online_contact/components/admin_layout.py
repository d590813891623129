"""The layout of every admin screen: a bar (서비스 관리, the admin's name, language, logout) and
a left navigation of the 설정 sections (and 채팅 기록, 통계 once their pages exist)."""

from __future__ import annotations

import reflex as rx

from online_contact import routes
from online_contact.states.auth import AuthState

from .common import T, error_text, language_switch, notice_text, reconnecting_banner, unsaved_badge

SETTINGS_SECTIONS = (
    (routes.SETTINGS, "nav_basic"),
    (routes.SETTINGS_ASSIGNMENT, "nav_assignment"),
    (routes.SETTINGS_EMBED, "nav_embed"),
    (routes.SETTINGS_CATEGORIES, "nav_categories"),
    (routes.SETTINGS_AGENTS, "nav_agents"),
    (routes.SETTINGS_PRIVACY, "nav_privacy"),
    (routes.SETTINGS_AUDIT, "nav_audit"),
)
# Filled in by the history and statistics issues; shown once a page is registered there.
LATER_SECTIONS = (("/history", "nav_history"), ("/stats", "nav_stats"))


def _nav_link(route: str, key: str, current: str) -> rx.Component:
    active = route == current
    return rx.link(
        T[key],
        href=route,
        size="2",
        weight=rx.cond(active, "bold", "regular"),
        padding="6px 10px",
        border_radius="6px",
        background=rx.cond(active, rx.color("accent", 3), "transparent"),
        custom_attrs={"aria-current": "page"} if active else {},
        width="100%",
    )


def _nav(current: str) -> rx.Component:
    from online_contact.pages.registry import PAGES

    registered = {p.route for p in PAGES}
    later = [_nav_link(r, k, current) for r, k in LATER_SECTIONS if r in registered]
    return rx.el.nav(
        rx.vstack(
            rx.text(T["nav_settings"], size="1", weight="bold", color=rx.color("gray", 10), padding_x="10px"),
            *[_nav_link(r, k, current) for r, k in SETTINGS_SECTIONS],
            *([rx.divider(), *later] if later else []),
            spacing="1",
            width="100%",
        ),
        aria_label=T["nav_label"],
        style={"width": "200px", "min_width": "200px", "padding": "12px 8px", "border_right": f"1px solid {rx.color('gray', 5)}"},
    )


def admin_bar() -> rx.Component:
    return rx.hstack(
        rx.heading(T["admin_title"], size="4", as_="p"),
        rx.spacer(),
        rx.link(T["agent_screen"], href=routes.AGENT, size="2"),
        language_switch(),
        rx.text(AuthState.agent_name, size="2", weight="medium"),
        rx.button(T["logout"], size="1", variant="soft", on_click=AuthState.logout),
        padding="10px 16px",
        align="center",
        spacing="4",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        width="100%",
    )


def admin_layout(current: str, title_key: str, *content: rx.Component) -> rx.Component:
    """An admin screen: the bar, the navigation, and `content` under the screen's heading."""
    return rx.box(
        reconnecting_banner(),
        admin_bar(),
        rx.hstack(
            _nav(current),
            rx.box(
                rx.heading(T[title_key], size="6", as_="h1", margin_bottom="16px"),
                *content,
                padding="20px 28px",
                flex="1",
                max_width="960px",
            ),
            align="start",
            spacing="0",
            width="100%",
        ),
        min_height="100vh",
    )


def field_error(errors, field: str) -> rx.Component:
    """The error of one field, next to it (role=alert)."""
    return error_text(errors.get(field, ""), id=f"error-{field}")


def form_footer(state) -> rx.Component:
    """저장 (and 되돌리기) with the unsaved marker and the confirmation of a save."""
    return rx.vstack(
        notice_text(state.notice),
        rx.hstack(
            unsaved_badge(state.dirty),
            rx.spacer(),
            rx.button(T["discard"], variant="soft", color_scheme="gray", on_click=state.discard, disabled=~state.dirty),
            rx.button(T["save"], on_click=state.save, variant=rx.cond(state.dirty, "solid", "soft")),
            width="100%",
            align="center",
        ),
        width="100%",
        spacing="2",
        padding_top="12px",
        border_top=f"1px solid {rx.color('gray', 5)}",
    )


def switch_field(state, field: str, label_key: str, help_key: str) -> rx.Component:
    """An on/off setting of a form ("1" / "0"), with its label and a line of help."""
    control_id = "field-" + field.replace("_", "-")
    return rx.hstack(
        rx.vstack(
            rx.el.label(T[label_key], html_for=control_id, font_weight="500"),
            rx.text(T[help_key], size="1", color=rx.color("gray", 10)),
            spacing="1",
        ),
        rx.spacer(),
        rx.switch(id=control_id, checked=state.form.get(field, "") == "1", on_change=lambda v: state.edit(field, v),
                  aria_label=T[label_key]),
        align="center",
        width="100%",
    )
