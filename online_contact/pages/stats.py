"""/stats — 통계: the period's cards, charts and tables; every number opens 채팅 기록 on exactly
its chats (states/stats.py, services/stats.py)."""

from __future__ import annotations

import reflex as rx

from online_contact import routes
from online_contact.components.admin_layout import admin_layout
from online_contact.components.agent_chat import top_bar
from online_contact.components.common import T, reconnecting_banner
from online_contact.components.export_dialog import export_dialog
from online_contact.components.wire import LinkedBar, Ticker
from online_contact.models.agent import ROLE_AGENT
from online_contact.states.stats import LIVE_SECONDS, StatsState as S

from .registry import page

def _periods() -> rx.Component:
    def choice(key: str, label: str) -> rx.Component:
        return rx.link(
            rx.button(T[label], size="2", variant=rx.cond(S.period_key == key, "solid", "soft")),
            href=f"{routes.STATS}?period={key}",
        )

    return rx.hstack(
        choice("today", "stats_today"), choice("yesterday", "stats_yesterday"),
        choice("7d", "stats_7d"), choice("30d", "stats_30d"),
        rx.form(
            rx.hstack(
                rx.el.label(T["history_from"], html_for="stats-from", size="2"),
                rx.input(type="date", name="from", id="stats-from", default_value=S.date_from, key=S.date_from, size="2"),
                rx.el.label(T["history_to"], html_for="stats-to", size="2"),
                rx.input(type="date", name="to", id="stats-to", default_value=S.date_to, key=S.date_to, size="2"),
                rx.button(T["stats_show"], type="submit", size="2", variant=rx.cond(S.period_key == "custom", "solid", "outline")),
                align="center",
                spacing="2",
            ),
            on_submit=S.pick_period,
        ),
        rx.spacer(),
        rx.text(S.date_from, " – ", S.date_to, size="2", color=rx.color("gray", 10)),
        rx.button(rx.icon("download", size=14), T["export"], variant="soft", size="2", on_click=S.open_export),
        wrap="wrap",
        align="center",
        width="100%",
        spacing="2",
    )


def _card(c) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(c["label"], size="2", weight="medium"),
                rx.tooltip(rx.icon("info", size=14, aria_label=c["tip"], color=rx.color("gray", 9)), content=c["tip"]),
                align="center",
                spacing="1",
            ),
            rx.link(
                rx.text(c["value"], size="7", weight="bold",
                        color=rx.match(c["colour"], ("green", rx.color("grass", 11)), ("amber", rx.color("amber", 11)),
                                       ("red", rx.color("tomato", 11)), rx.color("gray", 12))),
                href=c["href"],
                underline="hover",
                aria_label=c["label"] + " " + c["value"],
            ),
            rx.text(T["stats_vs_previous"], " ", rx.text.span(c["delta"], color=rx.match(
                c["direction"], ("good", rx.color("grass", 11)), ("bad", rx.color("tomato", 11)), rx.color("gray", 10))),
                size="1", color=rx.color("gray", 10)),
            rx.cond(
                c["key"] == "abandoned",
                rx.hstack(
                    rx.link(c["left"], href=c["left_href"], size="1"),
                    rx.text("·", size="1"),
                    rx.link(c["no_reply"], href=c["no_reply_href"], size="1"),
                    spacing="1",
                ),
                rx.cond(c["sub"] != "", rx.text(c["sub"], size="1", color=rx.color("gray", 10))),
            ),
            spacing="1",
        ),
        role="group",
        aria_label=c["label"],
    )


def _daily_chart() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(rx.cond(S.one_day, T["stats_by_hour"], T["stats_by_day"]), size="3", as_="h2"),
            rx.recharts.bar_chart(
                rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
                rx.recharts.x_axis(data_key="label"),
                rx.recharts.y_axis(allow_decimals=False),
                rx.recharts.graphing_tooltip(),
                rx.recharts.legend(),
                # Each bar opens 채팅 기록 on its chats.
                *[LinkedBar.create(data_key=key, name=T[label], stack_id="a", fill=rx.color(colour, 9), cursor="pointer",
                                   on_click=lambda item, key=key: S.go(item["payload"].to(dict)[f"href_{key}"].to(str)))
                  for key, label, colour in (("processed", "stats_processed", "grass"), ("abandoned", "stats_abandoned", "tomato"),
                                             ("in_progress", "state_in_progress", "blue"))],
                data=S.days,
                width="100%",
                height=260,
            ),
            # The chart's numbers, each opening 채팅 기록 on its chats.
            rx.fragment(
                rx.scroll_area(
                    rx.hstack(
                        rx.foreach(S.days, lambda d: rx.vstack(
                            rx.link(d["label"].to(str), href=d["href"].to(str), size="1", weight="medium"),
                            rx.link(d["processed"].to_string(), href=d["href_processed"].to(str), size="1", color=rx.color("grass", 11),
                                    aria_label=d["label"].to(str) + " " + T["stats_processed"] + " " + d["processed"].to_string()),
                            rx.link(d["abandoned"].to_string(), href=d["href_abandoned"].to(str), size="1", color=rx.color("tomato", 11),
                                    aria_label=d["label"].to(str) + " " + T["stats_abandoned"] + " " + d["abandoned"].to_string()),
                            spacing="0",
                            align="center",
                            min_width="44px",
                        )),
                        spacing="1",
                    ),
                    type="auto",
                    scrollbars="horizontal",
                    style={"width": "100%"},
                ),
            ),
            width="100%",
        ),
        width="100%",
    )


