"""A chat stays with whoever may see it (issue 23, Access).

Before: `load_console` took the open chat from the tab's view memory (session storage: a client
sets it to anything in its hydrate), checked only that the chat was assigned to the agent, and
linked the tab to the chat's room without the chat being opened. After a hand-back (휴식,
오프라인, presence) the chat went to another agent, the room was refreshed, but the first
agent's tab stayed linked: it read the other agent's replies and the customer's later messages.
A forged 대화 종료 / 평가 worked on a chat the agent never opened. And every message of a chat went
whole to every socket of its agent, opened or not.

Here, through Reflex's real event pipeline and the message path's namespace (a recording socket
server), until the fan-out tasks have finished: a tab shows a chat only by the rule that opens
one, a chat that leaves an agent leaves every tab and socket of theirs at once, and what goes to
a socket is checked per socket (what the server emitted to its sid).
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import select

from online_contact.models import Agent, Chat
from online_contact.realtime import ChatRoom
from online_contact.realtime import reflex_internals as internals
from online_contact.realtime.publish import publish_status_change, room_token
from online_contact.realtime.wire import WIRE, chat_room
from online_contact.services.agents import StatusChange
from online_contact.services.auth import start_session
from online_contact.services.db import session_scope
from online_contact.states.agent_console import AgentConsoleState
from tests.security.test_logins_end_everywhere import linked, saw, settle
from tests.support import RecordingSocketServer
from tests.unit.pipeline import Client, agent_console, customer_starts_chat, names, run

VIEW = f"{AgentConsoleState.get_full_name()}.view_memory_rx_state_"
FIRST = "처음 문의드립니다"
REPLY = "넘겨받은 상담원이 답변드립니다"
LATER = "제 주소는 서울시 마포구 비밀로 12 입니다"


def agents_online(db_url: str) -> tuple[str, str, int, int]:
    """agent1 and agent2 Online (everyone else Offline): their login tokens and ids."""
    with session_scope(db_url) as s:
        s.exec(update(Agent).values(status="offline"))
        a1 = s.exec(select(Agent).where(Agent.email == "agent1@example.com")).one()
        a2 = s.exec(select(Agent).where(Agent.email == "agent2@example.com")).one()
        a1.status = a2.status = "online"
        s.add_all([a1, a2])
        s.commit()
        return start_session(s, a1), start_session(s, a2), a1.id, a2.id


def set_limit(db_url: str, agent_id: int, limit: int | None) -> None:
    with session_scope(db_url) as s:
        s.exec(update(Agent).where(Agent.id == agent_id).values(max_open_chats=limit))


def stored(db_url: str, chat_id: int) -> Chat:
    with session_scope(db_url) as s:
        chat = s.get(Chat, chat_id)
        s.expunge(chat)
        return chat


async def chat_for(app, db_url, name: str, agent_id: int, other_id: int):
    """A customer's chat assigned to `agent_id` (the other agent full meanwhile), not opened."""
    set_limit(db_url, other_id, 0)
    customer, chat = await customer_starts_chat(app, db_url, name)
    set_limit(db_url, other_id, None)
    assert chat.agent_id == agent_id and chat.agent_opened_at is None
    return customer, chat


def wire_texts(server: RecordingSocketServer, sid: str, since: int = 0) -> list[str]:
    """What the message path emitted to the socket `sid`: messages' texts and previews."""
    return [
        data.get("text", data.get("preview"))
        for event, data, rooms, skip in server.emits[since:]
        if sid in server.receivers(rooms, skip)
    ]


