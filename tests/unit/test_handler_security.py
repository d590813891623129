"""Handlers re-check ownership: events sent straight to the server (as any client can) with
someone else's ids change nothing. Runs Reflex's real event pipeline without a browser."""

from __future__ import annotations

import uuid

import pytest
import reflex as rx
from sqlalchemy import update
from sqlmodel import select

from online_contact.models import Agent, Chat, Message
from online_contact.services.auth import start_session
from online_contact.services.db import session_scope

from .pipeline import Client, run


def test_other_customers_and_agents_cannot_touch_a_chat(app, db_url):
    from online_contact.states.agent_console import AgentConsoleState
    from online_contact.states.auth import AuthState
    from online_contact.states.customer_chat import CustomerChatState

    customer_evt = CustomerChatState.get_full_name()
    agent_evt = AgentConsoleState.get_full_name()
    visitor_var = f"{CustomerChatState.get_full_name()}.visitor_key_rx_state_"
    auth_var = f"{AuthState.get_full_name()}.auth_token_rx_state_"
    with session_scope(db_url) as s:
        s.exec(update(Agent).values(status="offline"))
        agent1 = s.exec(select(Agent).where(Agent.email == "agent1@example.com")).one()
        agent2 = s.exec(select(Agent).where(Agent.email == "agent2@example.com")).one()
        agent1.status = "online"
        s.add(agent1)
        token1, token2 = start_session(s, agent1), start_session(s, agent2)

    def messages(chat_id):
        with session_scope(db_url) as s:
            return [m.text for m in s.exec(select(Message).where(Message.chat_id == chat_id))]

    async def scenario():
        alice = await Client(app, "/", {visitor_var: uuid.uuid4().hex}).open()
        await alice.fire(f"{customer_evt}.open_chat")
        await alice.fire(f"{customer_evt}.give_consent", form_data={"agree": "on", "name": "앨리스"})
        with session_scope(db_url) as s:
            chat = s.exec(select(Chat).order_by(Chat.id.desc())).first()
        assert chat.customer_name == "앨리스" and chat.agent_id == agent1.id
        await alice.fire(f"{customer_evt}.send", form_data={"text": "앨리스의 메시지", "client_id": "a1"})
        assert "앨리스의 메시지" in messages(chat.id)
        before = messages(chat.id)

        # Another customer cannot reach Alice's chat, whatever it sends.
        mallory = await Client(app, "/", {visitor_var: uuid.uuid4().hex}).open()
        with pytest.raises(AttributeError):  # backend-only vars cannot be set from a client
            await mallory.fire(f"{customer_evt}.setvar", var_name="_chat_id", value=chat.id)
        await mallory.fire(f"{customer_evt}.send", form_data={"text": "끼어들기", "client_id": "m1"})
        await mallory.fire(f"{customer_evt}.end_chat")
        await mallory.fire(f"{customer_evt}.submit_rating", form_data={"score": "1"})
        assert messages(chat.id) == before
        with session_scope(db_url) as s:
            assert s.get(Chat, chat.id).customer_ended_at is None

        # Agent 2 cannot open, write to, read or end agent 1's chat.
        other = await Client(app, "/agent", {auth_var: token2}).open()
        await other.fire(f"{agent_evt}.select_chat", chat_id=chat.id)
        assert (await other.state(AgentConsoleState)).active_chat_id == 0
        with pytest.raises(AttributeError):  # no setter for it: clients cannot set it
            await other.fire(f"{agent_evt}.setvar", var_name="active_chat_id", value=chat.id)
        # Even with the id forced into its state, every handler re-checks the chat's owner.
        async with app.modify_state(rx.BaseStateToken(ident=other.token, cls=AgentConsoleState)) as root:
            (await root.get_state(AgentConsoleState)).active_chat_id = chat.id
        await other.fire(f"{agent_evt}.send", form_data={"text": "남의 채팅", "client_id": "o1"})
        await other.fire(f"{agent_evt}.end_chat")
        await other.fire(f"{agent_evt}.request_rating")
        assert messages(chat.id) == before
        with session_scope(db_url) as s:
            stored = s.get(Chat, chat.id)
            assert stored.agent_ended_at is None and stored.rating_requested_at is None
            assert stored.agent_opened_at is None

        # A tab without a login cannot change anyone's status.
        anonymous = await Client(app, "/agent", {}).open()
        await anonymous.fire(f"{agent_evt}.set_status", status="online")
        with session_scope(db_url) as s:
            assert s.get(Agent, agent2.id).status == "offline"

        # The rightful agent can.
        owner = await Client(app, "/agent", {auth_var: token1}).open()
        await owner.fire(f"{agent_evt}.select_chat", chat_id=chat.id)
        await owner.fire(f"{agent_evt}.send", form_data={"text": "담당 상담원 답변", "client_id": "g1"})
        assert "담당 상담원 답변" in messages(chat.id)

    run(app, scenario)
