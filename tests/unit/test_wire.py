"""The message path's server side (realtime/wire.py): who may connect, join and send, what is
stored, and who gets what. The namespace runs against a recording stand-in for the socket.io
server (rooms, sessions, emits), on a real database. Between workers: tests/integration/test_wire_relay.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
import socketio
from sqlalchemy import update
from sqlmodel import select

from online_contact.models import Chat, Customer, Message
from online_contact.models._base import utcnow
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
        (event, data, rooms, skip), (p_event, p_data, p_rooms, p_skip) = srv.emits[-2:]
        assert event == "message" and data == answer["message"]
        # The customer's other tab and the agent's tab showing the chat get the message; the
        # agent's other tab (its chat list) only the preview; each socket one packet, not the sender.
        assert srv.receivers(rooms, skip) == {"cust2", "ag1"}
        assert p_event == "preview" and srv.receivers(p_rooms, p_skip) == {"ag1-home"}
        assert p_data == {"chat_id": chat.id, "seq": data["seq"], "author": "customer", "preview": "배송 문의"}

        # The same client id again (a resend) is stored once and answered with the stored message.
        again = await wire.on_send("cust", {"chat_id": chat.id, "client_id": "c1", "text": "배송 문의"})
        assert again["message"]["seq"] == answer["message"]["seq"]

        reply = await wire.on_send("ag1", {"chat_id": chat.id, "client_id": "g1", "text": "확인하겠습니다"})
        assert reply["message"]["author"] == "agent"
        assert srv.receivers(srv.emits[-2][2], srv.emits[-2][3]) == {"cust", "cust2"}
        assert srv.emits[-1][0] == "preview" and srv.receivers(srv.emits[-1][2], srv.emits[-1][3]) == {"ag1-home"}

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
        # its preview as the socket of the chat's agent: its chat list shows it).
        chat_service.mark_opened(session, chat, agent1)
        assert (await wire.on_join("cust", {"chat_id": chat.id}))["ok"]
        sent = await wire.on_send("cust", {"chat_id": chat.id, "client_id": "w1", "text": "제 카드번호는 비밀"})
        assert sent["ok"] and srv.receivers(srv.emits[-2][2], srv.emits[-2][3]) == set()
        assert srv.emits[-1][0] == "preview" and srv.receivers(srv.emits[-1][2], srv.emits[-1][3]) == {"ag1"}

        await wire.transcript_changed([chat.id, chat.id])
        assert srv.emits[-1][:2] == ("changed", {"chat_id": chat.id}) and len(srv.emits) == 3
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


# ---- one visitor cannot starve a worker (issue 23) ----------------------------------------------
def _long_chat(make, session, count: int, size: int = 2000):
    """A chat of `count` long customer messages (2,000 characters of Hangul: 6,000 bytes each) and
    the customer's visitor key; the greeting is seq 1."""
    from online_contact.services import messages as message_service

    make.offline_demo_agents()
    make.agent("online")
    chat = make.start()
    for i in range(count):
        message_service.post_message(session, chat, "customer", f"{i:04d}" + "가" * (size - 4), f"long-{i}")
    return chat, session.get(Customer, chat.customer_id).visitor_key


def test_a_join_answers_a_page_within_the_byte_bound_and_paging_returns_every_message_once(wire, make, session):
    """500 long messages were one 6 MB answer, read on the event loop: now a join answers at most
    PAGE_BYTES of text (at least one message) with ``more``, and the page joins again after the
    last seq it got until caught up; messages stored meanwhile come too, nothing twice."""
    PAGE_BYTES, PAGE_OVERHEAD = 64 * 1024, 100  # services.messages: the bound, and what a message counts besides its text

    chat, key = _long_chat(make, session, 60)
    stored = [(m.seq, m.text) for m in session.exec(select(Message).where(Message.chat_id == chat.id).order_by(Message.seq))]

    async def scenario():
        await wire.on_connect("cust", {}, {"role": "customer", "credential": key})
        got, after, answers = [], 0, 0
        while True:
            answer = await wire.on_join("cust", {"chat_id": chat.id, "after": after})
            assert answer["ok"] and answer["messages"]
            assert sum(len(m["text"].encode()) + PAGE_OVERHEAD for m in answer["messages"]) <= PAGE_BYTES
            got += [(m["seq"], m["text"]) for m in answer["messages"]]
            after, answers = answer["messages"][-1]["seq"], answers + 1
            if answers == 2:  # a message stored while the page catches up is in a later page
                assert (await wire.on_send("cust", {"chat_id": chat.id, "client_id": "late", "text": "새 메시지"}))["ok"]
            if not answer["more"]:
                break
        return got, answers

    got, answers = run(scenario())
    assert answers >= 6  # 61 + 1 messages of ~6 KB in pages of 64 KB
    session.expire_all()
    assert got == [(m.seq, m.text) for m in session.exec(select(Message).where(Message.chat_id == chat.id).order_by(Message.seq))]
    assert got[: len(stored)] == stored and got[-1][1] == "새 메시지"


