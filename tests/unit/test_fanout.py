"""The fan-out of rooms and desks through Reflex's real event pipeline: what reaches the other
tabs of a chat, and that nothing is sent when nothing shared changed."""

from __future__ import annotations

import uuid

import reflex as rx

from online_contact.realtime import AgentDesk, ChatRoom
from online_contact.realtime.publish import room_token

from .pipeline import Client, agent_console, customer_starts_chat, names, only_agent1_online, run


def _deltas_to(sent: list, client: Client) -> list[dict]:
    return [update.delta for sid, update in sent if sid == client.sid and getattr(update, "delta", None)]


def _texts(deltas: list[dict], field: str) -> list[str]:
    room = ChatRoom.get_full_name()
    return [m["text"] for d in deltas for m in d.get(room, {}).get(f"{field}_rx_state_", [])]


def test_a_message_reaches_the_other_side_and_unshared_changes_reach_nobody(app, db_url):
    n, token = names(), only_agent1_online(db_url)
    customer_evt, agent_evt = n.customer, n.agent
    sent: list = []

    async def scenario():
        customer, chat = await customer_starts_chat(app, db_url, "팬아웃")
        agent_tab = await agent_console(app, token)
        await agent_tab.fire(f"{agent_evt}.select_chat", chat_id=chat.id)

        sent.clear()
        await customer.fire(f"{customer_evt}.send", form_data={"text": "배송이 늦어요", "client_id": "c1"})
        to_agent = _deltas_to(sent, agent_tab)
        assert "배송이 늦어요" in _texts(to_agent, "recent")
        # Only the shared states travel, not the agent tab's own state or router data.
        shared_names = {ChatRoom.get_full_name(), AgentDesk.get_full_name()}
        assert to_agent and all(set(d) <= shared_names for d in to_agent)
        desk_lines = [c for d in to_agent for c in d.get(AgentDesk.get_full_name(), {}).get("chats_rx_state_", [])]
        assert any(c["preview"] == "배송이 늦어요" and c["awaiting_reply"] for c in desk_lines)

        sent.clear()
        await agent_tab.fire(f"{agent_evt}.set_info_memo", value="VIP 고객")  # nothing shared changes
        assert _deltas_to(sent, customer) == []

        sent.clear()
        await agent_tab.fire(f"{agent_evt}.send", form_data={"text": "확인해 보겠습니다", "client_id": "a1"})
        to_customer = _deltas_to(sent, customer)
        assert "확인해 보겠습니다" in _texts(to_customer, "recent")
        # The agent's desk (its other tabs) is never sent to the customer.
        assert all(AgentDesk.get_full_name() not in d for d in to_customer)

        # The room both tabs are linked to holds the whole conversation, in order.
        root = await app.state_manager.get_state(rx.BaseStateToken(ident=room_token(chat.id), cls=ChatRoom))
        room = await root.get_state(ChatRoom)
        assert [m["text"] for m in [*room.messages, *room.recent]][-2:] == ["배송이 늦어요", "확인해 보겠습니다"]

    run(app, scenario, sent)


def test_a_tab_that_left_gets_nothing_and_the_others_still_do(app, db_url):
    """A second customer tab on the same chat, then the first one's socket goes away."""
    n, token = names(), only_agent1_online(db_url)
    customer_evt, agent_evt = n.customer, n.agent
    sent: list = []
    visitor = uuid.uuid4().hex

    async def scenario():
        first, chat = await customer_starts_chat(app, db_url, "두탭", visitor=visitor)
        second = await Client(app, "/", {n.visitor: visitor}).open()  # same browser, another tab: resumes
        await second.fire(f"{customer_evt}.load_help_center")
        agent_tab = await agent_console(app, token)
        await agent_tab.fire(f"{agent_evt}.select_chat", chat_id=chat.id)

        sent.clear()
        await agent_tab.fire(f"{agent_evt}.send", form_data={"text": "두 탭 모두에게", "client_id": "a1"})
        assert "두 탭 모두에게" in _texts(_deltas_to(sent, first), "recent")
        assert "두 탭 모두에게" in _texts(_deltas_to(sent, second), "recent")

        await app.event_namespace._token_manager.disconnect_token(first.token, first.sid)
        sent.clear()
        await agent_tab.fire(f"{agent_evt}.send", form_data={"text": "남은 탭에만", "client_id": "a2"})
        assert _deltas_to(sent, first) == []
        assert "남은 탭에만" in _texts(_deltas_to(sent, second), "recent")

    run(app, scenario, sent)


def test_a_refresh_without_changes_sends_nothing_but_keeps_the_room_alive(app, db_url):
    """Presence refreshes open rooms so that Reflex's idle expiry does not drop them: with
    Redis only a written state gets a new expiry, so the refresh must write even when nothing
    changed, and still send nothing to the tabs."""
    from online_contact.realtime.publish import refresh_room_now, refresh_shared, room_token

    only_agent1_online(db_url)
    sent: list = []

    async def scenario():
        customer, chat = await customer_starts_chat(app, db_url, "유휴")
        root = await app.state_manager.get_state(rx.BaseStateToken(ident=room_token(chat.id), cls=ChatRoom))
        room = await root.get_state(ChatRoom)
        room._was_touched = False
        sent.clear()
        await refresh_shared(room_token(chat.id), ChatRoom, lambda r, s: refresh_room_now(r, s, chat.id))
        assert room._was_touched and room._refreshed_at > 0
        assert _deltas_to(sent, customer) == []

    run(app, scenario, sent)


def test_an_unchanged_desk_refresh_sends_nothing(app, db_url):
    """Presence refreshes every Online agent's desk every 30 s: unchanged, nothing goes out."""
    from online_contact.realtime.publish import desk_token, refresh_desk_now, refresh_shared

    token = only_agent1_online(db_url)
    sent: list = []

    async def scenario():
        _, chat = await customer_starts_chat(app, db_url, "목록")
        agent_tab = await agent_console(app, token)
        root = await app.state_manager.get_state(rx.BaseStateToken(ident=desk_token(chat.agent_id), cls=AgentDesk))
        desk = await root.get_state(AgentDesk)
        assert [c["id"] for c in desk.chats] == [chat.id]
        sent.clear()
        await refresh_shared(desk_token(chat.agent_id), AgentDesk, lambda d, s: refresh_desk_now(d, s, chat.agent_id))
        assert _deltas_to(sent, agent_tab) == []

    run(app, scenario, sent)


def test_the_chat_icon_blinks_for_an_unopened_chat_until_its_customer_leaves(app, db_url):
    """The icon says a chat is waiting to be opened; one its customer left (still on the list,
    for its agent to end) waits for nothing."""
    from online_contact.realtime.publish import desk_token

    token = only_agent1_online(db_url)
    n = names()

    async def scenario():
        customer, chat = await customer_starts_chat(app, db_url, "떠난 손님")
        await agent_console(app, token)

        async def desk():
            root = await app.state_manager.get_state(rx.BaseStateToken(ident=desk_token(chat.agent_id), cls=AgentDesk))
            return await root.get_state(AgentDesk)

        assert (await desk()).has_unopened
        await customer.fire(f"{n.customer}.end_chat")
        await _settled()
        assert [c["customer_ended"] for c in (await desk()).chats] == [True]
        assert not (await desk()).has_unopened

    run(app, scenario)


async def _settled() -> None:
    """Every fan-out task started so far has finished (the signal, instead of a sleep)."""
    import asyncio

    from online_contact.realtime import reflex_internals as internals

    while pending := [t for t in internals._TASKS if not t.done()]:
        await asyncio.gather(*pending, return_exceptions=True)
