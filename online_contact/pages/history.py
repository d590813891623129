"""/history — 채팅 기록: search conditions (kept in the URL), the newest-first list, and a side
panel of the chat clicked. Admins see it under 서비스 관리, agents under their top bar."""

from __future__ import annotations

import reflex as rx

from online_contact import routes
from online_contact.components.admin_layout import admin_layout
from online_contact.components.export_dialog import export_dialog
from online_contact.components.wire import history_wire
from online_contact.components.agent_chat import top_bar
from online_contact.components.chat_info import info_fields, readonly, ticket_dialog, unsaved_dialog
from online_contact.components.common import (
    T, error_text, mask_button, mask_dialog, message_text, notice_text, reconnecting_banner, unsaved_badge,
)
from online_contact.models.agent import ROLE_AGENT
from online_contact.states.history import HistoryState as S

from .registry import page

_VISUALLY_HIDDEN = {"position": "absolute", "width": "1px", "height": "1px", "overflow": "hidden", "clip": "rect(0 0 0 0)",
                    "white_space": "nowrap"}
_SELECT = {"padding": "4px", "border_radius": "6px", "border": f"1px solid {rx.color('gray', 7)}"}


def _field(label, control: rx.Component, id: str) -> rx.Component:
    return rx.vstack(rx.el.label(label, html_for=id, font_size="0.8em"), control, spacing="1")


def _state_badge(state) -> rx.Component:
    return rx.match(
        state,
        ("processed", rx.badge(T["state_processed"], color_scheme="green")),
        ("unprocessed", rx.badge(T["state_unprocessed"], color_scheme="red")),
        rx.badge(T["state_in_progress"], color_scheme="blue"),
    )


def _search_form() -> rx.Component:
    def select(name: str, *options) -> rx.Component:
        return rx.el.select(*options, id=f"search-{name}", name=name, default_value=S.search[name], style=_SELECT)

    return rx.form(
        rx.vstack(
            rx.hstack(
                _field(T["history_from"], rx.input(type="date", id="search-from", name="from", default_value=S.search["from"]), "search-from"),
                _field(T["history_to"], rx.input(type="date", id="search-to", name="to", default_value=S.search["to"]), "search-to"),
                _field(T["col_state"], select(
                    "state", rx.el.option(T["all"], value=""), rx.el.option(T["state_processed"], value="processed"),
                    rx.el.option(T["state_unprocessed"], value="unprocessed"),
                    rx.el.option(T["state_left_waiting"], value="left_waiting"), rx.el.option(T["state_no_reply"], value="no_reply"),
                    rx.el.option(T["state_in_progress"], value="in_progress"),
                ), "search-state"),
                rx.cond(S.is_admin, _field(T["history_agent"], select(
                    "agent", rx.el.option(T["all"], value=""),
                    rx.foreach(S.agent_options, lambda a: rx.el.option(a["name"], value=a["id"])),
                ), "search-agent")),
                _field(T["col_category"], select(
                    "category", rx.el.option(T["all"], value=""),
                    rx.foreach(S.category_options, lambda c: rx.el.option(c["name"], value=c["id"])),
                ), "search-category"),
                _field(T["col_channel"], select(
                    "channel", rx.el.option(T["all"], value=""), rx.el.option(T["helpcenter_channel"], value="helpcenter"),
                    rx.el.option(T["embed_channel"], value="embed"),
                    # One embedding page (통계's 채널별).
                    rx.cond(S.channel_page != "", rx.el.option(S.channel_page, value=S.channel_page)),
                ), "search-channel"),
                _field(T["history_rating"], select(
                    "rating", rx.el.option(T["all"], value=""), rx.el.option(T["history_rated"], value="any"),
                    *[rx.el.option(str(n), value=str(n)) for n in range(5, 0, -1)],
                ), "search-rating"),
                spacing="3",
                wrap="wrap",
                align="end",
            ),
            rx.hstack(
                _field(T["history_customer"], rx.input(id="search-customer", name="customer", default_value=S.search["customer"], max_length=100), "search-customer"),
                rx.vstack(
                    rx.el.label(T["history_words"], html_for="search-q", font_size="0.8em"),
                    rx.input(id="search-q", name="q", default_value=S.search["q"], max_length=100, width="260px",
                             custom_attrs={"aria-describedby": "search-q-help"}),
                    spacing="1",
                ),
                rx.button(T["search"], type="submit"),
                rx.button(T["search_reset"], type="button", variant="soft", color_scheme="gray", on_click=S.reset_search),
                spacing="3",
                align="end",
                wrap="wrap",
            ),
            rx.text(T["history_words_help"], id="search-q-help", size="1", color=rx.color("gray", 10)),
            # 통계's click-through conditions: kept by a new search, named, dropped by 초기화.
            *[rx.el.input(type="hidden", name=k, value=S.search.get(k, "")) for k in ("ticket", "wait", "replied", "hour", "dow", "assigned")],
            rx.cond(S.extra_conditions.length() > 0, rx.callout(
                rx.text(T["history_extra"], " ", S.extra_conditions.join(", ")), icon="filter", size="1", role="status")),
            spacing="2",
        ),
        # A new search in the URL (or Back) shows its own values.
        key=S.search_key,
        on_submit=S.run_search,
        role="search",
        width="100%",
    )


