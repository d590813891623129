"""A login that ends, ends everywhere at once (issue #10, attack 2).

Before: tab A and tab B of one agent; B logs out; the customer keeps writing, and A kept
receiving every message through the room's fan-out (the message path let its socket go only
after ~30 s). Here every way a login ends (logout, 모든 기기에서 로그아웃, expiry, deactivation)
is followed, through Reflex's real event pipeline and the message path's namespace, until the
fan-out tasks it started have finished: then no tab of that login gets anything more.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import reflex as rx
from sqlalchemy import update
from sqlmodel import select

from online_contact.models import Agent, AuthSession, Chat
from online_contact.models._base import utcnow
from online_contact.realtime import AgentDesk, ChatRoom
from online_contact.realtime import reflex_internals as internals
from online_contact.realtime.logins import SWEEP_SECONDS, sweep_once
from online_contact.realtime.publish import desk_token, publish_desk, room_token
from online_contact.realtime.wire import WIRE
from online_contact.services import agents as agent_service
from online_contact.services.auth import hash_token, start_session
from online_contact.services.db import session_scope
from online_contact.states.agent_console import AgentConsoleState
from online_contact.states.auth import AuthState
from tests.unit.pipeline import Client, agent_console, customer_starts_chat, names, only_agent1_online, run

SECRET = "주문번호 A-1234 배송지 변경해 주세요"


def another_login(db_url: str, email: str) -> str:
    """A login of the same (or another) agent, as from another browser."""
    with session_scope(db_url) as s:
        return start_session(s, s.exec(select(Agent).where(Agent.email == email)).one())


async def settle() -> None:
    """Wait until every fan-out and sign-out task started so far has finished (the signal that
    the server is done pushing, instead of a sleep)."""
    for _ in range(50):
        pending = [t for t in internals._TASKS if not t.done()]
        if not pending:
            await asyncio.sleep(0.01)
            if not [t for t in internals._TASKS if not t.done()]:
                return
            continue
        await asyncio.gather(*pending, return_exceptions=True)
    raise AssertionError("fan-out tasks kept coming")


def to(sent: list, tab: Client) -> list:
    return [update for sid, update in sent if sid == tab.sid]


def saw(sent: list, tab: Client, text: str) -> bool:
    return any(text in repr(update) for update in to(sent, tab))


def redirected_to_login(sent: list, tab: Client) -> bool:
    return any(e.name == "_redirect" and "/login" in str(e.payload) for u in to(sent, tab) for e in getattr(u, "events", []))


async def linked(app, token: str, cls) -> set[str]:
    root = await app.state_manager.get_state(rx.BaseStateToken(ident=token, cls=cls))
    return internals.linked_tabs(await root.get_state(cls))


async def agent_tab(app, token: str, chat_id: int | None = None) -> Client:
    tab = await agent_console(app, token)
    if chat_id:
        await tab.fire(f"{names().agent}.select_chat", chat_id=chat_id)
    return tab


async def two_tabs_and_a_customer(app, db_url, token, wire_sockets):
    """Customer chatting with agent1; agent1's tabs A (showing the chat) and B (chat list),
    same login (same browser); A's message-path socket connected."""
    customer, chat = await customer_starts_chat(app, db_url, "고객")
    a = await agent_tab(app, token, chat.id)
    b = await agent_tab(app, token)
    await WIRE.on_connect("wire-a", {}, {"role": "agent", "credential": token})
    await WIRE.on_join("wire-a", {"chat_id": chat.id, "after": 0})
    return customer, chat, a, b


async def assert_signed_out(app, sent, chat, tab: Client, customer: Client, agent_id: int, wire_sockets, sid="wire-a"):
    n = names()
    assert redirected_to_login(sent, tab)
    assert tab.token not in await linked(app, room_token(chat.id), ChatRoom)
    assert tab.token not in await linked(app, desk_token(agent_id), AgentDesk)
    state = await tab.state(AgentConsoleState)
    assert (state.agent_id, state.auth_token, state.info_name, state.active_chat_id) == (0, "", "", 0)
    assert sid in wire_sockets.disconnected
    # The customer keeps writing; the desk and the room change: nothing reaches the tab.
    sent.clear()
    await customer.fire(f"{n.customer}.send", form_data={"text": SECRET, "client_id": f"after-{tab.token[:6]}"})
    publish_desk(agent_id)
    await settle()
    assert to(sent, tab) == []
    # Nor does the tab count as present any more.
    from online_contact.realtime.presence import _connected_tabs

    assert await _connected_tabs(agent_id) == 0


def test_logout_in_one_tab_stops_every_push_to_the_other(app, db_url, wire_sockets):
    n, token = names(), only_agent1_online(db_url)
    sent: list = []

    async def scenario():
        customer, chat, a, b = await two_tabs_and_a_customer(app, db_url, token, wire_sockets)
        await customer.fire(f"{n.customer}.send", form_data={"text": "처음 메시지", "client_id": "c0"})
        await settle()
        assert saw(sent, a, "처음 메시지")  # the control: A does get the chat while logged in

        sent.clear()
        await b.fire(f"{n.auth_state}.logout")
        await settle()
        assert redirected_to_login(sent, b)
        await assert_signed_out(app, sent, chat, a, customer, chat.agent_id, wire_sockets)
        with session_scope(db_url) as s:
            login = s.exec(select(AuthSession).where(AuthSession.token_hash == hash_token(token))).one()
            assert (login.end_reason, s.get(Agent, chat.agent_id).status) == ("logout", "offline")

    run(app, scenario, sent)


