"""Reflex's real event pipeline without a browser: tabs as tokens, events as the browser sends them."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import uuid
from urllib.parse import urlencode

import reflex as rx
from reflex_base.event import Event


ROOT = "reflex___state____state"


class Client:
    """One tab: a token, its storage, and events sent as the browser would."""

    def __init__(self, app, path: str, storage: dict[str, str]):
        self.app, self.path, self.storage = app, path, storage
        self.token = uuid.uuid4().hex
        self.sid = uuid.uuid4().hex

    ip = "10.0.0.9"
    query: dict[str, str] = {}  # the page's query parameters

    async def fire(self, name: str, /, _pause: float = 0.05, **payload) -> None:
        """Send one event and wait until it and the events it queued are handled (then a short
        pause for the fan-out tasks it started)."""
        router_data = {"token": self.token, "pathname": self.path, "query": {},
                       "asPath": self.path + ("?" + urlencode(self.query) if self.query else ""), "sid": self.sid,
                       "headers": {"user-agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/131.0"}, "ip": self.ip}
        fut = await self.app.event_processor.enqueue(self.token, Event(name=name, payload=payload, router_data=router_data))
        await fut.wait_all()
        await asyncio.sleep(_pause)

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




def names():
    """Event and storage names of the customer's and the agent's states."""
    from types import SimpleNamespace

    from online_contact.states.agent_console import AgentConsoleState
    from online_contact.states.auth import AuthState, LoginState
    from online_contact.states.customer_chat import CustomerChatState
    from online_contact.states.inquiry import InquiryState
    from online_contact.states.lang import LangState

    return SimpleNamespace(
        customer=CustomerChatState.get_full_name(),
        agent=AgentConsoleState.get_full_name(),
        auth_state=AuthState.get_full_name(),
        login=LoginState.get_full_name(),
        inquiry=InquiryState.get_full_name(),
        lang=LangState.get_full_name(),
        visitor=f"{CustomerChatState.get_full_name()}.visitor_key_rx_state_",
        auth=f"{AuthState.get_full_name()}.auth_token_rx_state_",
    )


def only_agent1_online(db_url: str) -> str:
    """The demo's agent1 is the only Online agent; returns a login token of theirs."""
    from sqlalchemy import update
    from sqlmodel import select

    from online_contact.models import Agent
    from online_contact.services.auth import start_session
    from online_contact.services.db import session_scope

    with session_scope(db_url) as s:
        s.exec(update(Agent).values(status="offline"))
        agent = s.exec(select(Agent).where(Agent.email == "agent1@example.com")).one()
        agent.status = "online"
        s.add(agent)
        return start_session(s, agent)


async def customer_starts_chat(app, db_url: str, name: str, visitor: str | None = None):
    """A customer tab that gives consent and starts a chat; returns (tab, chat)."""
    from sqlmodel import select

    from online_contact.models import Chat
    from online_contact.services.db import session_scope

    n = names()
    tab = await Client(app, "/", {n.visitor: visitor or uuid.uuid4().hex}).open()
    await tab.fire(f"{n.customer}.open_chat")
    await tab.fire(f"{n.customer}.give_consent", form_data={"agree": "on", "name": name})
    with session_scope(db_url) as s:
        chat = s.exec(select(Chat).order_by(Chat.id.desc())).first()
    return tab, chat


async def agent_console(app, token: str) -> Client:
    """An agent tab on /agent after its page loaded (the browser sends the on_load)."""
    n = names()
    tab = await Client(app, "/agent", {n.auth: token}).open()
    await tab.fire(f"{n.agent}.load_console")
    return tab