def test_a_forged_view_memory_opens_the_chat_or_shows_nothing(app, db_url, wire_sockets):
    """The review's case: agent1's tab with its view memory set to a chat given to agent1 and
    never opened, then 휴식. Restoring a view is opening the chat (the one rule), so the chat is
    agent1's, opened (통계: their 무응답, not the customer's 대기 중 이탈), and stays with them; it
    never reaches agent1's tab while it belongs to someone else. Any other chat in the memory
    (someone else's, ended, no chat at all) clears it and links nothing."""
    n = names()
    token1, token2, a1, a2 = agents_online(db_url)
    sent: list = []

    async def scenario():
        customer, chat = await chat_for(app, db_url, "고객", a1, a2)
        await agent_console(app, token2)  # agent2 is there to be handed the chat
        tab = await Client(app, "/agent", {n.auth: token1, VIEW: f"1:{chat.id}"}).open()
        await tab.fire(f"{n.agent}.load_console")
        await customer.fire(f"{n.customer}.send", form_data={"text": FIRST, "client_id": "c1"})
        await settle()

        sent.clear()
        await tab.fire(f"{n.agent}.set_status", status="break")
        await settle()
        # The review saw it handed on to agent2 while agent1's tab stayed linked; opened, it stays
        # agent1's (a chat handed on is test_a_chat_handed_on_leaves_every_tab_and_socket_…).
        now = stored(db_url, chat.id)
        assert (now.agent_id, now.agent_opened_at is not None) == (a1, True)
        assert (await tab.state(AgentConsoleState)).active_chat_id == chat.id
        assert tab.token in await linked(app, room_token(chat.id), ChatRoom)

        # Memories of chats this agent may not show: agent2's, one agent1 ended, none at all.
        _c, theirs = await chat_for(app, db_url, "다른 상담원의 고객", a2, a1)
        await tab.fire(f"{n.agent}.end_chat")
        assert stored(db_url, chat.id).agent_ended_at is not None
        for memory in (f"1:{theirs.id}", f"1:{chat.id}", "1:999999", "1:x", "nonsense"):
            forged = await Client(app, "/agent", {n.auth: token1, VIEW: memory}).open()
            await forged.fire(f"{n.agent}.load_console")
            state = await forged.state(AgentConsoleState)
            assert state.active_chat_id == 0 and not state.view_memory.endswith(f":{theirs.id}"), memory
            assert state.info_name == "" and internals.linked_token(state, ChatRoom) is None, memory
        assert stored(db_url, theirs.id).agent_opened_at is None  # nor was anything opened

    run(app, scenario, sent)


def test_a_message_queued_in_a_reloaded_tab_restores_its_view_only_by_the_rule(app, db_url, wire_sockets):
    """`send` restores the view too (a message queued while the server restarted): the remembered
    chat comes back only by the rule that opens a chat; a reply is never stored in a chat its
    agent has not opened, and never in someone else's."""
    n = names()
    token1, _token2, a1, a2 = agents_online(db_url)

    async def scenario():
        _c, mine = await chat_for(app, db_url, "고객", a1, a2)
        _c, theirs = await chat_for(app, db_url, "다른 고객", a2, a1)
        intruder = await Client(app, "/agent", {n.auth: token1, VIEW: f"1:{theirs.id}"}).open()
        await intruder.fire(f"{n.agent}.send", form_data={"text": "남의 채팅", "client_id": "x1"})
        assert stored(db_url, theirs.id).last_seq == 1  # the greeting only
        assert (await intruder.state(AgentConsoleState)).composer_error

        tab = await Client(app, "/agent", {n.auth: token1, VIEW: f"1:{mine.id}"}).open()
        await tab.fire(f"{n.agent}.send", form_data={"text": "답변드립니다", "client_id": "r1"})
        now = stored(db_url, mine.id)
        assert now.first_agent_reply_at is not None and now.agent_opened_at is not None
        assert now.agent_opened_at <= now.first_agent_reply_at

    run(app, scenario)


