"""Leaving Online hands unopened chats back (issue #10, attack 3): one rule, every path.

Before: an agent who went 휴식 or 오프라인, or logged out, kept the chats assigned to them that
they never opened, and the customer waited for nobody; only the presence pass re-queued, and
only for agents still marked Online.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlmodel import select

from online_contact.models import Agent, Chat, ChatAssignment
from online_contact.models.agent import STATUS_BREAK, STATUS_OFFLINE, STATUS_ONLINE
from online_contact.models.chat import CHAT_OPEN, CHAT_WAITING
from online_contact.services import agents as agent_service
from online_contact.services import chats as chat_service
from online_contact.services import routing
from online_contact.services.auth import start_session
from online_contact.services.db import session_scope

from .pipeline import Client, customer_starts_chat, names, run


@pytest.fixture
def two_agents(make):
    """leaver (Online, one opened and one unopened chat) and stayer (Online, limit 5)."""
    make.offline_demo_agents()
    leaver = make.agent("leaver", max_open_chats=2)
    opened = make.start(name="열어본 고객")
    unopened = make.start(name="안 열어본 고객")
    assert opened.agent_id == unopened.agent_id == leaver.id
    chat_service.mark_opened(make.session, opened, leaver)
    stayer = make.agent("stayer", max_open_chats=5)
    return leaver, stayer, opened, unopened


def _history(session, chat_id):
    return [(h.agent_id, h.release_reason, h.released_at is not None) for h in routing.assignment_history(session, chat_id)]


@pytest.mark.parametrize(
    ("leave", "reason"),
    [
        (lambda s, a: agent_service.set_status(s, a, STATUS_BREAK), "agent_break"),
        (lambda s, a: agent_service.set_status(s, a, STATUS_OFFLINE), "agent_offline"),
        (lambda s, a: agent_service.leave_online(s, a, STATUS_OFFLINE, "agent_logout"), "agent_logout"),
        (lambda s, a: agent_service.leave_online(s, a, STATUS_OFFLINE, "agent_away"), "agent_away"),
        (lambda s, a: agent_service.deactivate(s, a), "agent_deactivated"),
    ],
    ids=["break", "offline", "logout", "presence", "deactivated"],
)
def test_every_way_of_leaving_hands_the_unopened_chat_to_another_agent(session, make, two_agents, leave, reason):
    leaver, stayer, opened, unopened = two_agents
    change = leave(session, make.reload(Agent, leaver.id))
    assert change.moved == [unopened.id]
    assert [(a.chat_id, a.agent_id) for a in change.assignments] == [(unopened.id, stayer.id)]
    moved = make.reload(Chat, unopened.id)
    assert (moved.agent_id, moved.status, moved.assignment_reason) == (stayer.id, CHAT_OPEN, "balanced")
    assert _history(session, unopened.id) == [(leaver.id, reason, True), (stayer.id, "", False)]
    # The chat the leaver opened stays theirs, and the slots add up.
    assert make.reload(Chat, opened.id).agent_id == leaver.id
    assert make.reload(Agent, leaver.id).open_chat_count == 1
    assert make.reload(Agent, stayer.id).open_chat_count == 1


def test_with_nobody_else_eligible_the_chat_waits_in_the_queue(session, make, two_agents):
    leaver, stayer, _opened, unopened = two_agents
    agent_service.set_status(session, make.reload(Agent, stayer.id), STATUS_OFFLINE)
    change = agent_service.set_status(session, make.reload(Agent, leaver.id), STATUS_BREAK)
    assert change.moved == [unopened.id] and change.assignments == []
    waiting = make.reload(Chat, unopened.id)
    assert (waiting.agent_id, waiting.status) == (None, CHAT_WAITING)
    assert routing.queue_position(session, waiting) == 1
    # Back from the break: the chat is the leaver's again (the queue drains to whoever is eligible).
    back = agent_service.set_status(session, make.reload(Agent, leaver.id), STATUS_ONLINE)
    assert [(a.chat_id, a.agent_id) for a in back.assignments] == [(unopened.id, leaver.id)]


def test_the_status_switch_and_logout_hand_back_through_the_real_handlers(app, db_url):
    """What the agent's screen does: 휴식 on the switch, then 로그아웃 after going Online again."""
    n = names()
    with session_scope(db_url) as s:
        s.exec(update(Agent).values(status="offline"))
        a1 = s.exec(select(Agent).where(Agent.email == "agent1@example.com")).one()
        a2 = s.exec(select(Agent).where(Agent.email == "agent2@example.com")).one()
        a1.status = a2.status = "online"
        token1 = start_session(s, a1)
        a1_id, a2_id = a1.id, a2.id

    def limit_agent2(limit):
        with session_scope(db_url) as s:
            s.exec(update(Agent).where(Agent.id == a2_id).values(max_open_chats=limit))

    def stored(chat_id):
        with session_scope(db_url) as s:
            return s.get(Chat, chat_id)

    async def scenario():
        tab = await Client(app, "/agent", {n.auth: token1}).open()
        await tab.fire(f"{n.agent}.load_console")
        limit_agent2(0)  # full: new chats go to agent1
        _c, first = await customer_starts_chat(app, db_url, "첫째")
        assert first.agent_id == a1_id
        limit_agent2(None)
        await tab.fire(f"{n.agent}.set_status", status="break")
        assert stored(first.id).agent_id == a2_id

        await tab.fire(f"{n.agent}.set_status", status="online")
        limit_agent2(0)
        _c, second = await customer_starts_chat(app, db_url, "둘째")
        assert second.agent_id == a1_id
        limit_agent2(None)
        await tab.fire(f"{n.auth_state}.logout")
        assert stored(second.id).agent_id == a2_id
        with session_scope(db_url) as s:
            released = s.exec(select(ChatAssignment).where(ChatAssignment.chat_id == second.id, ChatAssignment.agent_id == a1_id)).one()
            assert released.release_reason == "agent_logout"

    run(app, scenario)