def test_older_pages_come_over_the_wire_to_the_chats_own_sockets_only(wire, make, session):
    """이전 메시지 보기 asks ``older`` for a page before what the tab shows (newest first), or for a
    gap after what it has (oldest first): pages within the bound that together are the
    transcript, each message once; only a socket that joined the chat (and may still) gets them."""
    chat, key = _long_chat(make, session, 40)
    session.refresh(chat)
    last = chat.last_seq
    assert last == 41  # the greeting and the 40

    async def scenario():
        await wire.on_connect("cust", {}, {"role": "customer", "credential": key})
        await wire.on_connect("intruder", {}, {"role": "customer", "credential": "someone-else"})
        assert await wire.on_older("cust", {"chat_id": chat.id, "before": last}) == {"error": "not_allowed"}  # not joined
        assert (await wire.on_join("cust", {"chat_id": chat.id, "after": last - 1}))["ok"]
        assert await wire.on_older("intruder", {"chat_id": chat.id, "before": last}) == {"error": "not_allowed"}
        seqs, before = [], last
        while True:
            answer = await wire.on_older("cust", {"chat_id": chat.id, "before": before})
            assert answer["ok"] and answer["messages"] and len(answer["messages"]) < 40
            seqs = [m["seq"] for m in answer["messages"]] + seqs
            before = answer["messages"][0]["seq"]
            if not answer["more"]:
                break
        assert seqs == list(range(1, last))
        # A gap between what the tab has (up to seq 5) and its window (from seq 30): oldest first.
        gap = await wire.on_older("cust", {"chat_id": chat.id, "before": 30, "after": 5})
        assert gap["messages"][0]["seq"] == 6 and gap["more"] and all(m["seq"] < 30 for m in gap["messages"])

    run(scenario())


def test_join_older_and_watch_over_the_per_socket_rate_answer_too_fast(wire, make, session):
    """A socket may join, ask for older pages and watch JOIN_BURST times at once, then JOIN_RATE a
    second; over that it is told how long to wait (no database is asked), and another socket is
    not slowed by it."""
    from online_contact.realtime.wire import JOIN_BURST, JOIN_RATE, Buckets

    chat, key = _long_chat(make, session, 3, size=10)
    agent = make.demo_agent("admin@example.com")
    token = start_session(session, agent)
    session.commit()
    clock = [1000.0]
    wire.buckets = Buckets(clock=lambda: clock[0])

    async def scenario():
        await wire.on_connect("cust", {}, {"role": "customer", "credential": key})
        await wire.on_connect("other", {}, {"role": "customer", "credential": key})
        await wire.on_connect("adm", {}, {"role": "agent", "credential": token})
        for _ in range(JOIN_BURST - 1):
            assert (await wire.on_join("cust", {"chat_id": chat.id}))["ok"]
        assert (await wire.on_older("cust", {"chat_id": chat.id, "before": 3}))["ok"]
        refused = await wire.on_join("cust", {"chat_id": chat.id})
        assert refused["error"] == "error.too_fast" and 0 < refused["retry_ms"] <= 1000 / JOIN_RATE + 1
        assert (await wire.on_older("cust", {"chat_id": chat.id, "before": 3}))["error"] == "error.too_fast"
        assert (await wire.on_join("other", {"chat_id": chat.id}))["ok"]  # its own allowance
        clock[0] += refused["retry_ms"] / 1000
        assert (await wire.on_join("cust", {"chat_id": chat.id}))["ok"]
        for _ in range(JOIN_BURST):
            assert (await wire.on_watch("adm", {"chat_id": chat.id}))["ok"]
        assert (await wire.on_watch("adm", {"chat_id": chat.id}))["error"] == "error.too_fast"
        await wire.on_disconnect("cust")
        assert "cust" not in wire.buckets.tokens

    run(scenario())


