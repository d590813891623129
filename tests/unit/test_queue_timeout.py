"""대기 시간 제한 (설정 › 상담원 할당 설정): a chat queued longer than the setting leaves the queue,
its customer is offered the 1:1 문의, and the queue behind it moves up (issue 23)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from online_contact.models import Agent, Chat
from online_contact.models._base import utcnow
from online_contact.models.chat import CHAT_ENDED, CHAT_WAITING
from online_contact.services import chats as chat_service
from online_contact.services import history, routing
from online_contact.services import settings as settings_service
from online_contact.services.auth import start_session
from online_contact.services.db import session_scope
from online_contact.services.errors import ServiceError
from online_contact.states.settings_assignment import AssignmentSettingsState

from .pipeline import Client, customer_starts_chat, names, run


def _code(fn, *args, **kwargs) -> str:
    with pytest.raises(ServiceError) as exc:
        fn(*args, **kwargs)
    return exc.value.code


@pytest.fixture
def queue(make, session):
    """Three chats waiting (nobody Online takes them) since 12, 11 and 9 minutes ago."""
    make.offline_demo_agents()
    now = utcnow()
    return [make.waiting_chat(created_at=now - timedelta(minutes=m)) for m in (12, 11, 9)]


def test_a_chat_queued_longer_than_the_setting_leaves_the_queue_and_the_rest_move_up(session, make, queue):
    first, second, third = queue
    assert settings_service.get_settings(session).queue_timeout_minutes == 10  # the default
    assert [routing.queue_position(session, make.reload(Chat, c.id)) for c in queue] == [1, 2, 3]
    now = utcnow()
    # A minute and a half ago only the first had waited longer than 10 minutes; now the second
    # has too, and the third (9 minutes) not yet.
    assert chat_service.end_overdue_waiting(session, now=now - timedelta(minutes=1, seconds=30)) == [first.id]
    assert chat_service.end_overdue_waiting(session, now=now) == [second.id]
    assert chat_service.end_overdue_waiting(session, now=now) == []  # once
    ended = make.reload(Chat, first.id)
    assert ended.status == CHAT_ENDED and ended.agent_id is None and ended.queue_timeout_at is not None
    assert ended.customer_ended_at == ended.queue_timeout_at  # the customer's chance of an answer ended then
    still = make.reload(Chat, third.id)
    assert still.status == CHAT_WAITING and routing.queue_position(session, still) == 1
    assert routing.waiting_chat_ids(session) == [third.id]
    # 통계 and 채팅 기록: 미처리, of the kind 대기 중 이탈 (the existing definitions).
    for chat_id in (first.id, second.id):
        assert history.state_of(make.reload(Chat, chat_id)) == chat_service.UNPROCESSED
        assert history.abandoned_kind(make.reload(Chat, chat_id)) == history.LEFT_WAITING
    left = session.exec(select(func.count()).select_from(Chat).where(history.IS_STATE[history.LEFT_WAITING])).one()
    assert left == 2
    # The customer can no longer write to it (a reload shows it for a while: the test below).
    with pytest.raises(ServiceError):
        from online_contact.services import messages as message_service

        message_service.post_message(session, make.reload(Chat, first.id), "customer", "아직 있어요")
    session.rollback()


def test_a_reload_still_shows_why_for_a_while_and_a_new_chat_starts_afresh(session, make):
    """After 대기 시간 제한 the customer's reload shows that chat again (its line and 1:1 문의) for
    30 minutes, as a chat the agent ended is; 상담 시작 then starts a new chat, never this one."""
    make.offline_demo_agents()
    make.agent("busy")  # someone Online, so that 상담 시작 is offered
    customer = make.customer()
    chat = make.waiting_chat(customer, created_at=utcnow() - timedelta(minutes=11))
    make.settings()  # (the default 10 minutes)
    assert chat_service.end_overdue_waiting(session) == [chat.id]
    customer = make.reload(type(customer), customer.id)
    assert chat_service.open_chat_of_customer(session, customer).id == chat.id
    begun = chat_service.begin_chat(session, customer.visitor_key, agreed=True, name="다시")
    assert not begun.resumed and begun.chat_id != chat.id
    # 30 minutes later only a chat still going on is resumed (here: the new one).
    stale = make.reload(Chat, chat.id)
    stale.queue_timeout_at = stale.customer_ended_at = utcnow() - timedelta(minutes=31)
    session.add(stale)
    session.commit()
    assert chat_service.open_chat_of_customer(session, customer).id == begun.chat_id


def test_zero_means_never_and_an_assigned_chat_is_never_taken_back(session, make, queue, admin):
    first, second, _third = queue
    settings_service.save_assignment(session, admin.id, True, "balanced", "", queue_timeout_minutes="0")
    assert chat_service.end_overdue_waiting(session, now=utcnow() + timedelta(days=30)) == []
    settings_service.save_assignment(session, admin.id, True, "balanced", "", queue_timeout_minutes="5")
    # An agent comes Online and the queue drains to them (limit 1): the first is assigned.
    agent = make.agent("online", max_open_chats=1)
    assert [a.chat_id for a in routing.drain_queue(session, settings_service.get_settings(session))] == [first.id]
    assert chat_service.end_overdue_waiting(session) == [second.id, _third.id]
    assert make.reload(Chat, first.id).agent_id == agent.id and make.reload(Chat, first.id).queue_timeout_at is None


@pytest.fixture
def admin(make) -> Agent:
    return make.demo_agent("admin@example.com")


def test_the_setting_takes_whole_minutes_from_0_to_a_day_and_changes_nothing_otherwise(session, admin):
    for bad in ("", " ", "-1", "abc", "1441", "1.5", "２", "99999999", "10분"):
        assert _code(settings_service.save_assignment, session, admin.id, True, "balanced", "", "",
                     queue_timeout_minutes=bad) == "error.queue_timeout_invalid"
    assert settings_service.get_settings(session).queue_timeout_minutes == 10
    settings_service.save_assignment(session, admin.id, True, "balanced", "", queue_timeout_minutes=" 30 ")
    assert settings_service.get_settings(session).queue_timeout_minutes == 30
    settings_service.save_assignment(session, admin.id, True, "balanced", "")  # not given: kept
    assert settings_service.get_settings(session).queue_timeout_minutes == 30


def test_the_admin_screen_saves_the_limit_and_shows_a_wrong_one_beside_it(app, db_url):
    A = AssignmentSettingsState.get_full_name()
    with session_scope(db_url) as s:
        token = start_session(s, s.exec(select(Agent).where(Agent.email == "admin@example.com")).one())

    async def scenario():
        tab = await Client(app, "/settings/assignment", {names().auth: token}).open()
        await tab.fire(f"{A}.load_assignment")
        assert (await tab.state(AssignmentSettingsState)).form["queue_timeout"] == "10"
        await tab.fire(f"{A}.edit", field="queue_timeout", value="열분")
        await tab.fire(f"{A}.save")
        state = await tab.state(AssignmentSettingsState)
        assert "0부터 1440" in state.errors["queue_timeout"] and state.notice == ""
        await tab.fire(f"{A}.edit", field="queue_timeout", value="3")
        await tab.fire(f"{A}.save")
        assert (await tab.state(AssignmentSettingsState)).errors == {}
        with session_scope(db_url) as s:
            assert settings_service.get_settings(s).queue_timeout_minutes == 3

    run(app, scenario)


def test_the_customers_window_shows_the_chat_left_the_queue(app, db_url, monkeypatch):
    """The pass (realtime/presence.py, one worker at a time) ends the chat and refreshes its room:
    the customer's window knows why (components/customer_chat.py shows the line and 문의하기)."""
    from sqlalchemy import update

    import reflex as rx

    from online_contact.realtime import ChatRoom
    from online_contact.realtime import presence
    from online_contact.realtime.publish import room_token

    with session_scope(db_url) as s:  # nobody Online with a free slot: the chat waits
        s.exec(update(Agent).values(status="offline"))
        s.exec(update(Agent).where(Agent.email == "agent1@example.com").values(status="online", max_open_chats=0))

    async def shared_room(chat_id: int) -> ChatRoom:
        root = await app.state_manager.get_state(rx.BaseStateToken(ident=room_token(chat_id), cls=ChatRoom))
        return await root.get_state(ChatRoom)

    async def scenario():
        tab, chat = await customer_starts_chat(app, db_url, "기다리는 고객")
        _other_tab, other = await customer_starts_chat(app, db_url, "다음 고객")
        room = await shared_room(other.id)
        assert room.status == CHAT_WAITING and room.queue_position == 2
        assert await presence.end_overdue_waiting() == []  # not 10 minutes yet
        with session_scope(db_url) as s:
            s.get(Chat, chat.id).created_at = utcnow() - timedelta(minutes=11)
        assert await presence.end_overdue_waiting() == [chat.id]
        import asyncio

        for _ in range(100):  # the rooms are refreshed by tasks the pass started
            room, behind = await shared_room(chat.id), await shared_room(other.id)
            if room.queue_timed_out and behind.queue_position == 1:
                break
            await asyncio.sleep(0.02)
        assert room.queue_timed_out and room.customer_ended and room.status == CHAT_ENDED
        assert behind.queue_position == 1 and not behind.queue_timed_out

    run(app, scenario)
