"""The agent's chat screen through Reflex's event pipeline."""

from __future__ import annotations

from online_contact.config import MESSAGE_WINDOW
from online_contact.models import Chat
from online_contact.services import chats as chat_service
from online_contact.services.db import session_scope

from .pipeline import agent_console, customer_starts_chat, names, only_agent1_online, run


def test_older_messages_of_one_chat_never_show_in_the_next(app, db_url):
    from online_contact.states.agent_console import AgentConsoleState

    n, token = names(), only_agent1_online(db_url)

    async def scenario():
        _, long_chat = await customer_starts_chat(app, db_url, "긴대화")
        _, other = await customer_starts_chat(app, db_url, "새고객")
        with session_scope(db_url) as s:
            for i in range(MESSAGE_WINDOW + 10):
                chat_service.post_message(s, s.get(Chat, long_chat.id), "customer", f"지난 이야기 {i}")
        agent_tab = await agent_console(app, token)
        await agent_tab.fire(f"{n.agent}.select_chat", chat_id=long_chat.id)
        await agent_tab.fire(f"{n.agent}.load_older")
        assert "지난 이야기 0" in [m["text"] for m in (await agent_tab.state(AgentConsoleState)).older]

        await agent_tab.fire(f"{n.agent}.select_chat", chat_id=other.id)
        console = await agent_tab.state(AgentConsoleState)
        assert console.active_chat_id == other.id
        assert console.older == [] and console.older_next == 1

    run(app, scenario)
