"""Reflex configuration. Every field can be overridden with REFLEX_<FIELD>; see README."""

import os

import reflex as rx

from online_contact.config import database_url, max_event_bytes, public_origins, redis_url, trusted_proxy_hops

# The largest websocket message a client may send (socket.io's limit; Reflex's default is 1 MB).
os.environ.setdefault("REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE", str(max_event_bytes()))

_redis = redis_url()

config = rx.Config(
    app_name="online_contact",
    db_url=database_url(),
    redis_url=_redis,
    # Without Redis there is one worker; `reflex run` wipes the disk manager at start anyway, so
    # memory saves the per-event pickling to disk.
    state_manager_mode="redis" if _redis else "memory",
    telemetry_enabled=False,
    # Websocket (socket.io checks Origin) and CORS: only the app's own public origins.
    cors_allowed_origins=public_origins(),
    # X-Forwarded-For is believed only from this many proxies (OC_TRUSTED_PROXY_HOPS).
    trusted_proxy_hops=trusted_proxy_hops(),
    show_built_with_reflex=False,
    plugins=[rx.plugins.SitemapPlugin(), rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo", radius="medium"))],
)
