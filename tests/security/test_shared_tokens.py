"""Shared-state tokens cannot be guessed or claimed (issue #10, attack 1).

Before: the rooms were linked under ``chat-<id>`` and the desks under ``agent-<id>``, and Reflex
loads whatever state is stored under the ``?token=`` a socket connects with, so a script that
connected with ``token=chat-1`` and sent the ordinary first hydrate received chat 1's transcript.
Here a real server is attacked with a raw socket.io client (no browser), while a customer and
an agent chat on it.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import update
from sqlmodel import select

from bench.reflex_client import AGENT, AUTH_TOKEN, CUSTOMER, VISITOR_KEY
from online_contact.models import Agent, Chat
from online_contact.realtime.reflex_internals import BROWSER_TOKEN
from online_contact.services.auth import start_session
from tests.support import run_async

from .raw_client import RecordingTab

SECRET_NAME = "비밀고객김철수"
SECRET_TEXT = "카드번호는 비밀입니다 7788"


async def _wait(predicate, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for the server")
        await asyncio.sleep(0.05)


def _chat_in_progress(server):
    """agent1 Online with a login token; returns it."""
    with server.session() as s:
        agent = s.exec(select(Agent).where(Agent.email == "agent1@example.com")).one()
        s.exec(update(Agent).where(Agent.id == agent.id).values(status="online"))
        return start_session(s, agent)


def test_a_raw_client_cannot_claim_a_room_or_a_desk(reset):
    server = reset
    login = _chat_in_progress(server)

    async def scenario():
        customer = RecordingTab(server.url, "/", {VISITOR_KEY: uuid.uuid4().hex})
        await customer.connect()
        await customer.emit(f"{CUSTOMER}.open_chat")
        await customer.emit(f"{CUSTOMER}.give_consent", form_data={"agree": "on", "name": SECRET_NAME})
        await _wait(lambda: customer.saw("고객센터입니다"))
        with server.session() as s:
            chat = s.exec(select(Chat).order_by(Chat.id.desc())).first()
            desk_key = s.get(Agent, chat.agent_id).desk_key
        assert chat.customer_name == SECRET_NAME
        agent = RecordingTab(server.url, "/agent", {AUTH_TOKEN: login})
        await agent.connect()
        await agent.emit(f"{AGENT}.load_console")
        await agent.emit(f"{AGENT}.select_chat", chat_id=chat.id)
        await _wait(lambda: agent.saw(SECRET_NAME))
        await customer.emit(f"{CUSTOMER}.send", form_data={"text": SECRET_TEXT, "client_id": uuid.uuid4().hex})
        await _wait(lambda: agent.saw(SECRET_TEXT))

        claimed = [
            f"chat-{chat.id}",  # the old room token
            f"agent-{chat.agent_id}",  # the old desk token
            f"room-{chat.room_key}",  # the room's real token (as if it had leaked)
            f"desk-{desk_key}",
            chat.room_key,
            "",
            "x" * 10_240,
            "../../etc/passwd",
            customer.token.upper(),  # not what a browser makes
        ]
        for token in claimed:
            attacker = RecordingTab(server.url, "/", token=token)
            with pytest.raises(Exception):  # socketio.exceptions.ConnectionError: refused
                await attacker.connect()
            await asyncio.sleep(0.2)
            assert attacker.received == [], token[:40]
            await attacker.close()

        # A browser-shaped token connects, and gets its own (empty) state: no transcript, no name.
        newcomer = RecordingTab(server.url, "/", token=str(uuid.uuid4()))
        await newcomer.connect()
        await _wait(lambda: newcomer.received)
        await newcomer.emit(f"{CUSTOMER}.load_help_center")
        await asyncio.sleep(0.5)
        assert not any(newcomer.saw(x) for x in (SECRET_NAME, SECRET_TEXT, chat.room_key, desk_key))
        for tab in (newcomer, agent, customer):
            await tab.close()

    run_async(scenario())


def test_the_guard_accepts_what_browsers_make_and_nothing_else():
    """The shapes Reflex's page (utils/state.js generateUUID: variant digit 8-f) and its token
    manager (uuid4) make pass; shared tokens and anything else do not."""
    for _ in range(200):
        assert BROWSER_TOKEN.fullmatch(str(uuid.uuid4()))
    assert BROWSER_TOKEN.fullmatch("0a1b2c3d-4e5f-4a6b-f7c8-0123456789ab")
    for bad in ("chat-1", "room-" + "a" * 40, "", "0A1B2C3D-4E5F-4A6B-87C8-0123456789AB", str(uuid.uuid1()), "x" * 36,
                str(uuid.uuid4()) + "\n"):
        assert not BROWSER_TOKEN.fullmatch(bad), bad