def _row(r) -> rx.Component:
    return rx.table.row(
        rx.table.cell(r["started"], white_space="nowrap"),
        rx.table.cell(
            rx.vstack(
                rx.button(rx.cond(r["customer"] != "", r["customer"], "#" + r["id"].to_string()), variant="ghost", size="1",
                          on_click=S.open_chat(r["id"]).stop_propagation, custom_attrs={"aria-label": T["open_chat_detail"] + " #" + r["id"].to_string()}),
                rx.text(r["email"], size="1", color=rx.color("gray", 10)),
                spacing="0",
            )
        ),
        rx.table.cell(r["agent"]),
        rx.table.cell(rx.cond(r["channel"] != "", rx.text(r["channel"], size="1", word_break="break-all"), T["helpcenter_channel"])),
        rx.table.cell(r["category"]),
        rx.table.cell(_state_badge(r["state"])),
        rx.table.cell(r["rating"]),
        rx.table.cell(r["messages"]),
        rx.table.cell(r["duration"]),
        on_click=S.open_chat(r["id"]),
        cursor="pointer",
        background=rx.cond(S.selected_id == r["id"], rx.color("accent", 3), "transparent"),
    )


def _list() -> rx.Component:
    return rx.vstack(
        rx.cond(S.invalid.length() > 0, rx.callout(rx.text(T["history_invalid"], " ", S.invalid.join(", ")), icon="info", size="1", role="status")),
        rx.hstack(
            rx.text(T["history_total"], " ", rx.text.strong(S.total_text), T["history_count_unit"], id="history-total", role="status"),
            rx.text(" · ", T["history_page"], " ", S.page_no, color=rx.color("gray", 10)),
            rx.spacer(),
            rx.button(rx.icon("download", size=14), T["export"], variant="soft", on_click=S.open_export,
                      disabled=S.total == 0),
            spacing="1",
            width="100%",
        ),
        rx.cond(
            S.rows.length() == 0,
            rx.text(T["no_results"], color=rx.color("gray", 10)),
            rx.table.root(
                # The table's name (Radix puts aria-label on its wrapper, not on the table).
                rx.el.caption(T["nav_history"], style=_VISUALLY_HIDDEN),
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(T[k]) for k in (
                    "col_started", "col_customer", "col_agent", "col_channel", "col_category", "col_state",
                    "col_rating", "col_messages", "col_duration")])),
                rx.table.body(rx.foreach(S.rows, _row)),
                width="100%",
                size="1",
            ),
        ),
        rx.hstack(
            rx.cond(S.newer_url != "", rx.link(T["prev_page"], href=S.newer_url), rx.text(T["prev_page"], color=rx.color("gray", 8))),
            rx.cond(S.older_url != "", rx.link(T["next_page"], href=S.older_url), rx.text(T["next_page"], color=rx.color("gray", 8))),
            spacing="4",
            custom_attrs={"aria-label": T["history_page"]},
            role="navigation",
        ),
        spacing="3",
        width="100%",
    )


