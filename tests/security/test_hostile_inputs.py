"""The hostile corpus (tests/security/hostile.py, over 200 inputs: XSS in every field, SQL
metacharacters, megabyte strings, NUL and bidi characters, wrong types, huge and negative ids,
formula prefixes) pushed through every customer- and agent-facing handler, through Reflex's
real event pipeline, and through every event of the message path.

No exception escapes; what is stored is what was typed, cleaned (no control or bidi
characters, within every length limit) or nothing at all; the tabs' states stay bounded.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlmodel import select

from online_contact.models import Chat, Customer, Message, Rating, Ticket
from online_contact.realtime.wire import WireNamespace
from online_contact.services.db import engine, session_scope
from online_contact.services.text import LIMITS, clean
from tests.support import RecordingSocketServer
from tests.unit.pipeline import Client, agent_console, customer_starts_chat, names, only_agent1_online, run

from .hostile import EVERYTHING, IDS, TEXTS, WRONG_TYPES

UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_the_corpus_is_big_enough():
    assert len(EVERYTHING) >= 200


@pytest.fixture
def unlimited(monkeypatch):
    """The per-IP throttles off: the corpus comes from one address (they have their own tests)."""
    monkeypatch.setenv("OC_LIMIT_CHATS_PER_IP", "0")
    monkeypatch.setenv("OC_LIMIT_INQUIRIES_PER_IP", "0")


def _expected(value) -> str | None:
    """What a message or field should be stored as, or None when it must be refused."""
    if not isinstance(value, str):
        return None
    cleaned = clean(value).strip()
    return cleaned if 0 < len(cleaned) <= LIMITS["message"] else None


def test_hostile_inputs_through_every_handler(app, db_url, unlimited):
    n = names()
    token = only_agent1_online(db_url)
    escaped: list = []

    async def fire(tab: Client, handler: str, **payload):
        try:
            await tab.fire(handler, _pause=0, **payload)
        except Exception as exc:  # noqa: BLE001 - every one is a failure, listed at the end
            escaped.append((handler, repr(payload)[:80], repr(exc)[:200]))

    async def scenario():
        from online_contact.states.agent_console import AgentConsoleState
        from online_contact.states.customer_chat import CustomerChatState

        customer, chat = await customer_starts_chat(app, db_url, "코퍼스")
        agent = await agent_console(app, token)
        await agent.fire(f"{n.agent}.select_chat", chat_id=chat.id)

        # The customer's side.
        for i, value in enumerate(EVERYTHING):
            await fire(customer, f"{n.customer}.send", form_data={"text": value, "client_id": f"c-{i}"})
            await fire(customer, f"{n.customer}.submit_rating", form_data={"score": value, "comment": value})
            await fire(customer, f"{n.customer}.open_chat")
        for value in WRONG_TYPES + TEXTS[:20]:
            await fire(customer, f"{n.customer}.send", form_data=value)
            await fire(customer, f"{n.customer}.give_consent", form_data=value)
        for value in EVERYTHING:
            await fire(customer, f"{n.customer}.give_consent", form_data={"agree": value, "name": value, "email": value})
            await fire(customer, f"{n.lang}.set_lang", lang=value)
        inquiry = await Client(app, "/inquiry", {}).open()
        for value in EVERYTHING:
            await fire(inquiry, f"{n.inquiry}.submit", form_data={"name": "홍길동", "email": "hong@example.com", "subject": value, "body": value})
            await fire(inquiry, f"{n.inquiry}.submit", form_data={"name": value, "email": value, "subject": "문의", "body": "내용"})
        login = await Client(app, "/login", {}).open()
        for value in EVERYTHING[:40] + WRONG_TYPES:
            await fire(login, f"{n.login}.submit", form_data={"email": value, "password": value})

        # The agent's side.
        for i, value in enumerate(EVERYTHING):
            await fire(agent, f"{n.agent}.send", form_data={"text": value, "client_id": f"a-{i}"})
            await fire(agent, f"{n.agent}.set_info_name", value=value)
            await fire(agent, f"{n.agent}.set_info_email", value=value)
            await fire(agent, f"{n.agent}.set_info_memo", value=value)
            await fire(agent, f"{n.agent}.save_info")
            await fire(agent, f"{n.agent}.set_ticket_subject", value=value)
            await fire(agent, f"{n.agent}.set_ticket_body", value=value)
            await fire(agent, f"{n.agent}.set_ticket_open", value=value)
            await fire(agent, f"{n.agent}.set_status", status=value)
        for value in TEXTS[:60]:
            await fire(agent, f"{n.agent}.set_ticket_subject", value=value)
            await fire(agent, f"{n.agent}.set_ticket_body", value=value)
            await fire(agent, f"{n.agent}.create_ticket")
        for value in IDS + WRONG_TYPES:
            await fire(agent, f"{n.agent}.select_chat", chat_id=value)
            await fire(agent, f"{n.agent}.set_cat1", value=value)
            await fire(agent, f"{n.agent}.set_cat2", value=value)
            await fire(agent, f"{n.agent}.set_cat3", value=value)
            await fire(agent, f"{n.agent}.save_info")
        await agent.fire(f"{n.agent}.select_chat", chat_id=chat.id)

        # Tabs stay bounded whatever was sent.
        tab = await agent.state(AgentConsoleState)
        for field, limit in (("info_name", "name"), ("info_email", "email"), ("info_memo", "memo"),
                             ("ticket_subject", "subject"), ("ticket_body", "body")):
            assert isinstance(getattr(tab, field), str) and len(getattr(tab, field)) <= LIMITS[limit], field
        assert len(tab.error) < 200 and len(tab.composer_error) < 200
        assert len((await customer.state(CustomerChatState)).send_error) < 200
        return chat.id

    run(app, scenario)
    assert escaped == []
    _check_what_was_stored(db_url)


def _check_what_was_stored(db_url: str) -> None:
    with session_scope(db_url) as s:
        messages = s.exec(select(Message)).all()
        texts = {m.text for m in messages}
        for m in messages:
            assert not UNSAFE.search(m.text) and 0 < len(m.text) <= LIMITS["message"], m.text[:40]
        # Every valid input arrived exactly once, cleaned; nothing else did.
        wanted = {_expected(v) for v in EVERYTHING} - {None}
        assert wanted <= texts
        by_client = {}
        for m in messages:
            by_client.setdefault((m.chat_id, m.client_msg_id), []).append(m)
        assert all(len(v) == 1 for v in by_client.values())
        for chat in s.exec(select(Chat)).all():
            for value, field in ((chat.customer_name, "name"), (chat.customer_email, "email"), (chat.memo, "memo")):
                assert not UNSAFE.search(value) and len(value) <= LIMITS[field]
        for ticket in s.exec(select(Ticket)).all():
            for value, field in ((ticket.subject, "subject"), (ticket.body, "body"), (ticket.requester_name, "name")):
                assert not UNSAFE.search(value) and len(value) <= LIMITS[field]
        for rating in s.exec(select(Rating)).all():
            assert 1 <= rating.score <= 5 and not UNSAFE.search(rating.comment)
        # The SQL in the corpus is text, nothing more: it is stored as typed, every table is there.
        assert "'; DROP TABLE chat; --" in texts
    assert {"chat", "message", "agent", "authsession"} <= set(sa_inspect(engine(db_url)).get_table_names())


def test_hostile_inputs_through_every_event_of_the_message_path(session, make, db_url, monkeypatch):
    from online_contact.services.auth import start_session
    from tests.support import run_async

    monkeypatch.setenv("DATABASE_URL", db_url)
    make.offline_demo_agents()
    agent = make.agent("wire")
    chat = make.start(name="와이어")
    customer_key = session.get(Customer, chat.customer_id).visitor_key
    token = start_session(session, agent)
    session.commit()
    wire = WireNamespace()
    wire._set_server(RecordingSocketServer())
    answers: list = []

    async def scenario():
        await wire.on_connect("customer", {}, {"role": "customer", "credential": customer_key})
        await wire.on_connect("agent", {}, {"role": "agent", "credential": token})
        for i, value in enumerate(EVERYTHING):
            for sid in ("customer", "agent"):
                answers.append(await wire.on_join(sid, {"chat_id": value, "after": value}))
                answers.append(await wire.on_join(sid, value))
                answers.append(await wire.on_join(sid, {"chat_id": chat.id, "after": 0}))
                answers.append(await wire.on_send(sid, {"chat_id": chat.id, "text": value, "client_id": f"{sid}-{i}"}))
                answers.append(await wire.on_send(sid, {"chat_id": value, "text": "x", "client_id": value}))
                answers.append(await wire.on_send(sid, value))
                answers.append(await wire.on_watch(sid, {"chat_id": value}))
                answers.append(await wire.on_watch(sid, value))
            try:
                await wire.on_connect(f"odd-{i}", {}, value)
            except Exception as exc:  # noqa: BLE001 - only a refusal is fine here
                assert type(exc).__name__ == "ConnectionRefusedError", repr(exc)
            try:
                await wire.on_connect(f"odd2-{i}", {}, {"role": value, "credential": value})
            except Exception as exc:  # noqa: BLE001
                assert type(exc).__name__ == "ConnectionRefusedError", repr(exc)

    run_async(scenario())
    assert all(isinstance(a, dict) and (a.get("ok") is True or isinstance(a.get("error"), str)) for a in answers)
    # A watch is only ever of a chat that exists (and that the socket's reader may see).
    assert {room for room in wire.server.rooms if room.startswith("history-")} <= {f"history-{chat.id}"}
    _check_what_was_stored(db_url)
