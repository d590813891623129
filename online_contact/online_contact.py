"""Assembles the app: pages, HTTP routes. Nothing else."""

import reflex as rx

from online_contact import routes
from online_contact.api import build_api
from online_contact.realtime import reflex_internals, wire
from online_contact.realtime.logins import login_sweep
from online_contact.realtime.presence import presence_loop
from online_contact.realtime.publish import is_shared_token
from online_contact.pages.agent import agent_home, tickets
from online_contact.pages.help_center import help_center, widget
from online_contact.pages.inquiry import inquiry
from online_contact.pages.login import login
from online_contact.states.agent_console import AgentConsoleState, TicketListState
from online_contact.states.auth import LoginState
from online_contact.states.customer_chat import CustomerChatState
from online_contact.states.inquiry import InquiryState

app = rx.App(
    api_transformer=build_api(),
    head_components=[rx.el.script(src="/chat_input.js")],
    stylesheets=["/styles.css"],
)
reflex_internals.drop_connection_overlay(app)
# No tab can connect under a shared room's or desk's token, or any token a browser does not make.
reflex_internals.guard_connections(app, is_shared_token)
app.register_lifespan_task(presence_loop)
app.register_lifespan_task(login_sweep)
wire.install(app)
app.add_page(help_center, route=routes.HELP_CENTER, title="헬프센터", on_load=CustomerChatState.load_help_center)
app.add_page(widget, route=routes.WIDGET, title="채팅", on_load=CustomerChatState.load_widget)
app.add_page(inquiry, route=routes.INQUIRY, title="1:1 문의", on_load=InquiryState.load_inquiry)
app.add_page(login, route=routes.LOGIN, title="상담원 로그인", on_load=LoginState.load_login)
app.add_page(agent_home, route=routes.AGENT, title="상담원", on_load=AgentConsoleState.load_console)
app.add_page(tickets, route=routes.TICKETS, title="티켓", on_load=TicketListState.load_tickets)