def _section(title_key: str, *content) -> rx.Component:
    return rx.vstack(rx.heading(T[title_key], size="2", as_="h3"), *content, spacing="1", width="100%")


def _timeline() -> rx.Component:
    return rx.el.ol(
        rx.foreach(S.timeline, lambda e: rx.el.li(
            rx.text(
                rx.text.span(e["at"], color=rx.color("gray", 10)), " ", T[e["what"]],
                rx.cond(e["who"] != "", " · " + e["who"], ""),
                rx.cond(e["reason"] != "", rx.text.span(" (", T[e["reason"]], ")"), ""),
                size="1",
            ),
        )),
        style={"padding_left": "16px", "margin": "0"},
    )


def _transcript() -> rx.Component:
    """Newest at the bottom, in view first (column-reverse keeps a scroll box at its end);
    scrolling up to 이전 메시지 보기 loads the older messages (assets/chat_input.js), as does a click."""
    return rx.flex(
        rx.foreach(S.transcript_newest_first, lambda m: rx.box(
            rx.hstack(
                rx.text(rx.text.span(m["time"], color=rx.color("gray", 10)), " ",
                        rx.match(m["author"], ("customer", T["customer"]), ("agent", T["agent"]), "—"), size="1"),
                mask_button(S, m),
                spacing="2",
                align="center",
            ),
            message_text(m),
            class_name="oc-message",
            data_seq=m["seq"],
            padding="4px 6px",
            border_radius="6px",
            background=rx.cond(m["author"] == "agent", rx.color("accent", 2), rx.color("gray", 2)),
            width="100%",
            flex_shrink="0",
        )),
        rx.cond(S.transcript_more, rx.button(T["load_older"], size="1", variant="ghost", on_click=S.load_older_messages,
                                             custom_attrs={"data-load-on-view": "true"})),
        direction="column-reverse",
        role="log",
        aria_label=T["transcript"],
        gap="4px",
        width="100%",
        max_height="360px",
        overflow_y="auto",
    )


