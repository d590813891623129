"""/widget — the chat alone, inside the embed's iframe."""

from __future__ import annotations

import reflex as rx

from online_contact import routes
from online_contact.components.common import reconnecting_banner
from online_contact.components.customer_chat import chat_window, unavailable_dialog
from online_contact.components.wire import chat_wire, embed_bridge
from online_contact.states.customer_chat import CustomerChatState

from .registry import page


@page(route=routes.WIDGET, title="채팅", on_load=CustomerChatState.load_widget)
def widget() -> rx.Component:
    """The chat alone, filling the embed iframe."""
    return rx.box(
        # Chat disabled: the embedded frame stays empty.
        rx.cond(CustomerChatState.chat_enabled | (CustomerChatState.phase == "chat"), chat_window()),
        reconnecting_banner(),
        unavailable_dialog(),
        chat_wire("customer"),
        embed_bridge(),
        height="100vh",
        width="100%",
    )