def _bars(title: str, rows, label_prefix: str = "") -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(T[title], size="3", as_="h2"),
            rx.recharts.bar_chart(
                rx.recharts.x_axis(data_key="label"),
                rx.recharts.y_axis(allow_decimals=False),
                rx.recharts.graphing_tooltip(),
                rx.recharts.bar(data_key="count", name=T["stats_count"], fill=rx.color("accent", 9)),
                data=rows,
                width="100%",
                height=160,
            ),
            rx.hstack(
                rx.foreach(rows, lambda r: rx.link(label_prefix, r["label"].to(str), ": ", r["count"].to_string(), href=r["href"].to(str), size="1")),
                spacing="3",
                wrap="wrap",
            ),
            width="100%",
        ),
        width="100%",
    )


def _heat_map() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(T["stats_week"], size="3", as_="h2"),
            rx.el.table(
                rx.el.thead(rx.el.tr(rx.el.th(""), *[rx.el.th(f"{h}", style={"font_size": "10px", "font_weight": "400"}) for h in range(24)])),
                rx.el.tbody(rx.foreach(S.week, lambda row, i: rx.el.tr(
                    rx.el.th(S.weekdays[i], style={"font_size": "12px", "padding_right": "6px"}),
                    rx.foreach(row, lambda cell: rx.el.td(
                        rx.link(cell["n"], href=cell["href"], color="inherit", underline="hover"),
                        style={"width": "26px", "height": "22px", "text_align": "center", "font_size": "10px",
                               "background": "rgba(62, 99, 221, " + cell["alpha"] + ")",
                               "color": rx.cond(cell["dark"] == "1", "white", rx.color("gray", 11))},
                    )),
                ))),
                style={"border_collapse": "separate", "border_spacing": "2px"},
            ),
            rx.el.caption(T["stats_week"], style={"display": "none"}),
            width="100%",
            overflow_x="auto",
        ),
        width="100%",
    )


def _tip(label: str, tip: str) -> rx.Component:
    """A header with its definition (services/stats.py) a hover or focus away."""
    return rx.hstack(T[label], rx.tooltip(rx.icon("info", size=12, aria_label=T[tip]), content=T[tip]), spacing="1", align="center")


def _sortable(table: str, column: str, label: str, tip: str = "") -> rx.Component:
    return rx.table.column_header_cell(
        rx.hstack(
            rx.button(T[label], rx.cond(S.sorts[table] == column, rx.icon("arrow-down-up", size=12)), variant="ghost", size="1",
                      on_click=S.sort_by(table, column)),
            *([rx.tooltip(rx.icon("info", size=12, aria_label=T[tip]), content=T[tip])] if tip else []),
            spacing="1",
            align="center",
        ),
    )


def _agents_table() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(T["stats_by_agent"], size="3", as_="h2"),
            rx.table.root(
                rx.el.caption(T["stats_by_agent"], style={"display": "none"}),
                rx.table.header(rx.table.row(
                    _sortable("agents", "name", "stats_col_agent"), _sortable("agents", "assigned", "stats_col_assigned", "stats_def_assigned"),
                    _sortable("agents", "processed", "stats_processed"), _sortable("agents", "wait", "stats_wait"),
                    _sortable("agents", "handle", "stats_handle"), _sortable("agents", "satisfaction", "stats_satisfaction"),
                    _sortable("agents", "online", "stats_col_online", "stats_def_online"),
                    _sortable("agents", "break", "stats_col_break", "stats_def_online"),
                )),
                rx.table.body(rx.foreach(S.agent_rows, lambda a: rx.table.row(
                    rx.table.row_header_cell(rx.link(a["name"].to(str), href=a["href"].to(str))),
                    rx.table.cell(rx.link(a["assigned"].to_string(), href=a["href_assigned"].to(str))),
                    rx.table.cell(rx.link(a["processed"].to_string(), href=a["href_processed"].to(str))),
                    rx.table.cell(rx.link(a["wait_text"].to(str), href=a["href_wait"].to(str))),
                    rx.table.cell(rx.link(a["handle_text"].to(str), href=a["href_processed"].to(str))),
                    rx.table.cell(rx.link(a["satisfaction_text"].to(str), href=a["href_rated"].to(str))),
                    rx.table.cell(a["online_text"].to(str)), rx.table.cell(a["break_text"].to(str)),
                ))),
                width="100%",
                size="1",
            ),
            width="100%",
        ),
        width="100%",
    )


