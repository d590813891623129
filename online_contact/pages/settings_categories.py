"""/settings/categories — 카테고리 관리: the 처리유형 tree (대분류 › 중분류 › 소분류)."""

from __future__ import annotations

import reflex as rx

from online_contact import routes
from online_contact.components.admin_layout import admin_layout
from online_contact.components.common import T, error_text, notice_text
from online_contact.models.agent import ROLE_ADMIN
from online_contact.states.settings_categories import CategoryAdminState as S

from .registry import page


def _row(n) -> rx.Component:
    name, depth, active = n["name"].to(str), n["depth"].to(int), n["active"].to(bool)
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.text(name, weight=rx.cond(depth == 1, "bold", "regular"),
                        color=rx.cond(n["offered"].to(bool), rx.color("gray", 12), rx.color("gray", 9))),
                rx.cond(~active, rx.badge(T["inactive"], color_scheme="gray", size="1")),
                padding_left=rx.cond(depth == 1, "0px", rx.cond(depth == 2, "24px", "48px")),
                spacing="2",
                align="center",
            )
        ),
        rx.table.cell(rx.text(n["used"], size="2")),
        rx.table.cell(
            rx.hstack(
                rx.icon_button(rx.icon("arrow-up", size=14), size="1", variant="soft", on_click=S.move_up(n["id"]),
                               disabled=n["first"].to(bool), aria_label=T["move_up"] + " " + name),
                rx.icon_button(rx.icon("arrow-down", size=14), size="1", variant="soft", on_click=S.move_down(n["id"]),
                               disabled=n["last"].to(bool), aria_label=T["move_down"] + " " + name),
                rx.button(T["rename"], size="1", variant="soft", on_click=S.open_rename(n["id"]), aria_label=T["rename"] + " " + name),
                rx.button(T["move"], size="1", variant="soft", on_click=S.open_move(n["id"]), aria_label=T["move"] + " " + name),
                rx.cond(depth < 3, rx.button(T["add_child"], size="1", variant="soft", on_click=S.open_add(n["id"]),
                                                  aria_label=T["add_child"] + " " + name)),
                rx.button(rx.cond(active, T["deactivate"], T["activate"]), size="1", variant="soft",
                          color_scheme=rx.cond(active, "gray", "green"), on_click=S.toggle_active(n["id"]),
                          aria_label=rx.cond(active, T["deactivate"], T["activate"]) + " " + name),
                rx.cond(n["used"].to(int) == 0, rx.button(T["delete"], size="1", variant="soft", color_scheme="red",
                                                  on_click=S.delete(n["id"]), aria_label=T["delete"] + " " + name)),
                spacing="1",
                wrap="wrap",
            )
        ),
        custom_attrs={"data-category": name},
    )


def _dialog() -> rx.Component:
    title = rx.cond(S.dialog == "add", T["category_add"], rx.cond(S.dialog == "rename", T["rename"], T["move"]))
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(title),
            rx.vstack(
                rx.cond(
                    S.dialog == "move",
                    rx.vstack(
                        rx.el.label(T["move_under"], html_for="category-parent", font_size="0.9em"),
                        rx.el.select(
                            rx.el.option(T["top_level"], value=""),
                            rx.foreach(S.parents, lambda p: rx.el.option(p["path"], value=p["id"])),
                            id="category-parent",
                            value=S.dialog_parent,
                            on_change=S.set_dialog_parent,
                            style={"width": "100%", "padding": "4px"},
                        ),
                        width="100%",
                    ),
                    rx.vstack(
                        rx.el.label(T["category_name"], html_for="category-name", font_size="0.9em"),
                        rx.input(id="category-name", value=S.dialog_name, on_change=S.set_dialog_name, max_length=100, width="100%"),
                        width="100%",
                    ),
                ),
                error_text(S.dialog_error),
                rx.hstack(
                    rx.button(T["cancel"], variant="soft", color_scheme="gray", on_click=S.close_dialog),
                    rx.button(T["save"], on_click=S.save_dialog),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
                width="100%",
            ),
        ),
        open=S.dialog != "",
        on_open_change=lambda _open: S.close_dialog(),
    )


@page(route=routes.SETTINGS_CATEGORIES, title="카테고리 관리", role=ROLE_ADMIN, on_load=S.load_categories)
def settings_categories() -> rx.Component:
    return admin_layout(
        routes.SETTINGS_CATEGORIES,
        "nav_categories",
        rx.vstack(
            rx.hstack(
                rx.text(T["categories_help"], size="2", color=rx.color("gray", 11)),
                rx.spacer(),
                rx.button(T["add_top"], on_click=S.open_add(0)),
                width="100%",
                align="center",
            ),
            error_text(S.error),
            notice_text(S.notice),
            rx.table.root(
                rx.table.header(rx.table.row(
                    rx.table.column_header_cell(T["category"]),
                    rx.table.column_header_cell(T["used_by_chats"]),
                    rx.table.column_header_cell(T["actions"]),
                )),
                rx.table.body(rx.foreach(S.nodes, _row)),
                width="100%",
            ),
            _dialog(),
            spacing="3",
            width="100%",
        ),
    )
