"""The room refresh: incremental, never skipping or doubling a message."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from online_contact.config import MESSAGE_WINDOW
from online_contact.realtime.publish import (
    RECENT_MAX,
    desk_add_message,
    refresh_desk_now,
    refresh_room_now,
    room_add_message,
)
from online_contact.services import chats as chat_service
from online_contact.services import messages as message_service


def shown_messages(room) -> list[dict]:
    """What a screen shows of a room, in order (components.common.message_log)."""
    return [*room.messages, *room.recent]


def _room():
    return SimpleNamespace(
        chat_id=0, status="", agent_name="", messages=[], recent=[], last_seq=0, customer_ended=False, queue_timed_out=False,
        agent_ended=False, rating_request_seq=0, queue_position=0, _agent_id=-1, _rating_requested=None,
    )


@pytest.fixture
def make(make):
    """An Online agent, so started chats are assigned."""
    make.offline_demo_agents()
    make.agent("assigned")
    return make


def _post(session, chat, n, start=1):
    for i in range(start, start + n):
        message_service.post_message(session, chat, "customer", f"m{i}")


def test_first_refresh_loads_the_window_and_later_ones_append(session, make):
    chat = make.start(name="홍길동")
    room = _room()
    _post(session, chat, 3)
    refresh_room_now(room, session, chat.id)
    assert [m["text"] for m in shown_messages(room)][-3:] == ["m1", "m2", "m3"]
    assert room.last_seq == shown_messages(room)[-1]["seq"]
    _post(session, chat, 2, start=4)
    refresh_room_now(room, session, chat.id)
    refresh_room_now(room, session, chat.id)  # nothing new: nothing doubled
    texts = [m["text"] for m in shown_messages(room)]
    assert texts[-5:] == ["m1", "m2", "m3", "m4", "m5"]
    assert len(texts) == len(set(m["seq"] for m in shown_messages(room)))
    assert room.agent_name  # the assigned agent's name


def test_a_room_far_behind_reloads_instead_of_skipping(session, make):
    chat = make.start(name="김철수")
    room = _room()
    refresh_room_now(room, session, chat.id)
    _post(session, chat, MESSAGE_WINDOW + 19)
    refresh_room_now(room, session, chat.id)
    assert shown_messages(room)[-1]["text"] == f"m{MESSAGE_WINDOW + 19}"
    assert len(shown_messages(room)) == MESSAGE_WINDOW
    seqs = [m["seq"] for m in shown_messages(room)]
    assert seqs == list(range(seqs[0], seqs[0] + MESSAGE_WINDOW))


def test_the_window_stays_bounded_and_in_order(session, make):
    chat = make.start(name="이영희")
    room = _room()
    for i in range(1, 3 * MESSAGE_WINDOW):
        message_service.post_message(session, chat, "customer", f"m{i}")
        refresh_room_now(room, session, chat.id)
        seqs = [m["seq"] for m in shown_messages(room)]
        assert seqs == list(range(seqs[0], room.last_seq + 1))
        assert len(room.messages) <= MESSAGE_WINDOW and len(room.recent) <= RECENT_MAX


def test_desk_lists_open_chats_with_the_last_message(session, make):
    chat = make.start(name="박지성")
    _post(session, chat, 1)
    desk = SimpleNamespace(agent_id=0, status="", chats=[])
    refresh_desk_now(desk, session, chat.agent_id)
    assert desk.chats == [
        {
            "id": chat.id, "name": "박지성", "opened": False, "customer_ended": False,
            "seq": message_service.messages_after(session, chat.id, 0)[-1].seq, "awaiting_reply": True, "preview": "m1",
        }
    ]


# ---- updates from a message just stored, without reading the database -----------------------


def _message(seq, author="customer", text="hi"):
    return {"seq": seq, "author": author, "text": text, "time": "10:00", "client_msg_id": f"c{seq}"}


def test_room_add_message_appends_the_next_message(session, make):
    chat = make.start(name="최민수")
    room = _room()
    refresh_room_now(room, session, chat.id)
    last = room.last_seq
    assert room_add_message(room, chat.id, _message(last + 1, text="다음"))
    assert room.last_seq == last + 1 and shown_messages(room)[-1]["text"] == "다음"
    # Already shown (a refresh read it first): nothing doubled.
    assert room_add_message(room, chat.id, _message(last + 1, text="다음"))
    assert [m["seq"] for m in shown_messages(room)].count(last + 1) == 1


def test_room_add_message_refuses_a_gap_or_another_chat(session, make):
    chat = make.start(name="정수빈")
    room = _room()
    refresh_room_now(room, session, chat.id)
    before = list(shown_messages(room))
    assert not room_add_message(room, chat.id, _message(room.last_seq + 2))
    assert not room_add_message(room, chat.id + 1000, _message(room.last_seq + 1))
    assert shown_messages(room) == before


def test_room_add_message_keeps_the_window_bounded(session, make):
    chat = make.start(name="한지민")
    room = _room()
    refresh_room_now(room, session, chat.id)
    for _ in range(MESSAGE_WINDOW + 5):
        assert room_add_message(room, chat.id, _message(room.last_seq + 1))
        seqs = [m["seq"] for m in shown_messages(room)]
        assert seqs == list(range(seqs[0], room.last_seq + 1))
        assert len(room.messages) <= MESSAGE_WINDOW and len(room.recent) <= RECENT_MAX


def test_room_add_message_sends_only_the_short_tail_between_folds(session, make):
    """Most appends change only `recent`; `messages` (the whole window) changes once per fold."""
    chat = make.start(name="김태희")
    room = _room()
    refresh_room_now(room, session, chat.id)
    window_changes = 0
    for _ in range(3 * RECENT_MAX):
        before = room.messages
        assert room_add_message(room, chat.id, _message(room.last_seq + 1))
        window_changes += room.messages is not before
    assert window_changes <= 3


def test_desk_add_message_updates_preview_and_ignores_older_messages(session, make):
    chat = make.start(name="유재석")
    desk = SimpleNamespace(agent_id=0, status="", chats=[])
    refresh_desk_now(desk, session, chat.agent_id)
    seq = desk.chats[0]["seq"]
    assert desk_add_message(desk, chat.id, _message(seq + 2, "agent", "답변드립니다"))
    assert desk.chats[0]["preview"] == "답변드립니다" and desk.chats[0]["awaiting_reply"] is False
    # A customer message stored earlier but arriving later must not win.
    assert desk_add_message(desk, chat.id, _message(seq + 1, "customer", "먼저 보낸 질문"))
    assert desk.chats[0]["preview"] == "답변드립니다"
    assert desk_add_message(desk, chat.id, _message(seq + 3, "customer", "x" * 100))
    assert desk.chats[0]["awaiting_reply"] is True and desk.chats[0]["preview"] == "x" * 40
    assert not desk_add_message(desk, chat.id + 1000, _message(1))


def test_the_keep_alive_pass_refreshes_open_rooms_one_at_a_time(make, session, db_url, monkeypatch):
    """Every open or waiting chat's room is refreshed (so Redis keeps it), never two at once:
    all of them spawned together stalled every conversation for seconds at 500 open chats."""
    import asyncio

    from online_contact.models import Agent
    from online_contact.realtime import presence
    from tests.support import run_async

    monkeypatch.setenv("DATABASE_URL", db_url)
    open_chats = [make.start() for _ in range(3)]
    ended = make.start()
    chat_service.mark_opened(session, ended, session.get(Agent, ended.agent_id))
    chat_service.end_by_agent(session, ended, session.get(Agent, ended.agent_id))
    refreshed, running, most = [], 0, 0

    async def fake_refresh(token, cls, fill):
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        refreshed.append(token)
        running -= 1

    monkeypatch.setattr(presence, "refresh_shared", fake_refresh)
    monkeypatch.setattr(presence, "KEEPALIVE_GAP", 0)
    assert run_async(presence.keep_rooms_alive()) == 3
    assert sorted(refreshed) == sorted(f"room-{c.room_key}" for c in open_chats) and most == 1


def test_the_presence_pass_lets_the_sockets_in_between_agents(make, db_url, monkeypatch):
    """Nothing in a desk refresh waits with the in-memory state manager, so without a pause
    between agents a pass over 500 Online agents blocked the worker for 0.6 s."""
    import asyncio

    from online_contact.realtime import presence
    from tests.support import run_async

    monkeypatch.setenv("DATABASE_URL", db_url)
    agents = [make.agent(f"online{i}") for i in range(3)]
    seen, ticks = [], 0

    async def connected_tabs(agent_id):  # answers without waiting, as a desk refresh can
        seen.append((agent_id, ticks))
        return 1

    async def scenario():
        async def other_sockets():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        other = asyncio.create_task(other_sockets())
        await asyncio.sleep(0)
        await presence.check_presence({}, 180)
        other.cancel()

    monkeypatch.setattr(presence, "_connected_tabs", connected_tabs)
    run_async(scenario())
    assert {a.id for a in agents} <= {agent_id for agent_id, _ in seen}
    at = [tick for _, tick in seen]
    assert all(later > earlier for earlier, later in zip(at, at[1:]))
