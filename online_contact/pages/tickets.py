"""/agent/tickets — the ticket list."""

from __future__ import annotations

import reflex as rx

from online_contact import routes
from online_contact.components.agent_chat import top_bar
from online_contact.components.common import T, reconnecting_banner
from online_contact.models.agent import ROLE_AGENT
from online_contact.states.agent_console import TicketListState

from .registry import page


def _source(t) -> rx.Component:
    return rx.cond(t["source"] == "chat", T["source_chat"], T["source_inquiry"])


@page(route=routes.TICKETS, title="티켓", role=ROLE_AGENT, on_load=TicketListState.load_tickets)
def tickets() -> rx.Component:
    """The tickets the agent may see, newest first: the 1:1 문의 queue and the tickets of their
    own chats (an admin: all; services.tickets.visible_to, applied by the state's query)."""
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
                                rx.table.cell(rx.cond(t["subject"] == "", rx.text(T["erased"], color=rx.color("gray", 10)), t["subject"])),
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
