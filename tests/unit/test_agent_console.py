"""The agent's chat screen through Reflex's event pipeline."""

from __future__ import annotations

from online_contact.config import MESSAGE_WINDOW
from online_contact.models import Chat
from online_contact.services import messages as message_service
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
                message_service.post_message(s, s.get(Chat, long_chat.id), "customer", f"지난 이야기 {i}")
        agent_tab = await agent_console(app, token)
        await agent_tab.fire(f"{n.agent}.select_chat", chat_id=long_chat.id)
        await agent_tab.fire(f"{n.agent}.load_older")
        assert "지난 이야기 0" in [m["text"] for m in (await agent_tab.state(AgentConsoleState)).older]

        await agent_tab.fire(f"{n.agent}.select_chat", chat_id=other.id)
        console = await agent_tab.state(AgentConsoleState)
        assert console.active_chat_id == other.id
        assert console.older == [] and console.older_next == 1

    run(app, scenario)


def test_a_refused_message_is_put_back_only_when_the_browser_cleared_it(app, db_url):
    """An empty or over-long text stays in the box (the browser keeps it); writing it back
    later would overwrite what the person typed meanwhile. A valid text the server refuses
    (the chat ended) was cleared by the browser and comes back."""
    from online_contact.models.chat import CHAT_ENDED

    n = names()
    sent: list = []

    def put_backs(tab) -> list[str]:
        found = []
        for sid, update in sent:
            if sid != tab.sid:
                continue
            for event in getattr(update, "events", None) or []:
                if event.name == "_set_value" and event.payload.get("ref") == "ref_customer_input":
                    found.append(event.payload["value"])
        return found

    async def scenario():
        only_agent1_online(db_url)
        tab, chat = await customer_starts_chat(app, db_url, "되돌리기")
        for text in ("", "   ", "가" * 2001):
            await tab.fire(f"{n.customer}.send", form_data={"text": text, "client_id": "c" + str(len(text))})
        assert put_backs(tab) == []
        with session_scope(db_url) as s:
            ended = s.get(Chat, chat.id)
            ended.customer_ended_at = ended.agent_ended_at = ended.created_at
            ended.status = CHAT_ENDED
            s.add(ended)
            s.commit()
        await tab.fire(f"{n.customer}.send", form_data={"text": "아직 있나요?", "client_id": "late"})
        assert put_backs(tab) == ["아직 있나요?"]

    run(app, scenario, sent)