def test_log_out_everywhere_ends_the_logins_of_other_browsers(app, db_url, wire_sockets):
    n, token = names(), only_agent1_online(db_url)
    other_browser = another_login(db_url, "agent1@example.com")
    sent: list = []

    async def scenario():
        customer, chat, a, _b = await two_tabs_and_a_customer(app, db_url, token, wire_sockets)
        c = await agent_tab(app, other_browser)
        sent.clear()
        await c.fire(f"{n.auth_state}.logout_everywhere")
        await settle()
        await assert_signed_out(app, sent, chat, a, customer, chat.agent_id, wire_sockets)
        with session_scope(db_url) as s:
            reasons = {r.end_reason for r in s.exec(select(AuthSession).where(AuthSession.agent_id == chat.agent_id))}
        assert reasons == {"logout_all"}

    run(app, scenario, sent)


def test_an_expired_login_is_signed_out_by_the_sweep_and_its_chats_handed_back(app, db_url, wire_sockets):
    n, token = names(), only_agent1_online(db_url)
    sent: list = []
    assert SWEEP_SECONDS <= 1.0  # every worker sweeps this often: "within 2 s"

    async def scenario():
        customer, chat, a, _b = await two_tabs_and_a_customer(app, db_url, token, wire_sockets)
        # A second chat that agent1 never opened, and agent2 Online to take it.
        waiting, unopened = await customer_starts_chat(app, db_url, "두번째 고객")
        with session_scope(db_url) as s:
            assert s.get(Chat, unopened.id).agent_id == chat.agent_id
            s.exec(update(AuthSession).where(AuthSession.token_hash == hash_token(token)).values(expires_at=utcnow() - timedelta(seconds=1)))
            s.exec(update(Agent).where(Agent.email == "agent2@example.com").values(status="online"))
        sent.clear()
        ended = await sweep_once()
        assert [e.agent_id for e in ended] == [chat.agent_id]
        await settle()
        await assert_signed_out(app, sent, chat, a, customer, chat.agent_id, wire_sockets)
        assert await sweep_once() == []  # ends once
        with session_scope(db_url) as s:
            handed = s.get(Chat, unopened.id)
            agent2 = s.exec(select(Agent).where(Agent.email == "agent2@example.com")).one()
            assert handed.agent_id == agent2.id  # the unopened chat went to the other agent
            assert s.get(Chat, chat.id).agent_id == chat.agent_id  # the opened one stays
            assert s.get(Agent, chat.agent_id).status == "offline"

    run(app, scenario, sent)


def test_deactivation_signs_the_agent_out_and_other_agents_keep_their_login(app, db_url, wire_sockets):
    n, token = names(), only_agent1_online(db_url)
    with session_scope(db_url) as s:
        agent2 = s.exec(select(Agent).where(Agent.email == "agent2@example.com")).one()
        other_agent = start_session(s, agent2)
    sent: list = []

    async def scenario():
        customer, chat, a, _b = await two_tabs_and_a_customer(app, db_url, token, wire_sockets)
        bystander = await agent_tab(app, other_agent)
        await WIRE.on_connect("wire-other", {}, {"role": "agent", "credential": other_agent})
        with session_scope(db_url) as s:
            agent_service.deactivate(s, s.get(Agent, chat.agent_id))
        sent.clear()
        await sweep_once()
        await settle()
        await assert_signed_out(app, sent, chat, a, customer, chat.agent_id, wire_sockets)
        assert not redirected_to_login(sent, bystander)
        assert "wire-other" not in wire_sockets.disconnected
        assert (await bystander.state(AuthState)).agent_id == agent2.id

    run(app, scenario, sent)


def test_a_tab_of_the_same_agent_with_another_live_login_stays(app, db_url, wire_sockets):
    """Two browsers of one agent: logging out in one leaves the other logged in."""
    n, token = names(), only_agent1_online(db_url)
    second = another_login(db_url, "agent1@example.com")
    sent: list = []

    async def scenario():
        customer, chat, a, b = await two_tabs_and_a_customer(app, db_url, token, wire_sockets)
        other_browser = await agent_tab(app, second, chat.id)
        await b.fire(f"{n.auth_state}.logout")
        await settle()
        assert redirected_to_login(sent, a) and not redirected_to_login(sent, other_browser)
        sent.clear()
        await customer.fire(f"{n.customer}.send", form_data={"text": SECRET, "client_id": "still"})
        await settle()
        assert saw(sent, other_browser, SECRET) and not saw(sent, a, SECRET)

    run(app, scenario, sent)


def test_login_tokens_are_stored_only_as_their_sha256(db_url):
    import hashlib

    with session_scope(db_url) as s:
        agent = s.exec(select(Agent).where(Agent.email == "agent1@example.com")).one()
        token = start_session(s, agent)
    with session_scope(db_url) as s:
        rows = s.exec(select(AuthSession)).all()
        assert [r.token_hash for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
        dumped = repr([r.model_dump() for r in rows])
    assert token not in dumped
    # Nor anywhere in the database's files.
    from pathlib import Path

    path = Path(db_url.removeprefix("sqlite:///"))
    for f in (path, path.with_name(path.name + "-wal")):
        assert not f.exists() or token.encode() not in f.read_bytes()