def test_a_chat_handed_on_leaves_every_tab_and_socket_of_its_former_agent_at_once(app, db_url, wire_sockets):
    """agent1 has the chat open in tab A (its socket joined the chat), its chat list in tab B, and
    unsaved information typed; the chat goes to agent2 (a row update, as a later 이관 would make,
    announced through publish_status_change, which every path that moves a chat calls). At once:
    both tabs are unlinked from the room, A's open chat is cleared (information, view memory)
    with a notice, A's socket leaves the chat's room; agent2's replies and the customer's later
    messages reach neither tab nor any socket of agent1."""
    n = names()
    token1, token2, a1, a2 = agents_online(db_url)
    sent: list = []

    async def scenario():
        customer, chat = await chat_for(app, db_url, "고객", a1, a2)
        a = await agent_console(app, token1)
        await a.fire(f"{n.agent}.select_chat", chat_id=chat.id)
        await a.fire(f"{n.agent}.set_info_memo", value="아직 저장 안 한 메모")
        b = await agent_console(app, token1)
        await WIRE.on_connect("wire-a", {}, {"role": "agent", "credential": token1})
        assert (await WIRE.on_join("wire-a", {"chat_id": chat.id, "after": 0}))["ok"]
        await WIRE.on_connect("wire-b", {}, {"role": "agent", "credential": token1})  # B: the chat list
        await customer.fire(f"{n.customer}.send", form_data={"text": FIRST, "client_id": "c1"})
        await settle()
        assert saw(sent, a, FIRST) and FIRST in wire_texts(wire_sockets, "wire-a")  # the control

        with session_scope(db_url) as s:
            s.exec(update(Chat).where(Chat.id == chat.id).values(agent_id=a2))
        publish_status_change(StatusChange(agent_id=a1, moved=[chat.id]))
        await settle()

        room = await linked(app, room_token(chat.id), ChatRoom)
        assert a.token not in room and b.token not in room
        assert customer.token in room  # the customer stays
        state = await a.state(AgentConsoleState)
        assert (state.active_chat_id, state.info_name, state.info_memo, state.info_dirty) == (0, "", "", False)
        assert state.view_memory.endswith(":0") and internals.linked_token(state, ChatRoom) is None
        assert state.notice == "이 상담은 다른 상담원 또는 대기열로 넘어갔습니다."
        assert "wire-a" not in wire_sockets.rooms[chat_room(chat.id)]
        assert wire_sockets.sessions["wire-a"]["chat_id"] == 0

        sent.clear()
        since = len(wire_sockets.emits)
        other = await agent_console(app, token2)
        await other.fire(f"{n.agent}.select_chat", chat_id=chat.id)
        await other.fire(f"{n.agent}.send", form_data={"text": REPLY, "client_id": "a2"})
        await customer.fire(f"{n.customer}.send", form_data={"text": LATER, "client_id": "c2"})
        await settle()
        assert saw(sent, other, LATER)  # the control: agent2 has it
        for tab in (a, b):
            assert not (saw(sent, tab, REPLY) or saw(sent, tab, LATER) or saw(sent, tab, FIRST)), tab.token
        assert wire_texts(wire_sockets, "wire-a", since) == [] and wire_texts(wire_sockets, "wire-b", since) == []
        assert await WIRE.on_send("wire-a", {"chat_id": chat.id, "client_id": "x", "text": "끼어들기"}) == {"error": "not_allowed"}

    run(app, scenario, sent)


def test_the_chat_list_gets_a_preview_and_only_the_chat_room_the_text(app, db_url, wire_sockets):
    """A message of a chat its agent has not opened, sent through the Reflex handler (the wire's
    fallback, publish_message_from): the agent's socket gets a preview of at most 40 characters,
    never the text; once the agent opened the chat and joined it, that socket gets the message
    once (not also the preview) and the agent's other socket the preview."""
    n = names()
    token1, _token2, a1, a2 = agents_online(db_url)
    long = "배송 문의드립니다. 주문번호는 A-1234이고 받는 분 주소는 서울시 마포구 비밀로 12, 연락처는 따로 드릴게요."
    assert len(long) > 40

    async def scenario():
        customer, chat = await chat_for(app, db_url, "고객", a1, a2)
        await WIRE.on_connect("home", {}, {"role": "agent", "credential": token1})
        await customer.fire(f"{n.customer}.send", form_data={"text": long, "client_id": "c1"})
        await settle()
        assert wire_texts(wire_sockets, "home") == [long[:40]]
        assert all(long not in repr(data) for event, data, rooms, skip in wire_sockets.emits if "home" in wire_sockets.receivers(rooms, skip))

        tab = await agent_console(app, token1)
        await tab.fire(f"{n.agent}.select_chat", chat_id=chat.id)
        await WIRE.on_connect("open", {}, {"role": "agent", "credential": token1})
        assert (await WIRE.on_join("open", {"chat_id": chat.id, "after": 0}))["ok"]
        since = len(wire_sockets.emits)
        await customer.fire(f"{n.customer}.send", form_data={"text": long + " 2", "client_id": "c2"})
        await settle()
        assert wire_texts(wire_sockets, "open", since) == [long + " 2"]
        assert wire_texts(wire_sockets, "home", since) == [long[:40]]

    run(app, scenario)
