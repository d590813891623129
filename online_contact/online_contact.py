"""Assembles the app: pages, HTTP routes. Nothing else."""

import reflex as rx

from online_contact.api import build_api
from online_contact.api.security import SecurityMiddleware
from online_contact.pages import add_pages
from online_contact.realtime import reflex_internals, wire
from online_contact.realtime.logins import login_sweep
from online_contact.realtime.presence import presence_loop
from online_contact.realtime.publish import is_shared_token
from online_contact.services.retention import retention_loop
from online_contact.services.search_upkeep import indexer_loop
from online_contact.services.seed import demo_warning_loop

app = rx.App(
    # Our routes first, then the security middleware around everything (pages, /_event, /api).
    api_transformer=[build_api(), SecurityMiddleware],
    head_components=[rx.el.script(src="/chat_input.js")],
    stylesheets=["/styles.css"],
)
reflex_internals.drop_connection_overlay(app)
# No tab can connect under a shared room's or desk's token, or any token a browser does not make.
reflex_internals.guard_connections(app, is_shared_token)
app.register_lifespan_task(presence_loop)
app.register_lifespan_task(login_sweep)
app.register_lifespan_task(demo_warning_loop)
app.register_lifespan_task(indexer_loop)
app.register_lifespan_task(retention_loop)
wire.install(app)
add_pages(app)
