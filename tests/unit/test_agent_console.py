"""The agent's chat screen through Reflex's event pipeline."""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlmodel import select

from online_contact.config import MESSAGE_WINDOW
from online_contact.models import Agent, Chat
from online_contact.services import chats as chat_service
from online_contact.services.auth import start_session
from online_contact.services.db import session_scope

from .pipeline import Client, run


def test_older_messages_of_one_chat_never_show_in_the_next(app, db_url):
    from online_contact.states.agent_console import AgentConsoleState
    from online_contact.states.auth import AuthState
    from online_contact.states.customer_chat import CustomerChatState

    customer_evt, agent_evt = CustomerChatState.get_full_name(), AgentConsoleState.get_full_name()
    with session_scope(db_url) as s:
        s.exec(update(Agent).values(status="offline"))
        agent = s.exec(select(Agent).where(Agent.email == "agent1@example.com")).one()
        agent.status = "online"
        s.add(agent)
        token = start_session(s, agent)

    async def scenario():
        chats = []
        for name in ("긴대화", "새고객"):
            customer = await Client(app, "/", {f"{customer_evt}.visitor_key_rx_state_": uuid.uuid4().hex}).open()
            await customer.fire(f"{customer_evt}.open_chat")
            await customer.fire(f"{customer_evt}.give_consent", form_data={"agree": "on", "name": name})
            with session_scope(db_url) as s:
                chats.append(s.exec(select(Chat).order_by(Chat.id.desc())).first())
        long_chat, other = chats
        with session_scope(db_url) as s:
            for i in range(MESSAGE_WINDOW + 10):
                chat_service.post_message(s, s.get(Chat, long_chat.id), "customer", f"지난 이야기 {i}")
        agent_tab = await Client(app, "/agent", {f"{AuthState.get_full_name()}.auth_token_rx_state_": token}).open()
        await agent_tab.fire(f"{agent_evt}.load_console")
        await agent_tab.fire(f"{agent_evt}.select_chat", chat_id=long_chat.id)
        await agent_tab.fire(f"{agent_evt}.load_older")
        assert "지난 이야기 0" in [m["text"] for m in (await agent_tab.state(AgentConsoleState)).older]

        await agent_tab.fire(f"{agent_evt}.select_chat", chat_id=other.id)
        console = await agent_tab.state(AgentConsoleState)
        assert console.active_chat_id == other.id
        assert console.older == [] and console.older_next == 1

    run(app, scenario)
