"""/inquiry — the 1:1 inquiry form (문의하기)."""

from __future__ import annotations

import reflex as rx

from online_contact import routes
from online_contact.components.common import T, error_text, language_switch, reconnecting_banner
from online_contact.states.inquiry import InquiryState

from .registry import page


def _field(label, name: str, **props) -> rx.Component:
    control = rx.text_area(name=name, id=f"inquiry-{name}", rows="6", width="100%", **props) if name == "body" else rx.input(
        name=name, id=f"inquiry-{name}", width="100%", **props
    )
    return rx.vstack(rx.el.label(label, html_for=f"inquiry-{name}", font_weight="500"), control, spacing="1", width="100%")


@page(route=routes.INQUIRY, title="1:1 문의", on_load=InquiryState.load_inquiry)
def inquiry() -> rx.Component:
    """Validated form; on success the ticket number is confirmed."""
    return rx.container(
        reconnecting_banner(),
        rx.hstack(rx.link(T["back_to_help_center"], href=routes.HELP_CENTER), rx.spacer(), language_switch(), width="100%"),
        rx.heading(T["inquiry_title"], size="7", as_="h1", margin_top="16px"),
        rx.cond(
            InquiryState.ticket_id > 0,
            rx.vstack(
                rx.callout(
                    T["inquiry_done"].replace("{id}", InquiryState.ticket_id.to_string()),
                    icon="circle_check",
                    color_scheme="green",
                    role="status",
                ),
                rx.button(T["inquiry_again"], variant="soft", on_click=InquiryState.write_another),
                spacing="3",
                margin_top="16px",
            ),
            rx.form(
                rx.vstack(
                    rx.text(T["inquiry_intro"], color=rx.color("gray", 11)),
                    _field(T["name"], "name", max_length=100),
                    _field(T["email"], "email", max_length=254, input_mode="email"),
                    _field(T["subject"], "subject", max_length=200),
                    _field(T["body"], "body", max_length=10000),
                    error_text(InquiryState.error),
                    rx.button(T["submit"], type="submit"),
                    spacing="3",
                    margin_top="16px",
                ),
                on_submit=InquiryState.submit,
                reset_on_submit=False,
            ),
        ),
        size="2",
        padding_y="24px",
    )