def test_messages_are_limited_per_visitor_and_per_ip_across_chats(wire, make, session, monkeypatch):
    """OC_LIMIT_MESSAGES_PER_SECOND holds per chat; one visitor with two chats, or one address
    with several visitors, is limited over all of them (refused: too_fast, nothing stored, and
    nothing used up, so the page's resend a second later goes through in the next window)."""
    import random
    import time as real_time
    from types import SimpleNamespace

    from online_contact.services import limits

    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_VISITOR", "3/10")
    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_IP", "5/10")
    # The limits' clock stands still within a window (tests/conftest.py steady_clock), then moves on.
    clock = [real_time.time() // 10 * 10 + 1]
    monkeypatch.setattr(limits, "time", SimpleNamespace(time=lambda: clock[0], monotonic=real_time.monotonic))
    office, elsewhere = (f"203.0.113.{random.randrange(1, 255)}", f"198.51.100.{random.randrange(1, 255)}")
    make.offline_demo_agents()
    make.agent("online")
    customer = make.customer()
    first, second = make.start(customer), make.start(customer)
    neighbour = make.start()
    neighbour_key = session.get(Customer, neighbour.customer_id).visitor_key
    far_away = make.start()
    far_key = session.get(Customer, far_away.customer_id).visitor_key

    def environ(ip):
        return {"asgi.scope": {"client": (ip, 5555)}}

    async def scenario():
        await wire.on_connect("a", environ(office), {"role": "customer", "credential": customer.visitor_key})
        await wire.on_connect("b", environ(office), {"role": "customer", "credential": customer.visitor_key})
        await wire.on_connect("n", environ(office), {"role": "customer", "credential": neighbour_key})
        await wire.on_connect("far", environ(elsewhere), {"role": "customer", "credential": far_key})
        for sid, chat in (("a", first), ("b", second), ("n", neighbour), ("far", far_away)):
            assert (await wire.on_join(sid, {"chat_id": chat.id}))["ok"]

        async def send(sid, chat, client_id):
            return await wire.on_send(sid, {"chat_id": chat.id, "client_id": client_id, "text": client_id})

        assert (await send("a", first, "a1"))["ok"] and (await send("b", second, "b1"))["ok"]
        assert (await send("a", first, "a2"))["ok"]
        # The visitor's third message was their last in the window, whichever chat it goes to.
        assert await send("b", second, "b2") == {"error": "error.too_fast"}
        assert await send("a", first, "a3") == {"error": "error.too_fast"}
        # Another visitor from the same address has the rest of the address's allowance.
        assert (await send("n", neighbour, "n1"))["ok"] and (await send("n", neighbour, "n2"))["ok"]
        assert await send("n", neighbour, "n3") == {"error": "error.too_fast"}
        assert (await send("far", far_away, "f1"))["ok"]  # another address is not affected
        # The next window: the resend goes through.
        clock[0] += 10
        assert (await send("b", second, "b2"))["ok"]

    run(scenario())
    assert texts(session, first.id)[1:] == ["a1", "a2"] and texts(session, second.id)[1:] == ["b1", "b2"]
    assert texts(session, neighbour.id)[1:] == ["n1", "n2"]


def test_only_a_stored_message_uses_up_the_visitors_and_the_addresss_allowance(wire, make, session, monkeypatch):
    """Sends that store nothing — at a chat that is not the visitor's, a resend of a message
    stored already, one refused by its own chat (ended, or too fast within it) — give back what
    they were counted: a page's retries, or a script's sends at other people's chats, must not
    use up the allowance of the visitor or of everyone behind the same address."""
    import time as real_time
    from types import SimpleNamespace

    from online_contact.services import limits

    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_VISITOR", "3/10")
    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_IP", "3/10")
    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_SECOND", "5")  # the chat's own limit, on (see chat_full)
    clock = [real_time.time() // 10 * 10 + 1]
    monkeypatch.setattr(limits, "time", SimpleNamespace(time=lambda: clock[0], monotonic=real_time.monotonic))
    make.offline_demo_agents()
    make.agent("online")
    customer = make.customer()
    own, other = make.start(customer), make.start()
    ended = make.start(customer)
    chat_service.end_by_customer(session, session.get(Chat, ended.id))
    office = {"asgi.scope": {"client": ("203.0.113.9", 5555)}}

    def chat_full(full: bool) -> None:
        """The chat's own per-second limit (OC_LIMIT_MESSAGES_PER_SECOND, counted in its row)."""
        burst = {"burst_started_at": utcnow() + timedelta(hours=1), "burst_count": 99} if full else {"burst_started_at": None}
        session.exec(update(Chat).where(Chat.id == own.id).values(**burst))
        session.commit()

    async def scenario():
        await wire.on_connect("a", office, {"role": "customer", "credential": customer.visitor_key})
        assert (await wire.on_join("a", {"chat_id": own.id}))["ok"]

        async def send(chat, client_id):
            return await wire.on_send("a", {"chat_id": chat.id, "client_id": client_id, "text": client_id})

        assert (await send(own, "one"))["ok"]
        for _ in range(5):  # none of these stores anything
            assert await send(other, "x") == {"error": "not_allowed"}
            assert (await send(own, "one"))["ok"]  # the resend: the message stored already
            assert (await send(ended, "late"))["error"] == "error.chat_ended"
            chat_full(True)
            assert await send(own, "two") == {"error": "error.too_fast"}  # the chat's own limit
            chat_full(False)
        assert (await send(own, "two"))["ok"]
        assert (await send(own, "three"))["ok"]  # the third stored message: the allowance's last
        assert await send(own, "four") == {"error": "error.too_fast"}

    run(scenario())
    assert texts(session, own.id)[1:] == ["one", "two", "three"]


def test_the_wire_knows_the_address_behind_trusted_proxies_only(monkeypatch):
    from online_contact.realtime.wire import client_ip

    environ = {"asgi.scope": {"client": ("10.0.0.2", 1)}, "HTTP_X_FORWARDED_FOR": "198.51.100.1, 203.0.113.5"}
    monkeypatch.setenv("OC_TRUSTED_PROXY_HOPS", "0")
    assert client_ip(environ) == "10.0.0.2"  # the header is anyone's to write
    monkeypatch.setenv("OC_TRUSTED_PROXY_HOPS", "1")
    assert client_ip(environ) == "203.0.113.5"
    monkeypatch.setenv("OC_TRUSTED_PROXY_HOPS", "3")
    assert client_ip(environ) == "10.0.0.2"


# ---- a join racing a move (issue 23, the review) -------------------------------------------------
class _MoveDuring(Server):
    """A recording server that runs `hook` once, the first time a socket's session is saved with
    a chat: the moment on_join awaits between its access check and entering the chat's room."""

    hook = None

    async def save_session(self, sid, session, namespace=None):
        await super().save_session(sid, session, namespace)
        if self.hook is not None and session.get("chat_id"):
            hook, self.hook = self.hook, None
            await hook()


def _opened_chat_of_agent1(make, session):
    """A chat assigned to agent1 and opened by them, agent2 (to hand it to), their login tokens."""
    agent1, agent2 = make.demo_agent("agent1@example.com"), make.demo_agent("agent2@example.com")
    agent1.status = "online"
    session.add(agent1)
    session.commit()
    chat = make.start()
    assert chat.agent_id == agent1.id
    chat_service.mark_opened(session, chat, agent1)
    token1 = start_session(session, agent1)
    session.commit()
    return chat, agent2, token1


def _hand_to(session, chat, agent2) -> None:
    """The chat goes to agent2 (a row update, as a hand-back or 이관 makes) and agent2 replies."""
    from online_contact.services import messages as message_service

    session.exec(update(Chat).where(Chat.id == chat.id).values(agent_id=agent2.id))
    session.commit()
    session.refresh(chat)
    message_service.post_message(session, chat, "agent", "넘겨받은 상담원의 답변", "moved-1", agent2.id)


def test_a_join_racing_a_move_leaves_the_socket_out_of_the_room(db_url, monkeypatch, make, session):
    """on_join checks access, then awaits (the session saved, the room entered): a chat_moved
    landing there found the socket not yet in the room, so it entered the room of a chat that is
    no longer its agent's and heard the new agent's replies. Now the join checks again once in the
    room: it answers not_allowed, the socket is out of the room and its session has no chat."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    wire = WireNamespace()
    srv = _MoveDuring()
    wire._set_server(srv)
    chat, agent2, token1 = _opened_chat_of_agent1(make, session)

    async def scenario():
        await wire.on_connect("ag1", {}, {"role": "agent", "credential": token1})

        async def move():
            _hand_to(session, chat, agent2)
            await wire.chat_moved(chat.id)  # the MOVED event, handled on this worker

        srv.hook = move
        # The new agent replies live while the join is still going on (at its later awaits):
        # who heard it is taken at once (the recorder's rooms change afterwards).
        watch, heard = wire.watch, []

        async def reply_then_watch(room):
            since = len(srv.emits)
            await wire.deliver({"chat_id": chat.id, "seq": 99, "author": "agent", "text": "이후 답변"}, agent2.id)
            heard.extend(sid for e, _d, rooms, skip in srv.emits[since:] if e == "message" for sid in srv.receivers(rooms, skip))
            await watch(room)

        monkeypatch.setattr(wire, "watch", reply_then_watch)
        answer = await wire.on_join("ag1", {"chat_id": chat.id, "after": 0})
        assert srv.hook is None  # the move did land inside the join
        assert answer == {"error": "not_allowed"}
        assert "ag1" not in srv.rooms.get(f"chat-{chat.id}", set())
        assert srv.sessions["ag1"]["chat_id"] == 0
        assert "ag1" not in heard
        await wire.deliver({"chat_id": chat.id, "seq": 100, "author": "agent", "text": "그 다음 답변"}, agent2.id)
        assert not [d for e, d, rooms, skip in srv.emits if e == "message" and "ag1" in srv.receivers(rooms, skip)]

    run(scenario())


def test_a_join_whose_chat_moved_during_its_read_answers_nothing_of_it(wire, monkeypatch, make, session):
    """The chat moves while the join reads its catch-up (another worker: the MOVED event has not
    arrived yet): the page read may hold the new agent's replies, so the join checks again after
    reading and answers not_allowed, out of the room, instead of the page."""
    chat, agent2, token1 = _opened_chat_of_agent1(make, session)
    read = WireNamespace._page_now

    def moved_then_read(*args):
        _hand_to(session, chat, agent2)
        return read(*args)

    monkeypatch.setattr(wire, "_page_now", moved_then_read)

    async def scenario():
        await wire.on_connect("ag1", {}, {"role": "agent", "credential": token1})
        answer = await wire.on_join("ag1", {"chat_id": chat.id, "after": 0})
        assert answer == {"error": "not_allowed"}
        assert "ag1" not in wire.server.rooms.get(f"chat-{chat.id}", set())
        assert wire.server.sessions["ag1"]["chat_id"] == 0

    run(scenario())


def test_an_older_page_whose_chat_moved_during_its_read_answers_nothing_of_it(wire, monkeypatch, make, session):
    """이전 메시지 보기 the same way: ``before`` is the client's to choose (the newest page), so a
    move committed while the page is read answers not_allowed, not the new agent's replies."""
    chat, agent2, token1 = _opened_chat_of_agent1(make, session)
    read = WireNamespace._page_now

    def moved_then_read(*args):
        _hand_to(session, chat, agent2)
        return read(*args)

    async def scenario():
        await wire.on_connect("ag1", {}, {"role": "agent", "credential": token1})
        assert (await wire.on_join("ag1", {"chat_id": chat.id, "after": 0}))["ok"]
        monkeypatch.setattr(wire, "_page_now", moved_then_read)
        assert await wire.on_older("ag1", {"chat_id": chat.id, "before": 10**6}) == {"error": "not_allowed"}
        assert "ag1" not in wire.server.rooms[f"chat-{chat.id}"] and wire.server.sessions["ag1"]["chat_id"] == 0

    run(scenario())
