"""A headless Reflex client: speaks the app's event protocol over socket.io, as the browser does.

Used by the benchmarks to open hundreds of customer and agent "tabs" without browsers.
The protocol (Reflex 0.10.1, reflex/app.py EventNamespace and .web/utils/state.js):
- connect to namespace /_event at socket.io path /_event with ?token=<tab token>; the CONNECT packet's auth carries the first event,
  `<root>.hydrate_and_load`, with the page's router_data and the client-storage values;
- send events as ("event", {"name": "<state path>.<handler>", "payload": {...}, "router_data": {...}});
- the server answers with ("event", StateUpdate) messages holding deltas.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable

import socketio

NAMESPACE = "/_event"  # the browser's io("<origin>/_event", {path: "/_event"}) means this namespace
WIRE = "/_wire"  # the message path (online_contact/realtime/wire.py), on the same connection
ROOT = "reflex___state____state"
CUSTOMER = f"{ROOT}.online_contact___states___customer_chat____customer_chat_state"
AUTH = f"{ROOT}.online_contact___states___auth____auth_state"
AGENT = f"{AUTH}.online_contact___states___agent_console____agent_console_state"
VISITOR_KEY = f"{CUSTOMER}.visitor_key_rx_state_"
AUTH_TOKEN = f"{AUTH}.auth_token_rx_state_"


class Watching:
    """Waits for a text to arrive in any incoming update (the receiving side of a latency sample)."""

    watchers: list[Callable[[str, float], None]]

    def _deliver(self, raw: str, now: float) -> None:
        for watch in list(self.watchers):
            watch(raw, now)

    async def wait_for(self, text: str, timeout: float = 30.0) -> float:
        """Wait until an update containing `text` arrives; return its arrival time."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[float] = loop.create_future()

        def watch(raw: str, now: float) -> None:
            if text in raw and not fut.done():
                fut.set_result(now)

        self.watchers.append(watch)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self.watchers.remove(watch)


class Tab(Watching):
    """One browser tab's websocket."""

    def __init__(self, base_url: str, path: str, storage: dict[str, str] | None = None, wire: dict | None = None):
        """`wire`: the message path's auth ({role, credential}) to open it as the page does."""
        self.base_url = base_url
        self.wire = wire
        self.path = path
        self.storage = storage or {}
        self.token = str(uuid.uuid4())
        self.sio = socketio.AsyncClient(reconnection=False)
        self.watchers: list[Callable[[str, float], None]] = []
        self.updates = 0
        self.sio.on("event", self._on_event, namespace=NAMESPACE)
        self.sio.on("message", self._on_message, namespace=WIRE)

    def _router_data(self) -> dict:
        return {"pathname": self.path, "asPath": self.path, "query": {}}

    async def _on_event(self, data) -> None:
        now = time.perf_counter()
        raw = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        self.updates += 1
        self._deliver(raw, now)

    async def _on_message(self, data) -> None:
        """A message over the wire: only its text is looked at."""
        self._deliver(str(data.get("text", "")) if isinstance(data, dict) else str(data), time.perf_counter())

    async def connect(self) -> None:
        hydrate = {
            "name": f"{ROOT}.hydrate_and_load",
            "payload": {"vars": self.storage},
            "router_data": self._router_data(),
        }
        await self.sio.connect(
            f"{self.base_url}?token={self.token}",
            socketio_path="/_event",
            transports=["websocket"],
            # One auth for both namespaces: Reflex reads "event", the wire "role" and "credential".
            auth={"event": hydrate, **(self.wire or {})},
            namespaces=[NAMESPACE, WIRE] if self.wire else [NAMESPACE],
            wait_timeout=30,
        )

    async def emit(self, handler: str, **payload) -> None:
        await self.sio.emit(
            "event", {"name": handler, "payload": payload, "router_data": self._router_data()}, namespace=NAMESPACE
        )

    async def join(self, chat_id: int) -> dict:
        return await self.sio.call("join", {"chat_id": chat_id, "after": 0}, namespace=WIRE, timeout=30)

    async def send(self, chat_id: int, text: str) -> dict:
        """Send a message over the wire, as the composer does; returns the server's answer."""
        return await self.sio.call(
            "send", {"chat_id": chat_id, "client_id": uuid.uuid4().hex, "text": text}, namespace=WIRE, timeout=30
        )

    async def close(self) -> None:
        await self.sio.disconnect()
