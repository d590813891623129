"""The message path's server side (realtime/wire.py): who may connect, join and send, what is
stored, and who gets what. The namespace runs against a recording stand-in for the socket.io
server (rooms, sessions, emits), on a real database. Between workers: tests/integration/test_wire_relay.py."""

from __future__ import annotations

import pytest
import socketio
from sqlmodel import select

from online_contact.models import Customer, Message
from online_contact.realtime.wire import WireNamespace
from online_contact.services import chats as chat_service
from online_contact.services.auth import end_session, hash_token, start_session
from tests.support import RecordingSocketServer as Server
from tests.support import run_async as run


@pytest.fixture
def wire(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    ns = WireNamespace()
    ns._set_server(Server())
    return ns


def texts(session, chat_id) -> list[str]:
    session.expire_all()
    return [m.text for m in session.exec(select(Message).where(Message.chat_id == chat_id).order_by(Message.seq))]


def test_who_may_connect(wire, make, session):
    agent = make.demo_agent("agent1@example.com")
    token = start_session(session, agent)
    session.commit()
    for auth in (None, {}, {"role": "agent", "credential": "not-a-token"}, {"role": "admin", "credential": token}):
        with pytest.raises(socketio.exceptions.ConnectionRefusedError):
            run(wire.on_connect("x", {}, auth))
    run(wire.on_connect("a", {}, {"role": "agent", "credential": token}))
    assert "a" in wire.server.rooms[f"agent-{agent.id}"] and "a" in wire.server.rooms["agents"]
    run(wire.on_connect("c", {}, {"role": "customer", "credential": "any-visitor-key"}))
    assert wire.server.sessions["c"]["role"] == "customer"
    # A help-center page before its first chat (no visitor key yet) hears the settings, nothing else.
    run(wire.on_connect("new", {}, {"role": "customer"}))
    assert "new" in wire.server.rooms["site"] and "c" in wire.server.rooms["site"]
    assert run(wire.on_join("new", {"chat_id": 1})) == {"error": "not_allowed"}
    assert run(wire.on_send("new", {"chat_id": 1, "text": "hi"})) == {"error": "not_allowed"}


def test_messages_reach_the_chat_and_its_agent_once_and_only_the_owners_may_send(wire, make, session):
    agent1, agent2 = make.demo_agent("agent1@example.com"), make.demo_agent("agent2@example.com")
    agent1.status = "online"
    session.add(agent1)
    session.commit()
    chat = make.start()
    assert chat.agent_id == agent1.id
    owner_key = session.get(Customer, chat.customer_id).visitor_key
    token1, token2 = start_session(session, agent1), start_session(session, agent2)
    session.commit()
    srv = wire.server

    async def scenario():
        await wire.on_connect("cust", {}, {"role": "customer", "credential": owner_key})
        await wire.on_connect("cust2", {}, {"role": "customer", "credential": owner_key})  # a second tab
        await wire.on_connect("ag1", {}, {"role": "agent", "credential": token1})
        await wire.on_connect("ag1-home", {}, {"role": "agent", "credential": token1})  # chat list only
        await wire.on_connect("ag2", {}, {"role": "agent", "credential": token2})
        await wire.on_connect("intruder", {}, {"role": "customer", "credential": "someone-else"})
        # The agent's socket joins only once the agent opened the chat (from the chat list).
        assert await wire.on_join("ag1", {"chat_id": chat.id}) == {"error": "not_allowed"}
        chat_service.mark_opened(session, chat, agent1)
        for sid in ("cust", "cust2", "ag1"):
            answer = await wire.on_join(sid, {"chat_id": chat.id, "after": 0})
            assert answer["ok"] and [m["author"] for m in answer["messages"]] == ["system"]  # the greeting
        # Neither another customer nor another agent may join or send.
        assert await wire.on_join("intruder", {"chat_id": chat.id}) == {"error": "not_allowed"}
        assert await wire.on_join("ag2", {"chat_id": chat.id}) == {"error": "not_allowed"}
        assert await wire.on_send("intruder", {"chat_id": chat.id, "client_id": "i1", "text": "끼어들기"}) == {"error": "not_allowed"}
        assert await wire.on_send("ag2", {"chat_id": chat.id, "client_id": "o1", "text": "남의 채팅"}) == {"error": "not_allowed"}
        assert srv.emits == []

        answer = await wire.on_send("cust", {"chat_id": chat.id, "client_id": "c1", "text": "  배송 문의  "})
        assert answer["ok"] and answer["message"]["text"] == "배송 문의" and answer["message"]["author"] == "customer"
        event, data, rooms, skip = srv.emits[-1]
        assert event == "message" and data == answer["message"]
        # The customer's other tab and both of the agent's tabs, once each; not the sender.
        assert srv.receivers(rooms, skip) == {"cust2", "ag1", "ag1-home"}

        # The same client id again (a resend) is stored once and answered with the stored message.
        again = await wire.on_send("cust", {"chat_id": chat.id, "client_id": "c1", "text": "배송 문의"})
        assert again["message"]["seq"] == answer["message"]["seq"]

        reply = await wire.on_send("ag1", {"chat_id": chat.id, "client_id": "g1", "text": "확인하겠습니다"})
        assert reply["message"]["author"] == "agent"
        assert srv.receivers(srv.emits[-1][2], srv.emits[-1][3]) == {"cust", "cust2", "ag1-home"}

        # Bad input: a clear error code, nothing stored, nothing sent.
        sent = len(srv.emits)
        assert await wire.on_send("cust", {"chat_id": chat.id, "client_id": "c2", "text": "   "}) == {"error": "error.message_empty"}
        assert await wire.on_send("cust", {"chat_id": chat.id, "client_id": "c3", "text": "가" * 2001}) == {"error": "error.message_too_long"}
        assert await wire.on_send("cust", {"chat_id": chat.id, "client_id": "c4", "text": None}) == {"error": "error.message_empty"}
        assert await wire.on_send("cust", "not a dict") == {"error": "error.message_empty"}
        assert len(srv.emits) == sent

        # A reconnecting tab asks for what came after the last seq it has.
        caught_up = await wire.on_join("cust2", {"chat_id": chat.id, "after": answer["message"]["seq"]})
        assert [m["text"] for m in caught_up["messages"]] == ["확인하겠습니다"]

    run(scenario())
    assert texts(session, chat.id)[1:] == ["배송 문의", "확인하겠습니다"]


def test_an_ended_chat_takes_no_more_messages(wire, make, session):
    agent1 = make.demo_agent("agent1@example.com")
    agent1.status = "online"
    session.add(agent1)
    session.commit()
    chat = make.start()
    key = session.get(Customer, chat.customer_id).visitor_key

    async def scenario():
        await wire.on_connect("cust", {}, {"role": "customer", "credential": key})
        assert (await wire.on_join("cust", {"chat_id": chat.id}))["ok"]
        chat_service.end_by_customer(session, chat)
        session.commit()
        assert await wire.on_send("cust", {"chat_id": chat.id, "client_id": "late", "text": "늦은 메시지"}) == {"error": "error.chat_ended"}

    run(scenario())
    assert "늦은 메시지" not in texts(session, chat.id)


def test_history_panels_watch_only_the_chats_their_reader_may_see_and_hear_no_text(wire, make, session):
    """채팅 기록's panel watches its chat (``watch``) by the rule of 채팅 기록 (an admin any chat, an
    agent the chats they handled; never a customer's socket or an ended login), one chat per
    socket at a time, and hears ``changed {chat_id}`` only: no message, no text."""
    agent1, agent2 = make.demo_agent("agent1@example.com"), make.demo_agent("agent2@example.com")
    admin = make.demo_agent("admin@example.com")
    agent1.status = "online"
    session.add(agent1)
    session.commit()
    chat, other = make.start(), make.waiting_chat()
    assert chat.agent_id == agent1.id and other.agent_id is None
    key = session.get(Customer, chat.customer_id).visitor_key
    token1, token2, token_admin = (start_session(session, a) for a in (agent1, agent2, admin))
    session.commit()
    srv = wire.server

    async def scenario():
        await wire.on_connect("cust", {}, {"role": "customer", "credential": key})
        await wire.on_connect("ag1", {}, {"role": "agent", "credential": token1})
        await wire.on_connect("ag2", {}, {"role": "agent", "credential": token2})
        await wire.on_connect("adm", {}, {"role": "agent", "credential": token_admin})
        assert await wire.on_watch("cust", {"chat_id": chat.id}) == {"error": "not_allowed"}
        assert await wire.on_watch("ag2", {"chat_id": chat.id}) == {"error": "not_allowed"}  # not theirs
        assert await wire.on_watch("ag1", {"chat_id": other.id}) == {"error": "not_allowed"}
        assert await wire.on_watch("ag1", {"chat_id": 10**9}) == {"error": "not_allowed"}  # no such chat
        assert await wire.on_watch("ag1", {"chat_id": chat.id}) == {"ok": True, "chat_id": chat.id}
        assert await wire.on_watch("adm", {"chat_id": chat.id}) == {"ok": True, "chat_id": chat.id}
        assert srv.rooms[f"history-{chat.id}"] == {"ag1", "adm"}

        # A message of the chat does not go to a socket for watching it (the agent's socket gets
        # it as the socket of the chat's agent: its chat list shows the preview).
        chat_service.mark_opened(session, chat, agent1)
        assert (await wire.on_join("cust", {"chat_id": chat.id}))["ok"]
        sent = await wire.on_send("cust", {"chat_id": chat.id, "client_id": "w1", "text": "제 카드번호는 비밀"})
        assert sent["ok"] and srv.receivers(srv.emits[-1][2], srv.emits[-1][3]) == {"ag1"}

        await wire.transcript_changed([chat.id, chat.id])
        assert srv.emits[-1][:2] == ("changed", {"chat_id": chat.id}) and len(srv.emits) == 2
        assert srv.receivers(srv.emits[-1][2]) == {"ag1", "adm"}

        # Watching another chat leaves the first; 0 (the panel closed) leaves every one.
        assert (await wire.on_watch("adm", {"chat_id": other.id}))["ok"]
        assert srv.rooms[f"history-{chat.id}"] == {"ag1"} and srv.rooms[f"history-{other.id}"] == {"adm"}
        assert await wire.on_watch("adm", {"chat_id": 0}) == {"ok": True, "chat_id": 0}
        assert await wire.on_watch("adm", "not a dict") == {"ok": True, "chat_id": 0}
        assert srv.rooms[f"history-{other.id}"] == set()

        # 채팅 기록's own socket (history: true) hears no previews or settings, only its watch.
        await wire.on_connect("ag1-hist", {}, {"role": "agent", "credential": token1, "history": True})
        assert {room for room, members in srv.rooms.items() if "ag1-hist" in members} == {f"login-{srv.sessions['ag1-hist']['login_id']}"}
        assert (await wire.on_watch("ag1-hist", {"chat_id": chat.id}))["ok"]

        # The chat is handed on to agent2: before the room hears anything, agent1's sockets
        # (watching since it was theirs) leave it, on this worker and wherever it is relayed.
        chat.agent_id = agent2.id
        session.add(chat)
        session.commit()
        assert srv.rooms[f"history-{chat.id}"] == {"ag1", "ag1-hist"}
        # A refused watch lets go of what the socket watched: its panel moved on.
        assert await wire.on_watch("ag1", {"chat_id": chat.id}) == {"error": "not_allowed"}
        assert srv.rooms[f"history-{chat.id}"] == {"ag1-hist"} and srv.sessions["ag1"]["watch_id"] == 0
        await wire.transcript_changed([chat.id])
        assert srv.receivers(srv.emits[-1][2]) == set() and srv.rooms[f"history-{chat.id}"] == set()
        assert await wire.on_watch("ag1-hist", {"chat_id": chat.id}) == {"error": "not_allowed"}

        # A login that ended watches nothing more.
        end_session(session, token1)
        session.commit()
        assert await wire.on_watch("ag1", {"chat_id": chat.id}) == {"error": "not_allowed"}

    run(scenario())


def test_an_agent_socket_missed_by_end_logins_is_let_go_within_30_s(wire, make, session):
    """Previews go to every socket in agent-<id>; a tab whose login ended (logged out in another
    tab, expired, the agent deactivated) must stop getting them. end_logins does it at once (see
    tests/security/test_logins_end_everywhere.py); this check catches any socket it missed."""
    agent1, agent2 = make.demo_agent("agent1@example.com"), make.demo_agent("agent2@example.com")
    stays, logs_out, expires = (start_session(session, agent1) for _ in range(3))
    deactivated = start_session(session, agent2)
    session.commit()

    async def scenario():
        for sid, token in (("stays", stays), ("logs-out", logs_out), ("expires", expires), ("deactivated", deactivated)):
            await wire.on_connect(sid, {}, {"role": "agent", "credential": token})
        await wire.on_connect("cust", {}, {"role": "customer", "credential": "visitor"})
        assert await wire.drop_ended_logins() == []

        end_session(session, logs_out)
        from online_contact.models import AuthSession

        row = session.exec(select(AuthSession).where(AuthSession.token_hash == hash_token(expires))).one()
        row.expires_at = row.expires_at.replace(year=2000)
        agent2.active = False
        session.add_all([row, agent2])
        session.commit()
        assert await wire.drop_ended_logins() == ["deactivated", "expires", "logs-out"]
        assert wire.server.receivers(f"agent-{agent1.id}") == {"stays"}
        assert "cust" in wire.server.sessions and wire.server.disconnected == ["deactivated", "expires", "logs-out"]

    run(scenario())


def test_a_page_that_connected_before_its_first_chat_joins_it_with_its_new_key(wire, make, session):
    """The help center connects the wire as soon as it loads (settings are pushed to it); the
    visitor key is made only when the chat starts, so the join carries it."""
    make.offline_demo_agents()
    make.agent("online")
    srv = wire.server

    async def scenario():
        await wire.on_connect("page", {}, {"role": "customer"})
        chat = make.start()
        key = session.get(Customer, chat.customer_id).visitor_key
        assert await wire.on_join("page", {"chat_id": chat.id}) == {"error": "not_allowed"}
        answer = await wire.on_join("page", {"chat_id": chat.id, "after": 0, "credential": key})
        assert answer["ok"] and "page" in srv.rooms[f"chat-{chat.id}"]
        sent = await wire.on_send("page", {"chat_id": chat.id, "client_id": "k1", "text": "키가 생겼어요"})
        assert sent["ok"]
        # Someone else's key in a join is just a refused join, and the socket keeps its own.
        assert await wire.on_join("page", {"chat_id": chat.id, "credential": "0" * 32}) == {"error": "not_allowed"}
        assert (await wire.on_send("page", {"chat_id": chat.id, "client_id": "k2", "text": "그대로"}))["ok"]

    run(scenario())