def _simple_table(title: str, rows, first: str, first_label: str, sort_table: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(T[title], size="3", as_="h2"),
            rx.table.root(
                rx.el.caption(T[title], style={"display": "none"}),
                rx.table.header(rx.table.row(
                    _sortable(sort_table, first, first_label), _sortable(sort_table, "count", "stats_count"),
                    rx.table.column_header_cell(_tip("stats_share", "stats_def_share")),
                )),
                rx.table.body(rx.foreach(rows, lambda r: rx.table.row(
                    rx.table.row_header_cell(rx.cond(r["href"].to(str) != "",
                                                     rx.link(r[first].to(str), href=r["href"].to(str), word_break="break-all"),
                                                     rx.text(r[first].to(str)))),
                    rx.table.cell(rx.cond(r["href"].to(str) != "", rx.link(r["count"].to_string(), href=r["href"].to(str)),
                                          rx.text(r["count"].to_string()))),
                    rx.table.cell(r["share"].to(str)),
                ))),
                width="100%",
                size="1",
            ),
            width="100%",
        ),
        width="100%",
    )


def _live() -> rx.Component:
    def figure(label: str, value) -> rx.Component:
        return rx.vstack(
            rx.hstack(rx.text(T[label], size="1", color=rx.color("gray", 10)),
                      rx.tooltip(rx.icon("info", size=12, aria_label=T[f"{label}_def"]), content=T[f"{label}_def"]),
                      spacing="1", align="center"),
            rx.text(value, size="5", weight="bold"),
            spacing="0", role="group", aria_label=T[label])

    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(T["stats_live"], size="3", as_="h2"),
                rx.badge(rx.icon("radio", size=12), T["stats_live_every"], variant="soft", color_scheme="grass"),
                rx.spacer(),
                rx.text(T["stats_updated"], " ", S.updated, size="1", color=rx.color("gray", 10)),
                align="center",
                width="100%",
            ),
            rx.hstack(
                rx.cond(S.is_admin, figure("stats_waiting", S.live["waiting"])),
                rx.cond(S.is_admin, figure("stats_longest", S.live["longest"])),
                figure("stats_open", S.live["open"]),
                rx.cond(S.is_admin, figure("stats_agents_now", S.live["statuses"])),
                spacing="6",
                wrap="wrap",
            ),
            rx.table.root(
                rx.el.caption(T["stats_live"], style={"display": "none"}),
                rx.table.header(rx.table.row(
                    rx.table.column_header_cell(T["stats_col_agent"]), rx.table.column_header_cell(T["stats_col_status"]),
                    rx.table.column_header_cell(T["stats_col_open"]),
                    rx.table.column_header_cell(_tip("awaiting_reply", "stats_def_unanswered")),
                )),
                rx.table.body(rx.foreach(S.live_agents, lambda a: rx.table.row(
                    rx.table.row_header_cell(a["name"]), rx.table.cell(a["status"]), rx.table.cell(a["open"]),
                    rx.table.cell(a["unanswered"]),
                ))),
                width="100%",
                size="1",
            ),
            width="100%",
        ),
        width="100%",
    )


def _satisfaction_chart() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(T["stats_satisfaction_trend"], size="3", as_="h2"),
            rx.recharts.line_chart(
                rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
                rx.recharts.x_axis(data_key="label"),
                rx.recharts.y_axis(domain=[1, 5], allow_decimals=False),
                rx.recharts.graphing_tooltip(),
                rx.recharts.line(data_key="satisfaction", name=T["stats_satisfaction"], stroke=rx.color("amber", 9),
                                 connect_nulls=True, type_="monotone"),
                data=S.days,
                width="100%",
                height=180,
            ),
            width="100%",
        ),
        width="100%",
    )


def _export_dialog() -> rx.Component:
    return export_dialog(S, rx.text(T["stats_export_intro"], " ", S.date_from, " – ", S.date_to), "stats-export")


def _content() -> rx.Component:
    return rx.vstack(
        Ticker.create(event=f"{S.get_full_name()}.tick", seconds=LIVE_SECONDS, enabled=S.agent_id > 0),
        _export_dialog(),
        _periods(),
        _live(),
        rx.grid(rx.foreach(S.cards, _card), columns=rx.breakpoints(initial="2", md="4"), spacing="3", width="100%"),
        _daily_chart(),
        rx.grid(_bars("stats_wait_buckets", S.buckets), _bars("stats_distribution", S.distribution), columns=rx.breakpoints(initial="1", md="2"),
                spacing="3", width="100%"),
        rx.cond(~S.one_day, _satisfaction_chart()),
        _heat_map(),
        _agents_table(),
        rx.grid(
            _simple_table("stats_by_category", S.category_rows, "path", "col_category", "categories"),
            _simple_table("stats_by_channel", S.channel_rows, "channel", "col_channel", "channels"),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="3",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )


@page(route=routes.STATS, title="통계", role=ROLE_AGENT, on_load=S.load_stats)
def statistics() -> rx.Component:
    return rx.cond(
        S.agent_id > 0,
        rx.cond(
            S.is_admin,
            admin_layout(routes.STATS, "nav_stats", _content()),
            rx.box(
                reconnecting_banner(),
                top_bar(),
                rx.box(rx.heading(T["nav_stats"], size="6", as_="h1", margin_bottom="16px"), _content(), padding="20px 28px"),
            ),
        ),
        rx.center(rx.spinner(), height="100vh"),
    )
