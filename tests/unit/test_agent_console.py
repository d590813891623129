"""The agent's chat screen through Reflex's event pipeline."""

from __future__ import annotations

from online_contact.config import MESSAGE_WINDOW
from online_contact.models import Chat
from online_contact.services import messages as message_service
from online_contact.services.db import session_scope

from .pipeline import agent_console, customer_starts_chat, names, only_agent1_online, run


def test_tabs_that_read_the_whole_transcript_keep_no_copy_of_it_on_the_server(app, db_url, monkeypatch):
    """이전 메시지 보기 copied up to 2,000 messages into each tab's own state: a visitor key opens any
    number of tabs, and 10 of them took a worker from 183 to 275 MB, kept after they left. The
    older pages now come over the message path and stay in the page (ChatRoom.older, written by
    assets/chat_wire.jsx): three tabs of one visitor and the agent's tab read the whole transcript,
    and no tab's state on the server holds any of it; the chat's room holds its window once."""
    import reflex as rx

    from online_contact.models import Customer
    from online_contact.realtime import ChatRoom
    from online_contact.realtime.publish import room_token
    from online_contact.realtime.wire import Buckets, WireNamespace
    from online_contact.states.agent_console import AgentConsoleState
    from online_contact.states.customer_chat import CustomerChatState
    from tests.support import RecordingSocketServer

    from .pipeline import Client

    n, token = names(), only_agent1_online(db_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    wire = WireNamespace()
    wire._set_server(RecordingSocketServer())
    wire.buckets = Buckets(burst=1000)  # the per-socket rate has its own test (test_wire.py)

    def tree_bytes(root) -> bytes:
        """Every state of a tab as the state manager keeps it (pickled, as Redis would)."""
        out, todo = b"", [root]
        while todo:
            state = todo.pop()
            out += state._serialize()
            todo.extend(state.substates.values())
        return out

    async def read_everything(sid: str, credential: dict, chat_id: int) -> list[int]:
        """What the page does: join the chat, then 이전 메시지 보기 until nothing is left."""
        await wire.on_connect(sid, {}, credential)
        joined = await wire.on_join(sid, {"chat_id": chat_id, "after": MESSAGE_WINDOW + 100})
        seqs, before = [m["seq"] for m in joined["messages"]], MESSAGE_WINDOW + 101
        while True:
            page = await wire.on_older(sid, {"chat_id": chat_id, "before": before})
            seqs = [m["seq"] for m in page["messages"]] + seqs
            before = page["messages"][0]["seq"]
            if not page["more"]:
                return seqs

    async def scenario():
        first, chat = await customer_starts_chat(app, db_url, "긴대화")
        with session_scope(db_url) as s:
            for i in range(MESSAGE_WINDOW + 100):
                message_service.post_message(s, s.get(Chat, chat.id), "customer", f"지난 이야기 {i:04d} " + "가" * 1500)
            visitor = s.get(Customer, chat.customer_id).visitor_key
        tabs = [first] + [await Client(app, "/", {n.visitor: visitor}).open() for _ in range(2)]
        for tab in tabs[1:]:
            await tab.fire(f"{n.customer}.load_help_center")
        agent_tab = await agent_console(app, token)
        await agent_tab.fire(f"{n.agent}.select_chat", chat_id=chat.id)
        last = MESSAGE_WINDOW + 101  # the greeting and the messages
        for i, tab in enumerate(tabs):
            assert (await tab.state(CustomerChatState)).phase == "chat"
            assert await read_everything(f"customer-{i}", {"role": "customer", "credential": visitor}, chat.id) == list(range(1, last + 1))
        assert await read_everything("agent", {"role": "agent", "credential": token}, chat.id) == list(range(1, last + 1))

        oldest = "지난 이야기 0000".encode()
        for tab, cls in [(t, CustomerChatState) for t in tabs] + [(agent_tab, AgentConsoleState)]:
            root = await app.state_manager.get_state(rx.BaseStateToken(ident=tab.token, cls=cls))
            held = tree_bytes(root)
            assert oldest not in held and len(held) < 100_000  # 150 messages of 4.5 KB: 680 KB
        shared = await app.state_manager.get_state(rx.BaseStateToken(ident=room_token(chat.id), cls=ChatRoom))
        room = await shared.get_state(ChatRoom)
        assert len(room.messages) + len(room.recent) == MESSAGE_WINDOW and oldest not in room._serialize()

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
