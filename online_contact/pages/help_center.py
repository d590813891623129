"""/ — the public help center with the chat icon."""

from __future__ import annotations

import reflex as rx

from online_contact import routes
from online_contact.components.common import T, language_switch, reconnecting_banner
from online_contact.components.customer_chat import floating_chat
from online_contact.components.wire import chat_wire
from online_contact.states.customer_chat import CustomerChatState

from .registry import page


def _faq(n: int) -> rx.Component:
    return rx.accordion.item(header=T[f"faq_{n}_q"], content=T[f"faq_{n}_a"], value=f"faq-{n}")


@page(route=routes.HELP_CENTER, title="헬프센터", on_load=CustomerChatState.load_help_center)
def help_center() -> rx.Component:
    """The help center page with the chat icon at the bottom right."""
    return rx.box(
        rx.hstack(
            rx.heading(T["help_center"], size="5"),
            rx.spacer(),
            language_switch(),
            rx.link(T["agent_login"], href=routes.LOGIN, size="2"),
            padding="16px 24px",
            align="center",
            border_bottom=f"1px solid {rx.color('gray', 5)}",
        ),
        rx.container(
            rx.vstack(
                rx.heading(T["hc_title"], size="7", as_="h1"),
                rx.text(T["hc_intro"], color=rx.color("gray", 11)),
                rx.heading(T["faq"], size="4", as_="h2", margin_top="24px"),
                rx.accordion.root(_faq(1), _faq(2), _faq(3), collapsible=True, type="single", variant="outline", width="100%"),
                rx.link(T["contact_us"], href=routes.INQUIRY),
                spacing="3",
                padding_y="32px",
            ),
            size="3",
        ),
        reconnecting_banner(),
        floating_chat(),
        chat_wire("customer"),
        min_height="100vh",
    )