def _erase() -> rx.Component:
    """고객 정보 삭제 (admins): a reason, then everything personal of the customer goes."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(rx.button(T["erase_customer"], size="1", color_scheme="red", variant="soft", on_click=S.open_erase)),
        rx.alert_dialog.content(
            rx.alert_dialog.title(T["erase_customer"]),
            rx.alert_dialog.description(T["erase_help"], size="2"),
            rx.form(
                rx.vstack(
                    rx.el.label(T["erase_reason"], html_for="erase-reason", font_weight="500", font_size="0.9em"),
                    rx.text_area(id="erase-reason", name="reason", rows="2", width="100%", max_length=500),
                    error_text(S.erase_error),
                    rx.hstack(
                        rx.alert_dialog.cancel(rx.button(T["cancel"], type="button", variant="soft", color_scheme="gray",
                                                         on_click=S.cancel_erase)),
                        rx.spacer(),
                        rx.button(T["erase_confirm"], type="submit", color_scheme="red"),
                        width="100%",
                    ),
                    spacing="2",
                    width="100%",
                    padding_top="8px",
                ),
                on_submit=S.erase_customer,
                reset_on_submit=False,
            ),
        ),
        open=S.erase_open,
        on_open_change=S.erase_dialog_changed,
    )


def _panel() -> rx.Component:
    return rx.cond(
        S.selected_id > 0,
        rx.vstack(
            rx.hstack(
                rx.heading(S.active_name, size="3", as_="h2"),
                rx.spacer(),
                rx.button(T["create_ticket"], size="1", variant="soft", on_click=S.open_ticket_dialog),
                rx.icon_button(rx.icon("x", size=16), size="1", variant="ghost", on_click=S.close_panel,
                               aria_label=T["close"]),
                width="100%",
                align="center",
            ),
            rx.text(S.started, " · ", _state_badge(S.state_key), " · ", S.agent_label, size="1"),
            error_text(S.panel_error),
            rx.cond(S.customer_erased, rx.callout(T["customer_erased"], icon="shield-check", size="1", role="status")),
            mask_dialog(S),
            rx.vstack(
                *info_fields(S),
                error_text(S.error),
                notice_text(S.notice),
                rx.hstack(unsaved_badge(S.info_dirty), rx.spacer(),
                          rx.button(T["save"], on_click=S.save_info, variant=rx.cond(S.info_dirty, "solid", "soft")),
                          width="100%", align="center"),
                rx.divider(),
                _section("chat_tickets", rx.cond(
                    S.tickets.length() == 0,
                    rx.text(T["no_chat_tickets"], size="1", color=rx.color("gray", 10)),
                    rx.el.ul(rx.foreach(S.tickets, lambda t: rx.el.li(rx.text(
                        "#", t["id"].to_string(), " ", t["subject"], " · ",
                        rx.cond(t["status"] == "open", T["ticket_open"], T["ticket_closed"]), " · ", t["at"], size="1",
                    ))), style={"padding_left": "16px", "margin": "0"}),
                )),
                _section("rating_label", rx.cond(
                    S.rating != "",
                    rx.vstack(rx.text("★ ", S.rating, " / 5", size="2"), rx.text(S.rating_comment, size="1"), spacing="0"),
                    rx.text(T["no_rating"], size="1", color=rx.color("gray", 10)),
                )),
                _section("timeline", _timeline()),
                _section("consent_record", rx.cond(
                    S.consent.contains("version"),
                    rx.vstack(readonly(T["consent_record_version"], S.consent["version"]),
                              readonly(T["consent_at"], S.consent["at"]), readonly(T["ip"], S.consent["ip"]), spacing="1", width="100%"),
                    rx.text(T["no_consent"], size="1", color=rx.color("gray", 10)),
                )),
                _section("transcript", rx.cond(
                    S.chat_purged,
                    rx.text(T["chat_purged"], size="1", color=rx.color("gray", 10)),
                    _transcript(),
                )),
                rx.cond(S.is_admin & ~S.customer_erased, rx.fragment(rx.divider(), _erase())),
                spacing="3",
                width="100%",
            ),
            position="fixed",
            top="0",
            right="0",
            bottom="0",
            width="420px",
            max_width="100vw",
            padding="16px",
            overflow_y="auto",
            background=rx.color("gray", 1),
            border_left=f"1px solid {rx.color('gray', 6)}",
            box_shadow="-8px 0 30px rgba(0,0,0,.12)",
            z_index="30",
            role="region",
            aria_label=T["chat_detail"],
            spacing="3",
        ),
    )


def _export_dialog() -> rx.Component:
    return export_dialog(S, S.export_intro, "export", progress=True)


def _content() -> rx.Component:
    return rx.vstack(_search_form(), rx.divider(), _list(), spacing="4", width="100%")


@page(route=routes.HISTORY, title="채팅 기록", role=ROLE_AGENT, on_load=S.load_history)
def chat_history() -> rx.Component:
    return rx.cond(
        S.agent_id > 0,
        rx.fragment(
            rx.cond(
                S.is_admin,
                admin_layout(routes.HISTORY, "nav_history", _content()),
                rx.box(
                    reconnecting_banner(),
                    top_bar(),
                    rx.box(rx.heading(T["nav_history"], size="6", as_="h1", margin_bottom="16px"), _content(), padding="20px 28px"),
                ),
            ),
            _panel(),
            history_wire(),
            ticket_dialog(S),
            unsaved_dialog(S),
            _export_dialog(),
        ),
        rx.center(rx.spinner(), height="100vh"),
    )
