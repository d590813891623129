"""/agent — the agent's home with the chat icon and the chat screen; /agent/tickets."""

from __future__ import annotations

import reflex as rx

from online_contact.components.agent_chat import agent_chat_icon, chat_screen, ticket_dialog, top_bar, unsaved_dialog
from online_contact.components.common import T, reconnecting_banner
from online_contact.components.wire import chat_wire
from online_contact.states.agent_console import AgentConsoleState, TicketListState


def _logged_in(content: rx.Component) -> rx.Component:
    return rx.cond(AgentConsoleState.agent_id > 0, content, rx.center(rx.spinner(), height="100vh"))


def agent_home() -> rx.Component:
    """Status at the top left, the chat icon at the bottom right."""
    return _logged_in(
        rx.box(
            top_bar(),
            rx.container(
                rx.vstack(
                    rx.heading(T["agent_home"], size="6", as_="h1"),
                    rx.text(T["agent_home_intro"], color=rx.color("gray", 11)),
                    spacing="2",
                    padding_y="24px",
                ),
            ),
            chat_screen(),
            reconnecting_banner(),
            agent_chat_icon(),
            ticket_dialog(),
            unsaved_dialog(),
            chat_wire("agent"),
            min_height="100vh",
        )
    )


def _source(t) -> rx.Component:
    return rx.cond(t["source"] == "chat", T["source_chat"], T["source_inquiry"])


def tickets() -> rx.Component:
    """A simple list of tickets, newest first."""
    return rx.cond(
        TicketListState.agent_id > 0,
        rx.box(
            reconnecting_banner(),
            top_bar(),
            rx.container(
                rx.heading(T["ticket_list"], size="6", as_="h1", margin_y="16px"),
                rx.cond(TicketListState.tickets.length() == 0, rx.text(T["no_tickets"])),
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("#"),
                            rx.table.column_header_cell(T["subject"]),
                            rx.table.column_header_cell(T["requester"]),
                            rx.table.column_header_cell(T["ticket_source"]),
                            rx.table.column_header_cell(T["ticket_status"]),
                            rx.table.column_header_cell(T["created_at"]),
                        )
                    ),
                    rx.table.body(
                        rx.foreach(
                            TicketListState.tickets,
                            lambda t: rx.table.row(
                                rx.table.cell(t["id"]),
                                rx.table.cell(t["subject"]),
                                rx.table.cell(t["requester"]),
                                rx.table.cell(_source(t)),
                                rx.table.cell(rx.cond(t["status"] == "open", T["ticket_open"], T["ticket_closed"])),
                                rx.table.cell(t["created_at"]),
                            ),
                        )
                    ),
                    width="100%",
                ),
                size="4",
            ),
        ),
        rx.center(rx.spinner(), height="100vh"),
    )
