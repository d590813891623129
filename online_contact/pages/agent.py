"""/agent — the agent's home with the chat icon and the chat screen."""

from __future__ import annotations

import reflex as rx

from online_contact import routes
from online_contact.components.agent_chat import agent_chat_icon, chat_screen, top_bar
from online_contact.components.chat_info import ticket_dialog, unsaved_dialog
from online_contact.components.common import T, reconnecting_banner
from online_contact.components.wire import agent_alerts, chat_wire
from online_contact.models.agent import ROLE_AGENT
from online_contact.states.agent_console import AgentConsoleState

from .registry import page


def _logged_in(content: rx.Component) -> rx.Component:
    return rx.cond(AgentConsoleState.agent_id > 0, content, rx.center(rx.spinner(), height="100vh"))


@page(route=routes.AGENT, title="상담원", role=ROLE_AGENT, on_load=AgentConsoleState.load_console)
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
            ticket_dialog(AgentConsoleState),
            unsaved_dialog(AgentConsoleState),
            chat_wire("agent"),
            agent_alerts(),
            min_height="100vh",
        )
    )
