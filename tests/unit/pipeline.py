"""Reflex's real event pipeline without a browser: tabs as tokens, events as the browser sends them."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import uuid

import reflex as rx
from reflex_base.event import Event


ROOT = "reflex___state____state"


class Client:
    """One tab: a token, its storage, and events sent as the browser would."""

    def __init__(self, app, path: str, storage: dict[str, str]):
        self.app, self.path, self.storage = app, path, storage
        self.token = uuid.uuid4().hex
        self.sid = uuid.uuid4().hex

    async def fire(self, name: str, **payload) -> None:
        router_data = {"token": self.token, "pathname": self.path, "query": {}, "sid": self.sid,
                       "headers": {"user-agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/131.0"}, "ip": "10.0.0.9"}
        fut = await self.app.event_processor.enqueue(self.token, Event(name=name, payload=payload, router_data=router_data))
        await fut.wait_all()
        await asyncio.sleep(0.05)

    async def open(self) -> "Client":
        await self.app.event_namespace._token_manager.link_token_to_sid(self.token, self.sid)
        await self.fire(f"{ROOT}.hydrate_and_load", vars=self.storage)
        return self

    async def state(self, cls):
        root = await self.app.state_manager.get_state(rx.BaseStateToken(ident=self.token, cls=cls))
        return await root.get_state(cls)


def run(app, scenario, sent: list | None = None):
    """Run `scenario` against the app's event processor. What the server emits to sockets is
    appended to `sent` as (sid, StateUpdate) when a list is given."""

    async def main():
        # Each scenario starts with no states: shared tokens such as 'chat-1' would otherwise
        # carry over from another test's database.
        from reflex.istate.manager import StateManager

        app._state_manager = StateManager.create()
        async with app._setup_event_processor():
            async def emit(_event, data=None, to=None, **_kwargs):
                if sent is not None:
                    sent.append((to, data))

            app.event_namespace.emit = emit
            await scenario()

    # In its own thread: when the browser tests ran first in this process, Playwright's sync
    # API keeps an event loop running on the main thread, where asyncio.run() is refused.
    errors: list[BaseException] = []

    context = contextvars.copy_context()  # Reflex keeps its app registration in context vars

    def target():
        try:
            context.run(asyncio.run, main())
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    worker = threading.Thread(target=target)
    worker.start()
    worker.join(timeout=120)
    if errors:
        raise errors[0]
    assert not worker.is_alive(), "the scenario did not finish"


